"""One delivery attempt over a real loopback socket: total time limit, no redirects, a capped response read."""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from image_pipeline.webhooks.adapters.transport import SafeTransport
from image_pipeline.webhooks.domain.targets import TargetPolicy

LOOPBACK = TargetPolicy.of(allow_http=True, allowed_networks="127.0.0.0/8")


@contextmanager
def _raw_server(answer: Callable[[socket.socket], None]) -> Iterator[tuple[int, list[bytes]]]:
    """A loopback TCP server that reads one request and lets ``answer`` write whatever it likes."""
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                requests.append(data)
                with contextlib.suppress(OSError):  # the client hung up, as it should when it gives up
                    answer(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], requests
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _drip(connection: socket.socket) -> None:
    """A valid 200 answer whose header bytes trickle in, each well within a per-read timeout."""
    connection.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(20):
        connection.sendall(b"x-slow: 1\r\n")
        time.sleep(0.15)
    connection.sendall(b"content-length: 0\r\n\r\n")


def test_an_answer_that_trickles_in_past_the_time_limit_is_a_timeout() -> None:
    # Given an endpoint that starts answering at once but takes about 3 s to finish its headers
    with _raw_server(_drip) as (port, _):
        # When the transport allows one second in total
        answer = SafeTransport(LOOPBACK, timeout_seconds=1).post(f"http://127.0.0.1:{port}/in", b"{}", {})
    # Then the attempt is a timeout (to be retried), not a delivery: each read came in time, the whole did not
    assert answer.status is None
    assert "timed out" in (answer.error or "")


def test_a_redirect_is_not_followed() -> None:
    # Given an endpoint that redirects, and the place it points to
    with _raw_server(lambda c: c.sendall(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")) as (
        target_port,
        target_requests,
    ):
        location = f"http://127.0.0.1:{target_port}/elsewhere"
        redirect = f"HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n".encode()
        with _raw_server(lambda c: c.sendall(redirect)) as (port, requests):
            # When a delivery is posted to the redirecting endpoint
            answer = SafeTransport(LOOPBACK, timeout_seconds=5).post(f"http://127.0.0.1:{port}/in", b"{}", {})
        # Then the 307 is the answer (retried later like any 3xx), and the redirect's target saw nothing
        assert answer.status == 307
        assert len(requests) == 1
        assert target_requests == []


def test_only_the_first_bytes_of_a_large_answer_are_read() -> None:
    # Given an endpoint that answers 200 with a megabyte of body
    body = b"a" * (1024 * 1024)
    head = f"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}\r\n\r\n".encode()
    with _raw_server(lambda c: c.sendall(head + body)) as (port, _):
        # When the transport keeps at most 100 bytes of an answer
        answer = SafeTransport(LOOPBACK, timeout_seconds=5, body_cap_bytes=100).post(
            f"http://127.0.0.1:{port}/in", b"{}", {}
        )
    # Then the delivery counts, with a 100-byte excerpt
    assert answer.status == 200
    assert answer.body_excerpt == "a" * 100


def test_a_url_with_non_ascii_characters_is_sent_percent_encoded() -> None:
    # Given an endpoint whose registered URL has non-ASCII characters in its path and query
    ok = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
    with _raw_server(lambda c: c.sendall(ok)) as (port, requests):
        # When a delivery is posted to it
        answer = SafeTransport(LOOPBACK, timeout_seconds=5).post(f"http://127.0.0.1:{port}/café?für=ü", b"{}", {})
    # Then the request line carries the UTF-8 percent-encoding (an HTTP request line is ASCII)
    assert answer.status == 204
    assert requests[0].startswith(b"POST /caf%C3%A9?f%C3%BCr=%C3%BC HTTP/1.1\r\n")


def test_an_unreachable_address_family_falls_back_to_the_next_address(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a host with an IPv6 and an IPv4 address, on a network without an IPv6 route (as in Lambda)
    real_connect = socket.create_connection

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if ":" in address[0]:
            raise OSError(errno.ENETUNREACH, "Network is unreachable")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    policy = TargetPolicy.of(allow_http=True, allowed_networks="127.0.0.0/8,::1/128")
    ok = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
    with _raw_server(lambda c: c.sendall(ok)) as (port, requests):
        transport = SafeTransport(policy, resolver=lambda host, port: ["::1", "127.0.0.1"], timeout_seconds=5)
        # When a delivery is posted to it
        answer = transport.post(f"http://hooks.example.com:{port}/in", b"{}", {})
    # Then the IPv4 address gets it
    assert answer.status == 204
    assert len(requests) == 1
