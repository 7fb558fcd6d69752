"""fedi's only outbound HTTP: one pooled aiohttp session with the network policy applied.

Guards, in order: check_url (scheme, host present, literal IP hosts) on every hop; a resolver
wrapper on the connector that refuses names resolving to private/loopback/... addresses (aiohttp
connects to exactly the addresses the resolver returned, so there is no re-resolve window); manual
redirects (each hop checked and re-signed); a cap on the body, counted as it is read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDictProxy
from yarl import URL

from fedi import SOFTWARE, __version__
from fedi.config import Config
from fedi.errors import RemoteError

MAX_BODY = 1_000_000
MAX_POST = 64 * 1024
AS2_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JSON_TYPES = frozenset(
    {"application/activity+json", "application/ld+json", "application/json", "application/jrd+json"}
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_AIOHTTP_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError)


class Blocked(RemoteError):  # noqa: N818 - the name is the public API
    """Refused by policy: scheme, private address, body too large or not the expected content type."""


class RemoteStatusError(RemoteError):
    """The remote answered with a non-2xx status (kept in .status)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Response:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: str


def default_user_agent(cfg: Config) -> str:
    return f"{SOFTWARE}/{__version__} (+{cfg.base_url}/)"


def is_refused_address(host: str) -> bool:
    """True for anything that is not a public unicast address (fails closed on unparsable input)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None and is_refused_address(str(ip.sixtofour)):
            return True  # NAT64 (64:ff9b::/96, inside ::/8) and Teredo (2001::/32) are refused below
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GuardedResolver(AbstractResolver):
    """Wraps a resolver; refuses a name if any address it resolves to is refused."""

    def __init__(self, inner: AbstractResolver, allow_private: bool) -> None:
        self._inner = inner
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for result in results:
                if is_refused_address(result["host"]):
                    raise Blocked(f"{host} resolves to a refused address ({result['host']})")
        return results

    async def close(self) -> None:
        await self._inner.close()


async def _read_body(resp: aiohttp.ClientResponse, limit: int, *, truncate: bool) -> bytes:
    if not truncate and resp.content_length is not None and resp.content_length > limit:
        raise Blocked(f"{resp.url} announced {resp.content_length} bytes, over the {limit} limit")
    buf = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        buf += chunk
        if len(buf) > limit:
            if truncate:
                return bytes(buf[:limit])
            raise Blocked(f"{resp.url} sent more than {limit} bytes")
    return bytes(buf)


class HttpClient:
    def __init__(
        self,
        cfg: Config,
        *,
        user_agent: str,
        limit: int = 256,
        limit_per_host: int = 16,
        timeout: float = 10.0,
        resolver: AbstractResolver | None = None,  # the resolver to wrap (tests); default: aiohttp's
    ) -> None:
        self.cfg = cfg
        self.user_agent = user_agent
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._timeout = timeout
        self._inner_resolver = resolver
        self._resolver: GuardedResolver | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        inner = self._inner_resolver or aiohttp.resolver.DefaultResolver()
        self._resolver = GuardedResolver(inner, self.cfg.allow_private_addresses)
        connector = aiohttp.TCPConnector(
            limit=self._limit, limit_per_host=self._limit_per_host, ttl_dns_cache=300, resolver=self._resolver
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._timeout, connect=min(5.0, self._timeout)),
            headers={"User-Agent": self.user_agent},
            trust_env=False,  # an environment proxy would bypass the resolver guard
        )

    async def close(self) -> None:
        session, resolver = self._session, self._resolver
        self._session = self._resolver = None
        if session is not None:
            await session.close()
        if resolver is not None:
            await resolver.close()  # the connector does not close a resolver it was given

    def check_url(self, url: str) -> None:
        try:
            parsed = URL(url)
        except (TypeError, ValueError) as exc:
            raise Blocked(f"invalid URL {url!r}") from exc
        allowed = ("https", "http") if self.cfg.scheme == "http" else ("https",)
        if parsed.scheme not in allowed:
            raise Blocked(f"scheme {parsed.scheme or '(none)'!r} is not allowed: {url}")
        host = parsed.raw_host
        if not host:
            raise Blocked(f"no host in {url!r}")
        if not self.cfg.allow_private_addresses and _is_ip_literal(host) and is_refused_address(host):
            raise Blocked(f"{host} is a refused address")

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        data: bytes | None = None,
        limit: int = MAX_BODY,
        truncate: bool = False,
        follow: bool = False,
    ) -> Response:
        self.check_url(url)
        if self._session is None:
            await self.start()
        assert self._session is not None
        try:
            async with self._session.request(
                method, url, headers=headers, data=data, allow_redirects=False
            ) as resp:
                if follow and resp.status in _REDIRECT_STATUSES and "Location" in resp.headers:
                    body = b""
                else:
                    body = await _read_body(resp, limit, truncate=truncate)
                return Response(resp.status, resp.headers, body, str(resp.url))
        except _AIOHTTP_ERRORS as exc:
            detail = str(exc).splitlines()[0][:160] if str(exc) else ""
            message = f"{method} {url} failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
            raise RemoteError(message) from exc

    async def get(
        self,
        url: str,
        *,
        accept: str = AS2_ACCEPT,
        signer: tuple[str, str] | None = None,
        max_redirects: int = 5,
    ) -> Response:
        first = url
        for _ in range(max_redirects + 1):
            headers = {"Accept": accept}
            if signer is not None:
                from fedi.signatures import sign_headers

                # RSA signing (~0.25 ms) releases the GIL: do it on a worker thread, not the event loop
                headers = await asyncio.to_thread(sign_headers, "GET", url, signer[0], signer[1], headers=headers)
            resp = await self._send("GET", url, headers=headers, follow=True)
            if resp.status not in _REDIRECT_STATUSES or "Location" not in resp.headers:
                return resp
            try:
                url = str(URL(url).join(URL(resp.headers["Location"])))
            except ValueError as exc:
                raise RemoteError(f"{url} redirected to an invalid Location") from exc
        raise RemoteError(f"{first}: more than {max_redirects} redirects")

    async def get_json(
        self, url: str, *, signer: tuple[str, str] | None = None, accept: str = AS2_ACCEPT
    ) -> dict[str, Any]:
        resp = await self.get(url, signer=signer, accept=accept)
        if not 200 <= resp.status < 300:
            raise RemoteStatusError(f"{url} answered {resp.status}", resp.status)
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in JSON_TYPES:
            raise Blocked(f"{url} sent {ctype or 'no content type'}, not JSON")
        try:
            data = json.loads(resp.body)
        except ValueError as exc:
            raise RemoteError(f"{url} sent invalid JSON") from exc
        if not isinstance(data, dict):
            raise RemoteError(f"{url} sent JSON that is not an object")
        return data

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        """Deliver a (pre-signed) POST; redirects are not followed, the answer is cut at 64 KiB."""
        return await self._send("POST", url, headers=headers, data=body, limit=MAX_POST, truncate=True)
