"""Which URLs a webhook may point at, checked at registration and again at every connect (SSRF guard).

Only HTTPS (plain HTTP only when the settings allow it, in the local mode), no credentials in the URL,
no IP literal in a non-canonical spelling (decimal, octal, hex, shortened), and every address the name
resolves to must be a public unicast address: loopback, private, shared (CGNAT), link-local (with
the 169.254.169.254 metadata service), unspecified, multicast, reserved, documentation, IPv6 unique
local (fd00::/8, with fd00:ec2::254), IPv4-mapped/-compatible/-translated IPv6, NAT64, 6to4 and Teredo addresses
are refused. The transport connects to the very address that was checked, so a DNS answer cannot
change between the check and the connect.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from image_pipeline.shared.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".arpa")


def _networks(*cidrs: str) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), cidr) for cidr in cidrs)


# Named one by one so a refusal says why; anything else that is not globally reachable is refused too.
_REFUSED = _networks(
    "0.0.0.0/8",  # "this network", unspecified
    "10.0.0.0/8",
    "100.64.0.0/10",  # shared address space (CGNAT)
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local, the instance metadata service 169.254.169.254
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",  # 6to4 relay anycast
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, broadcast
    "::/128",
    "::1/128",
    "::ffff:0:0/96",  # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "::/96",  # IPv4-compatible (deprecated)
    "64:ff9b::/96",  # NAT64
    "64:ff9b:1::/48",  # local-use NAT64
    "100::/64",  # discard
    "2001::/32",  # Teredo
    "2001:db8::/32",  # documentation
    "2002::/16",  # 6to4
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # SRv6 segment identifiers (RFC 9602)
    "fc00::/7",  # unique local (fd00:ec2::254 is the IPv6 metadata service)
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated)
    "ff00::/8",  # multicast
)


class TargetRefused(InvalidRequest):
    """The URL or the address it resolves to may not receive webhooks."""


class TargetUnresolved(TargetRefused):
    """The host name did not resolve: refused at registration, retried at delivery (DNS fails for a while too)."""


@dataclass(frozen=True)
class TargetPolicy:
    allow_http: bool = False
    # Networks let through despite the rules (the local mode's loopback receiver, on any port); empty in AWS.
    allowed_networks: tuple[IPNetwork, ...] = ()
    # Ports a URL may name: 443 unless the environment's config allows others (WebhookConfig.allowed_ports),
    # so that nobody can use our addresses to probe ssh, redis or anything else listening somewhere.
    allowed_ports: tuple[int, ...] = (443,)

    @classmethod
    def of(cls, allow_http: bool, allowed_networks: str, allowed_ports: str = "443") -> TargetPolicy:
        networks = tuple(ipaddress.ip_network(n.strip()) for n in allowed_networks.split(",") if n.strip())
        ports = tuple(int(p) for p in allowed_ports.split(",") if p.strip())
        return cls(allow_http=allow_http, allowed_networks=networks, allowed_ports=ports)

    def allows_network(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allowed_networks)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def literal_address(self) -> IPAddress | None:
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def _refuse(url: str, why: str) -> TargetRefused:
    return TargetRefused(f"webhook URL refused ({why})" if url else why)


def parse_target(url: str, policy: TargetPolicy) -> Target:
    """Checks the URL's shape; the addresses are checked by ``resolve_checked``."""
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(url, f"longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise _refuse(url, "whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _refuse(url, f"not a valid URL: {error}") from None
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme.lower() not in allowed:
        raise _refuse(url, "only https URLs are accepted")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refuse(url, "credentials in the URL")
    if parts.fragment:
        raise _refuse(url, "a fragment")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse(url, "no host")
    if port == 0:
        raise _refuse(url, "port 0")
    literal = _literal(host)
    if literal is None:
        host = _checked_hostname(url, host)
    else:
        check_address(literal, policy)
        host = str(literal)
    scheme = parts.scheme.lower()
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    # The request line is ASCII: other characters go as their UTF-8 percent-encoding (as browsers send them).
    try:
        path = _NON_ASCII.sub(lambda match: quote(match.group(), safe=""), path)
    except UnicodeError:  # a lone surrogate
        raise _refuse(url, "not a valid URL: characters that are not Unicode text") from None
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _checked_hostname(url: str, host: str) -> str:
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _refuse(url, "not a valid host name") from None
    labels = ascii_host.split(".")
    # inet_aton() reads "2130706433", "0177.0.0.1", "0x7f.1" and "127.1" as 127.0.0.1: any name whose
    # last label is a number is an IP literal in disguise (no top-level domain is numeric).
    if _NUMERIC_LABEL.match(labels[-1]) or all(_NUMERIC_LABEL.match(label) for label in labels):
        raise _refuse(url, "an IP address in a non-canonical form")
    if not _HOSTNAME.match(ascii_host):
        raise _refuse(url, "not a valid host name")
    if ascii_host == "localhost" or ascii_host.endswith(_LOCAL_NAMES):
        raise _refuse(url, "a local host name")
    return ascii_host


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it is a public unicast address."""
    for network, cidr in _REFUSED:
        if address.version == network.version and address in network:
            return f"{address} is in {cidr}"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def check_address(address: IPAddress, policy: TargetPolicy) -> None:
    if policy.allows_network(address):
        return
    reason = refusal_reason(address)
    if reason:
        raise _refuse("", f"webhook target refused: {reason}")


def system_resolver(host: str, port: int) -> list[str]:
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(answer[4][0]) for answer in answers]


def resolve_checked(target: Target, policy: TargetPolicy, resolver: Resolver = system_resolver) -> list[IPAddress]:
    """Every address of the target, each checked; refused when any one of them is not allowed."""
    literal = target.literal_address
    if literal is not None:
        check_address(literal, policy)
        _check_port(target, [literal], policy)
        return [literal]
    try:
        answers = resolver(target.host, target.port)
    except (OSError, UnicodeError) as error:
        raise TargetUnresolved(f"webhook host {target.host} does not resolve: {error}") from None
    addresses: list[IPAddress] = []
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        check_address(address, policy)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetUnresolved(f"webhook host {target.host} does not resolve")
    _check_port(target, addresses, policy)
    return addresses


def _check_port(target: Target, addresses: list[IPAddress], policy: TargetPolicy) -> None:
    if target.port in policy.allowed_ports or all(policy.allows_network(a) for a in addresses):
        return
    allowed = ", ".join(str(p) for p in policy.allowed_ports)
    raise _refuse("", f"webhook URL refused (port {target.port}: only port {allowed} may receive webhooks)")


def check_url(url: str, policy: TargetPolicy, resolver: Resolver = system_resolver) -> Target:
    """Registration check: the URL's shape and what its host resolves to now."""
    target = parse_target(url, policy)
    resolve_checked(target, policy, resolver)
    return target
