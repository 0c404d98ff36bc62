"""Which loop frame each stream frame shows: forwards, then backwards, never a jump."""

from __future__ import annotations

import numpy as np

from models.synthetic.loop import loop_position


def test_loop_plays_forwards_then_backwards() -> None:
    assert [loop_position(i, 4) for i in range(10)] == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    positions = np.array([loop_position(i, 300) for i in range(2000)])
    assert positions.min() == 0 and positions.max() == 299
    assert np.all(np.abs(np.diff(positions)) == 1)  # one step at a time: no seam
    assert loop_position(5, 1) == 0
