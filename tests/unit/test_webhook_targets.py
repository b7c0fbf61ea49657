"""SSRF guard: a corpus of targets refused at registration and at delivery, DNS answers faked, no network."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import pytest

from image_pipeline.shared.errors import InvalidRequest
from image_pipeline.webhooks.adapters.transport import SafeTransport
from image_pipeline.webhooks.domain.dispatch import DeliveryQueue, DispatchSettings
from image_pipeline.webhooks.domain.subscriptions import WebhookService
from image_pipeline.webhooks.domain.targets import TargetPolicy, TargetRefused, check_url, parse_target

PUBLIC = "93.184.215.14"
# Fake DNS: name -> answers. Names not listed do not resolve.
DNS: dict[str, list[str]] = {
    "hooks.example.com": [PUBLIC],
    "rebind.example.com": ["127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "mixed.example.com": [PUBLIC, "10.0.0.5"],
    "ula.example.com": ["fd00::1"],
    "mapped.example.com": ["::ffff:10.0.0.1"],
    "nat64.example.com": ["64:ff9b::a9fe:a9fe"],
    "siit.example.com": ["::ffff:0:a9fe:a9fe"],
    "ec2v6.example.com": ["fd00:ec2::254"],
    "169.254.169.254.nip.io": ["169.254.169.254"],
    "private.example.com": ["192.168.0.10"],
    "cgnat.example.com": ["100.64.1.1"],
    "linklocal6.example.com": ["fe80::1%eth0"],
    "zero.example.com": ["0.0.0.0"],
}

CORPUS = [
    "http://hooks.example.com/hook",  # plain HTTP outside the local mode
    "ftp://hooks.example.com/hook",
    "file:///etc/passwd",
    "gopher://hooks.example.com/",
    "https://127.0.0.1/hook",
    "https://127.0.0.2:8443/hook",
    "https://hooks.example.com:22/hook",  # a public address, but not a webhook port: no port scans from us
    "https://hooks.example.com:6379/",
    "https://hooks.example.com:8443/hook",  # only 443 unless the environment allows more
    "https://localhost/hook",
    "https://api.localhost/hook",
    "https://printer.local/hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://0.0.0.0/hook",
    "https://0/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",  # shared address space (CGNAT)
    "https://198.18.0.1/hook",
    "https://192.0.0.170/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://255.255.255.255/hook",
    "https://2130706433/hook",  # decimal 127.0.0.1
    "https://0177.0.0.1/hook",  # octal
    "https://0x7f.0.0.1/hook",  # hex
    "https://0x7f000001/hook",
    "https://017700000001/hook",
    "https://127.1/hook",  # shortened
    "https://169.254.43518/hook",  # 169.254.169.254 with a 16-bit tail
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "https://[::ffff:a9fe:a9fe]/hook",
    "https://[::127.0.0.1]/hook",  # IPv4-compatible
    "https://[::ffff:0:a9fe:a9fe]/hook",  # IPv4-translated (SIIT) metadata service
    "https://[::ffff:0:7f00:1]/hook",
    "https://[3fff::1]/hook",  # documentation (RFC 9637)
    "https://[5f00::1]/hook",  # SRv6 segment identifiers (RFC 9602)
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 to the metadata service
    "https://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[fd12:3456::1]/hook",
    "https://[ff02::1]/hook",
    "https://user:secret@hooks.example.com/hook",
    "https://hooks.example.com@127.0.0.1/hook",
    "https://hooks.example.com:0/hook",
    "https://hooks.example.com/hook#frag",
    "https://hooks.example.com/ho ok",
    "https://hooks.example.com/\ud800",  # a lone surrogate (JSON can carry one)
    "https://rebind.example.com/hook",  # the name resolves to loopback
    "https://metadata.example.com/hook",
    "https://169.254.169.254.nip.io/hook",
    "https://mixed.example.com/hook",  # one bad answer among good ones
    "https://ula.example.com/hook",
    "https://mapped.example.com/hook",
    "https://nat64.example.com/hook",
    "https://siit.example.com/hook",
    "https://ec2v6.example.com/hook",
    "https://private.example.com/hook",
    "https://cgnat.example.com/hook",
    "https://linklocal6.example.com/hook",
    "https://zero.example.com/hook",
    "https://does-not-resolve.example.com/hook",
    "https://" + "a" * 2050 + ".example.com/",
]


class FakeDns:
    def __init__(self) -> None:
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        if host not in DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return DNS[host]


class NoWrites:
    def count_subscriptions(self, owner: str) -> int:
        return 0

    def create_subscription(self, subscription: Any) -> None:
        raise AssertionError("a refused URL was stored")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any connect attempt is recorded and refused: nothing leaves the machine."""
    connects: list[Any] = []

    def refuse(address: Any, *args: Any, **kwargs: Any) -> Any:
        connects.append(address)
        raise ConnectionRefusedError("test: no network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("real DNS was asked"))
    return connects


def test_the_corpus_is_large_enough() -> None:
    assert len(set(CORPUS)) >= 30


@pytest.mark.parametrize("url", CORPUS)
def test_refused_at_registration(url: str, no_network: list[Any]) -> None:
    # Given the API's webhook service with a faked DNS
    service = WebhookService(
        repository=NoWrites(),  # type: ignore[arg-type]
        flows=NoWrites(),  # type: ignore[arg-type]
        deliveries=DeliveryQueue(repository=NoWrites(), queue=None, settings=DispatchSettings()),  # type: ignore[arg-type]
        policy=TargetPolicy(),
        resolver=FakeDns(),
    )
    # When somebody registers the URL, then it is refused as a bad request and nothing is stored
    with pytest.raises(InvalidRequest, match=r"refused|resolve"):
        service.create("alice", url, ["image.analyzed"])
    assert no_network == []


@pytest.mark.parametrize("url", CORPUS)
def test_refused_at_delivery_without_connecting(url: str, no_network: list[Any]) -> None:
    # Given a URL stored earlier (e.g. when its name still resolved to a public address)
    transport = SafeTransport(TargetPolicy(), resolver=FakeDns())
    # When a delivery is attempted, then it is refused before any connection is made
    with pytest.raises(TargetRefused):
        transport.post(url, b"{}", {"content-type": "application/json"})
    assert no_network == []


def test_a_public_target_is_accepted_and_connected_at_the_checked_address(no_network: list[Any]) -> None:
    # Given a name that resolves to a public address
    dns = FakeDns()
    assert check_url("https://hooks.example.com/hook", TargetPolicy(), dns).host == "hooks.example.com"
    transport = SafeTransport(TargetPolicy.of(False, "", allowed_ports="443,8443"), resolver=dns)
    # When a delivery is attempted
    answer = transport.post("https://hooks.example.com:8443/hook?x=1", b"{}", {})
    # Then the connection goes to the address that was checked (resolved once per attempt, no second lookup)
    assert no_network == [(PUBLIC, 8443)]
    assert dns.lookups == ["hooks.example.com", "hooks.example.com"]
    assert answer.status is None
    assert "refused" in (answer.error or "")


def test_a_public_ipv6_literal_is_accepted(no_network: list[Any]) -> None:
    target = check_url("https://[2606:2800:220:1:248:1893:25c8:1946]/h", TargetPolicy(), FakeDns())
    assert target.host == "2606:2800:220:1:248:1893:25c8:1946"


def test_the_local_mode_may_reach_its_loopback_receiver_over_http(no_network: list[Any]) -> None:
    local = TargetPolicy.of(allow_http=True, allowed_networks="127.0.0.0/8")
    target = check_url("http://127.0.0.1:9000/hook", local, FakeDns())
    assert (target.scheme, target.port, target.path) == ("http", 9000, "/hook")
    # but not the metadata service, nor a private network
    for url in ("http://169.254.169.254/", "http://10.0.0.1/"):
        with pytest.raises(TargetRefused):
            check_url(url, local, FakeDns())


def test_a_url_keeps_its_path_and_query() -> None:
    target = parse_target("https://Hooks.Example.com./in?a=1&b=2", TargetPolicy())
    assert (target.host, target.port, target.path) == ("hooks.example.com", 443, "/in?a=1&b=2")


def test_non_ascii_characters_of_the_path_and_query_are_percent_encoded() -> None:
    target = parse_target("https://hooks.example.com/café?für=ü", TargetPolicy())
    assert target.path == "/caf%C3%A9?f%C3%BCr=%C3%BC"
