"""Run an ASGI app under real uvicorn in a daemon thread on a free 127.0.0.1 port: the suite's one copy."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serve_in_thread(app: Any, *, start_timeout: float = 120.0, log_level: str = "warning",
                    access_log: bool = False, lifespan: str = "on", **config: Any) -> Iterator[str]:
    """Yield the app's base URL once uvicorn has started (the lifespan may ingest with the real model)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level,
                                           access_log=access_log, lifespan=lifespan, **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    try:
        _wait_started(server, thread, start_timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout: float) -> None:
    """Block until the server accepts connections; a clear error when it died or hangs."""
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn exited before it started (see the log above)")
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start within {timeout:.0f} s")
        time.sleep(0.02)
