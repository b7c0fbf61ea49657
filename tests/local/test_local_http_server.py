"""The local mode's HTTP servers (API gateway, web page) on their ports."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler

import pytest

from local.http_server import BackgroundServer


def test_a_port_in_use_is_named_in_the_error() -> None:
    # Given a port another program listens on
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        # When the gateway is to listen there / Then the error says which server and port, and how to move it
        with pytest.raises(OSError, match=rf"gateway: 127\.0\.0\.1:{port} is in use.*another port"):
            BackgroundServer("127.0.0.1", port, BaseHTTPRequestHandler, "gateway")
