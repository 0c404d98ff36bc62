"""The one place that creates the process's headless OpenGL context.

The context is a standalone moderngl context on EGL (Mesa's llvmpipe on machines without a
GPU, the vendor's driver where one is present), created lazily on first use and shared by
every renderer in the process.

An OpenGL context is current on at most one thread at a time, so code that issues GL calls
holds :data:`GL_LOCK` and makes the context current with ``with context:`` (see
:func:`using_context`); the renderers in this package do both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import moderngl

from models.errors import RenderError

__all__ = ["GL_LOCK", "REQUIRED_GL_VERSION", "get_context", "using_context"]

log = logging.getLogger(__name__)

# OpenGL 3.3 core: multiple render targets, gl_PrimitiveID, flat/perspective varyings.
REQUIRED_GL_VERSION = 330

# Serialises every GL call in the process (re-entrant, so helpers can nest).
GL_LOCK = threading.RLock()

_context: moderngl.Context | None = None


def get_context() -> moderngl.Context:
    """The shared standalone EGL context, created on the first call (thread-safe).

    Raises:
        RenderError: one line, when no EGL context with OpenGL 3.3 can be created.
    """
    global _context
    if _context is not None:
        return _context
    with GL_LOCK:
        if _context is None:
            _context = _create()
    return _context


def _create() -> moderngl.Context:
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=REQUIRED_GL_VERSION)
    except Exception as exc:  # moderngl and glcontext raise plain Exception subclasses
        raise RenderError(
            f"could not create a headless OpenGL {REQUIRED_GL_VERSION // 100}.{REQUIRED_GL_VERSION % 100 // 10}"
            f" context through EGL ({exc}); install the EGL and Mesa drivers "
            "(Debian/Ubuntu: apt-get install libegl1 libgl1-mesa-dri) or a GPU driver with EGL"
        ) from exc
    info = ctx.info
    log.info(
        "OpenGL context: %s, %s (%s)",
        info.get("GL_RENDERER", "?"), info.get("GL_VERSION", "?"), info.get("GL_VENDOR", "?"),
    )
    return ctx


@contextmanager
def using_context() -> Iterator[moderngl.Context]:
    """Hold :data:`GL_LOCK` and make the shared context current on this thread for the block."""
    ctx = get_context()
    with GL_LOCK, ctx:
        yield ctx
