"""One HTTP POST to a checked address: resolve, check, connect to that address, no redirects, capped read."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from image_pipeline.webhooks.targets import (
    IPAddress,
    Resolver,
    Target,
    TargetPolicy,
    parse_target,
    resolve_checked,
    system_resolver,
)

USER_AGENT = "image-pipeline-webhooks/1"


@dataclass(frozen=True)
class HttpAnswer:
    """What one attempt got: a status code, or none (timeout, refused connection, TLS failure)."""

    status: int | None
    latency_ms: int
    retry_after: str | None = None
    body_excerpt: str = ""
    error: str | None = None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address while the request names the host (Host header)."""

    def __init__(self, target: Target, address: IPAddress, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = str(address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; the certificate is verified against the host name (SNI too)."""

    def __init__(self, target: Target, address: IPAddress, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = str(address)
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class SafeTransport:
    def __init__(
        self,
        policy: TargetPolicy,
        *,
        resolver: Resolver = system_resolver,
        timeout_seconds: float = 15.0,
        body_cap_bytes: int = 4096,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._timeout = timeout_seconds
        self._cap = body_cap_bytes
        self._tls = tls or ssl.create_default_context()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        """Raises TargetRefused when the URL or any address it resolves to now is not allowed."""
        target = parse_target(url, self._policy)
        addresses = resolve_checked(target, self._policy, self._resolver)
        started = time.monotonic()
        last_error = "no address"
        for address in addresses:
            remaining = self._timeout - (time.monotonic() - started)
            if remaining <= 0:
                break
            try:
                return self._post_to(target, address, body, headers, started, remaining)
            except TimeoutError:
                return HttpAnswer(None, _ms_since(started), error=f"timed out after {self._timeout:g} s")
            except ConnectionRefusedError as error:
                last_error = f"connection refused: {error}"
            except (OSError, http.client.HTTPException) as error:
                return HttpAnswer(None, _ms_since(started), error=f"{type(error).__name__}: {error}"[:300])
        return HttpAnswer(None, _ms_since(started), error=last_error)

    def _post_to(
        self, target: Target, address: IPAddress, body: bytes, headers: dict[str, str], started: float, remaining: float
    ) -> HttpAnswer:
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = _PinnedHTTPSConnection(target, address, remaining, self._tls)
        else:
            connection = _PinnedHTTPConnection(target, address, remaining)
        try:
            connection.request(
                "POST",
                target.path,
                body=body,
                headers={**headers, "user-agent": USER_AGENT, "content-length": str(len(body))},
            )
            if connection.sock is not None:
                connection.sock.settimeout(max(0.01, self._timeout - (time.monotonic() - started)))
            response = connection.getresponse()  # never follows a redirect
            latency = _ms_since(started)
            excerpt = response.read(self._cap).decode("utf-8", errors="replace")
            return HttpAnswer(response.status, latency, response.getheader("retry-after"), excerpt)
        finally:
            connection.close()


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
