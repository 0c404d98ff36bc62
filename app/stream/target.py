"""``--stream TARGET``: parsing ``livelink[:HOST[:PORT]]`` / ``vmc[:HOST[:PORT]]`` and
resolving the host once, at start (docs/CONTRACT.md).

An IPv6 address goes in brackets: ``vmc:[::1]:39539``. An empty HOST or PORT takes the
default (``livelink::9000`` is 127.0.0.1:9000).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from app.stream.errors import StreamError

DEFAULT_HOST = "127.0.0.1"
LIVELINK = "livelink"
VMC = "vmc"
DEFAULT_PORTS: dict[str, int] = {LIVELINK: 11111, VMC: 39539}
KINDS: tuple[str, ...] = tuple(DEFAULT_PORTS)


@dataclass(frozen=True)
class StreamTarget:
    """One receiver: ``kind`` (``livelink`` or ``vmc``), ``host`` as given, ``port`` (1-65535),
    and the resolved socket ``family`` and ``address`` (what ``sendto`` takes)."""

    kind: str
    host: str
    port: int
    family: int
    address: tuple

    @property
    def spec(self) -> str:
        """The canonical ``kind:host:port`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.kind}:{host}:{self.port}"


def _split_host_port(rest: str, spec: str) -> tuple[str, str]:
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0 or (len(rest) > end + 1 and rest[end + 1] != ":"):
            raise StreamError(f"--stream {spec!r}: an IPv6 host goes in brackets, as in vmc:[::1]:39539")
        return rest[1:end], rest[end + 2:]
    host, _, port = rest.partition(":")
    if ":" in port:
        raise StreamError(f"--stream {spec!r}: expected KIND[:HOST[:PORT]] (an IPv6 host goes in brackets)")
    return host, port


def parse_port(text: str, spec: str, default: int) -> int:
    """The port of ``text`` (``default`` when empty); :class:`StreamError` unless 1-65535."""
    if not text:
        return default
    try:
        port = int(text)
    except ValueError:
        raise StreamError(f"--stream {spec!r}: port {text!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise StreamError(f"--stream {spec!r}: port {port} is out of range (1-65535)")
    return port


def resolve(host: str, port: int, spec: str) -> tuple[int, tuple]:
    """(family, sockaddr) of ``host:port`` for UDP; :class:`StreamError` when it cannot be resolved."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StreamError(f"--stream {spec!r}: cannot resolve host {host!r} ({reason})") from None
    if not infos:
        raise StreamError(f"--stream {spec!r}: cannot resolve host {host!r}")
    # Prefer IPv4 when the name has both (receivers usually listen on 0.0.0.0).
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _type, _proto, _name, address = infos[0]
    return family, address


def parse_target(spec: str) -> StreamTarget:
    """``livelink[:HOST[:PORT]]`` or ``vmc[:HOST[:PORT]]`` -> a resolved :class:`StreamTarget`.

    Raises :class:`StreamError` (one line) for an unknown kind, a port that is not a number
    in 1-65535, or a host that cannot be resolved.
    """
    text = spec.strip()
    kind, _, rest = text.partition(":")
    kind = kind.lower()
    if kind not in DEFAULT_PORTS:
        raise StreamError(f"--stream {spec!r}: unknown stream kind {kind!r} (expected one of: {', '.join(KINDS)})")
    host, port_text = _split_host_port(rest, spec)
    host = host or DEFAULT_HOST
    port = parse_port(port_text, spec, DEFAULT_PORTS[kind])
    family, address = resolve(host, port, spec)
    return StreamTarget(kind=kind, host=host, port=port, family=family, address=address)


def parse_targets(specs: list[str] | tuple[str, ...]) -> list[StreamTarget]:
    """Every spec parsed (the first bad one raises); a target named twice is kept once."""
    targets: list[StreamTarget] = []
    for spec in specs:
        target = parse_target(spec)
        if all((t.kind, t.address) != (target.kind, target.address) for t in targets):
            targets.append(target)
    return targets
