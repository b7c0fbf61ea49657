"""moto as a real HTTP endpoint on loopback, with S3's presigned POST checks in front (local/s3_post_policy.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local.s3_post_policy import enforce_post_policies


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """The endpoint URL; credentials are the test session's fake ones (tests/conftest.py)."""
    secrets = {os.environ["AWS_ACCESS_KEY_ID"]: os.environ["AWS_SECRET_ACCESS_KEY"]}
    app = enforce_post_policies(DomainDispatcherApplication(create_backend_app), secrets)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def reset(endpoint: str) -> None:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
