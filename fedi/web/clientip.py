"""The client's address behind a reverse proxy: X-Forwarded-For, believed only from trusted proxies.

Like Mastodon (Rails' RemoteIp with TRUSTED_PROXY_IP), FEDI_TRUSTED_PROXIES names the proxies, loopback
and private networks by default. Unlike Rails, the header is read only when the direct peer is one of
them: a client that reaches fedi directly cannot choose its address by sending the header. The chain is
walked from the right (the entries the proxies appended) past trusted proxies; the first address that
is not one is the client. Rate limits and login throttles key on it.

Not hypercorn's ProxyFixMiddleware: it believes a fixed number of hops from any peer (a client that
reaches fedi directly could pick its address), it also rewrites Host and the scheme from headers (HTTP
signatures cover Host; fedi builds URLs from FEDI_DOMAIN), and it copies the ASGI scope on every request.
Here nothing runs unless the request carries X-Forwarded-For, and only the rate-limit key changes."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from quart import Request

from fedi.web.common import st

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_LOOPBACK = ipaddress.ip_address("127.0.0.1")


@lru_cache(maxsize=16)
def networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    """The parsed FEDI_TRUSTED_PROXIES (Config keeps strings; this runs once per distinct setting)."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def parse(value: str) -> Address | None:
    """One address as proxies write it: `1.2.3.4`, `1.2.3.4:567`, `[::1]:80`, `::ffff:1.2.3.4`
    (mapped to IPv4); None for anything else (`unknown`, hostnames, garbage)."""
    text = value.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        addr = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def trusted(addr: Address, nets: tuple[Network, ...]) -> bool:
    return any(addr in net for net in nets)


def resolve(remote_addr: str | None, forwarded_for: list[str], nets: tuple[Network, ...]) -> str:
    """The client address, from the direct peer and the X-Forwarded-For header lines (pure)."""
    peer = remote_addr or "-"
    if not forwarded_for or not nets:
        return peer
    # a peer that is not an IP address is a Unix socket: only a local process can connect there
    peer_ip = parse(peer) or _LOOPBACK
    if not trusted(peer_ip, nets):
        return peer
    client = peer_ip
    for entry in reversed(",".join(forwarded_for).split(",")):
        addr = parse(entry)
        if addr is None:
            break               # a malformed entry: the last address a trusted proxy vouched for stands
        client = addr
        if not trusted(addr, nets):
            break
    return peer if client is peer_ip else str(client)


def client_ip(request: Request) -> str:
    """The address to rate-limit and throttle `request` by: its peer's, or, when the peer is a trusted
    proxy, the one it forwarded. Costs one header lookup when there is no X-Forwarded-For."""
    forwarded = request.headers.getlist("X-Forwarded-For")
    if not forwarded:
        return request.remote_addr or "-"
    return resolve(request.remote_addr, forwarded, networks(st().cfg.trusted_proxies))
