"""A tqdm progress bar as an export progress callback (the CLI's bar; the GUI uses a dialog)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tqdm import tqdm

from app.export.base import ProgressCallback


@contextlib.contextmanager
def tqdm_progress(description: str, disable: bool | None = None) -> Iterator[ProgressCallback]:
    """Yield a ``progress(done, total)`` callback that drives a tqdm bar on stderr.

    ``disable=None`` hides the bar when stderr is not a terminal (tqdm's convention).
    """
    bar = tqdm(desc=description, unit="frame", disable=disable, leave=False)
    try:
        def update(done: int, total: int | None) -> None:
            if total is not None and bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        yield update
    finally:
        bar.close()
