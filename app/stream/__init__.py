"""Live streaming of each processed frame over UDP (docs/CONTRACT.md ``--stream``).

- :mod:`~app.stream.target`: ``livelink[:HOST[:PORT]]`` / ``vmc[:HOST[:PORT]]`` parsing;
- :mod:`~app.stream.livelink`: the Live Link Face packet (Unreal's Live Link, ARKit source);
- :mod:`~app.stream.vmc`: the VMC protocol's OSC bundle (VSeeFace, Warudo, Blender);
- :mod:`~app.stream.sender`: the thread that sends without slowing the pipeline.

>>> sender = open_streams(["livelink", "vmc:192.168.1.20"], face_model.arkit_matrix, fps=30)
>>> session.result_sinks.append(sender.sink)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.stream.errors import StreamError
from app.stream.livelink import LiveLinkEncoder, check_subject
from app.stream.sender import DEFAULT_SUBJECT, StreamSender, TargetStats
from app.stream.target import DEFAULT_PORTS, KINDS, StreamTarget, parse_target, parse_targets
from app.stream.vmc import VmcEncoder


def open_streams(specs: Sequence[str], arkit_matrix: np.ndarray, *, subject: str = DEFAULT_SUBJECT,
                 fps: float = 30.0) -> StreamSender:
    """A running :class:`StreamSender` for the ``--stream`` specs (StreamError on bad input)."""
    check_subject(subject)
    return StreamSender(parse_targets(specs), arkit_matrix, subject=subject, fps=fps)


def check_streams(specs: Sequence[str], subject: str = DEFAULT_SUBJECT) -> list[StreamTarget]:
    """Validate ``--stream`` specs and the subject before any work (StreamError on bad input)."""
    check_subject(subject)
    return parse_targets(specs)


__all__ = [
    "DEFAULT_PORTS", "DEFAULT_SUBJECT", "KINDS", "LiveLinkEncoder", "StreamError", "StreamSender",
    "StreamTarget", "TargetStats", "VmcEncoder", "check_streams", "check_subject", "open_streams",
    "parse_target", "parse_targets",
]
