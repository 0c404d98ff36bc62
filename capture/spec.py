"""Reading the parts of a ``--source`` string that several source kinds share."""

from __future__ import annotations

from capture.base import CaptureError

__all__ = ["parse_device_number", "parse_options"]


def parse_device_number(spec: str, name: str, what: str) -> int | None:
    """``name`` -> 0, ``name:N`` -> N, another source -> None; ``name:x`` -> CaptureError.

    ``what`` says what N counts, for the error message (``camera number``).
    """
    head, sep, rest = spec.partition(":")
    if head != name:
        return None
    if not sep:
        return 0
    if not rest.strip().isdigit():
        raise CaptureError(f"malformed source {spec!r}; expected {name} or {name}:N (N = {what})")
    return int(rest)


def parse_options(text: str, spec: str) -> dict[str, str]:
    """``"seed=3,fps=60"`` -> ``{"seed": "3", "fps": "60"}``; malformed -> CaptureError."""
    options: dict[str, str] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CaptureError(f"malformed source option {item!r} in {spec!r}; expected key=value")
        options[key.strip()] = value.strip()
    return options
