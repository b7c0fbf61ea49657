"""One HTTP POST to a checked address: resolve, check, connect to that address, no redirects, capped read.

The time limit covers the whole attempt (name resolution, connect, TLS, request, status and headers): a
socket timeout alone limits each read, so an endpoint trickling its answer a byte at a time could hold a
delivery slot (and the batch it runs in) far longer. A watchdog shuts the socket down when the time is up;
a resolver that does not answer in time is left behind. Whatever went wrong is told as a failure class
(``model.Failure``), never as the socket's own words, so the delivery log is no port scanner's report.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from image_pipeline.webhooks.domain.model import Failure
from image_pipeline.webhooks.domain.ports import EndpointAnswer
from image_pipeline.webhooks.domain.targets import (
    IPAddress,
    Resolver,
    Target,
    TargetPolicy,
    TargetUnresolved,
    parse_target,
    resolve_checked,
    system_resolver,
)

USER_AGENT = "image-pipeline-webhooks/1"
# Connect errors after which the next address of the host is tried (e.g. IPv6 where there is no IPv6 route).
_NEXT_ADDRESS_ERRORS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EAFNOSUPPORT}
# Name resolution runs here so that it counts against the attempt's time limit (getaddrinfo has no timeout).
_RESOLVERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="webhook-dns")


class _NotConnected(Exception):
    """The connection to one address could not be made; nothing was sent."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.value)
        self.failure = failure


class _Watchdog:
    """Shuts the attempt's socket down once ``seconds`` have passed, waking any read or write blocked on it."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._fired = False
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def fired(self) -> bool:
        return self._fired

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socket = sock
            fired = self._fired
        if fired:
            _shut(sock)
            raise TimeoutError("the time limit passed while connecting")

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            sock = self._socket
        if sock is not None:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also under TLS: the SSL object stays as it is for the reading thread.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _connect(address: str, port: int, timeout: float | None, watchdog: _Watchdog) -> socket.socket:
    try:
        sock = socket.create_connection((address, port), timeout)
    except OSError as error:
        if isinstance(error, ConnectionRefusedError):
            raise _NotConnected(Failure.REFUSED) from None
        if error.errno in _NEXT_ADDRESS_ERRORS:
            raise _NotConnected(Failure.CONNECTION) from None
        raise
    watchdog.watch(sock)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address while the request names the host (Host header)."""

    def __init__(self, target: Target, address: IPAddress, timeout: float, watchdog: _Watchdog) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = str(address)
        self._watchdog = watchdog

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self.timeout, self._watchdog)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; the certificate is verified against the host name (SNI too)."""

    def __init__(
        self, target: Target, address: IPAddress, timeout: float, context: ssl.SSLContext, watchdog: _Watchdog
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = str(address)
        self._tls = context
        self._watchdog = watchdog

    def connect(self) -> None:
        sock = _connect(self._address, self.port, self.timeout, self._watchdog)
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

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> EndpointAnswer:
        """Raises TargetRefused when the URL or any address it resolves to now is not allowed, TargetUnresolved
        when the name does not resolve within the time limit."""
        started = time.monotonic()
        target = parse_target(url, self._policy)
        addresses = self._resolve(target)
        failure = Failure.CONNECTION
        for address in addresses:
            remaining = self._timeout - (time.monotonic() - started)
            if remaining <= 0:
                failure = Failure.TIMEOUT
                break
            try:
                return self._post_to(target, address, body, headers, started, remaining)
            except TimeoutError:
                failure = Failure.TIMEOUT
                break
            except _NotConnected as error:  # nothing was sent: the next address may do
                failure = error.failure
            except ssl.SSLError:  # before OSError: it is one
                return EndpointAnswer.failed(Failure.TLS, _ms_since(started))
            except OSError:
                return EndpointAnswer.failed(Failure.CONNECTION, _ms_since(started))
            except http.client.HTTPException:
                return EndpointAnswer.failed(Failure.INVALID_RESPONSE, _ms_since(started))
        if failure is Failure.TIMEOUT:
            return EndpointAnswer.failed(failure, _ms_since(started), f"timed out after {self._timeout:g} s")
        return EndpointAnswer.failed(failure, _ms_since(started))

    def _resolve(self, target: Target) -> list[IPAddress]:
        if target.literal_address is not None:
            return resolve_checked(target, self._policy, self._resolver)
        lookup = _RESOLVERS.submit(resolve_checked, target, self._policy, self._resolver)
        try:
            return lookup.result(timeout=self._timeout)
        except FutureTimeout:
            raise TargetUnresolved(f"webhook host {target.host} did not resolve within {self._timeout:g} s") from None

    def _post_to(
        self, target: Target, address: IPAddress, body: bytes, headers: dict[str, str], started: float, remaining: float
    ) -> EndpointAnswer:
        watchdog = _Watchdog(remaining)
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = _PinnedHTTPSConnection(target, address, remaining, self._tls, watchdog)
        else:
            connection = _PinnedHTTPConnection(target, address, remaining, watchdog)
        try:
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
            except (OSError, http.client.HTTPException):
                if watchdog.fired:
                    raise TimeoutError from None
                raise
            if watchdog.fired:  # the status came, but after the time limit
                raise TimeoutError
            latency = _ms_since(started)
            try:
                excerpt = response.read(self._cap).decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException, ValueError):
                excerpt = ""  # the status came in time; only the excerpt was cut short or unreadable
            status = response.status
            failure = None if 200 <= status < 300 else Failure.HTTP_STATUS
            return EndpointAnswer(status, latency, response.getheader("retry-after"), excerpt, failure=failure)
        finally:
            watchdog.cancel()
            connection.close()


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
