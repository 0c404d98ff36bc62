"""File names of a take: ``NAME.r3d`` (raw input), ``NAME.results`` (results log) and
``NAME.summary.json`` (written at close). While recording the archive is ``NAME.r3d.partial``."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_SUFFIXES = (".r3d.partial", ".summary.json", ".results", ".r3d")


@dataclass(frozen=True)
class TakePaths:
    """The files of the take ``base`` (a path without suffix: ``DIR/NAME``)."""

    base: Path

    @classmethod
    def of(cls, path: str | os.PathLike) -> TakePaths:
        """From ``NAME``, ``NAME.r3d``, ``NAME.r3d.partial``, ``NAME.results`` or ``NAME.summary.json``."""
        text = os.fspath(path)
        for suffix in _SUFFIXES:
            if text.lower().endswith(suffix):
                return cls(Path(text[: -len(suffix)]))
        return cls(Path(text))

    @classmethod
    def new_in(cls, folder: str | os.PathLike, prefix: str = "take") -> TakePaths:
        """A take name not used yet in ``folder``: ``take-YYYYMMDD-HHMMSS`` (``-2``, ... if taken)."""
        folder = Path(folder)
        stem = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
        candidate, n = cls(folder / stem), 1
        while candidate.any_exists():
            n += 1
            candidate = cls(folder / f"{stem}-{n}")
        return candidate

    @property
    def name(self) -> str:
        return self.base.name

    @property
    def r3d(self) -> Path:
        return self.base.with_name(self.base.name + ".r3d")

    @property
    def r3d_partial(self) -> Path:
        return self.base.with_name(self.base.name + ".r3d.partial")

    @property
    def results(self) -> Path:
        return self.base.with_name(self.base.name + ".results")

    @property
    def summary(self) -> Path:
        return self.base.with_name(self.base.name + ".summary.json")

    def all(self) -> tuple[Path, ...]:
        return self.r3d, self.r3d_partial, self.results, self.summary

    def any_exists(self) -> bool:
        return any(p.exists() for p in self.all())

    def archive(self) -> Path | None:
        """The raw-input archive: the finished ``.r3d``, else the ``.r3d.partial`` of a cut-short take."""
        for candidate in (self.r3d, self.r3d_partial):
            if candidate.exists():
                return candidate
        return None
