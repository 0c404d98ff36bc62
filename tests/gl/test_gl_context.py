"""The shared GL context: created once, failures reported as one RenderError line."""

from __future__ import annotations

import threading
import time

import moderngl
import pytest

from models.errors import RenderError
from models.render import gl_context

pytestmark = pytest.mark.gl


def test_context_is_shared_and_current_in_a_block() -> None:
    ctx = gl_context.get_context()
    assert ctx is gl_context.get_context()
    assert ctx.version_code >= gl_context.REQUIRED_GL_VERSION
    with gl_context.using_context() as current:
        assert current is ctx
        buffer = current.buffer(b"\x00" * 16)
        buffer.release()


def test_context_is_created_once_under_concurrent_first_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    created = []

    def slow_create() -> object:
        time.sleep(0.05)
        created.append(object())
        return created[-1]

    monkeypatch.setattr(gl_context, "_context", None)
    monkeypatch.setattr(gl_context, "_create", slow_create)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(gl_context.get_context())) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(created) == 1
    assert len(seen) == 6 and all(s is created[0] for s in seen)


def test_missing_egl_is_one_clear_render_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_egl(**kwargs: object) -> moderngl.Context:
        raise Exception("libEGL.so: cannot open shared object file")  # what glcontext raises

    monkeypatch.setattr(gl_context, "_context", None)
    monkeypatch.setattr(gl_context.moderngl, "create_standalone_context", no_egl)
    with pytest.raises(RenderError) as info:
        gl_context.get_context()
    message = str(info.value)
    assert "\n" not in message
    assert "libegl1" in message and "libgl1-mesa-dri" in message and "libEGL.so" in message
