"""draft-cavage HTTP Signatures, as Mastodon, GoToSocial, Pixelfed and Misskey use them.

Verification takes the request target exactly as sent on the wire (raw, still percent-encoded path plus
query), not a decoded path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers

# Received headers: a plain mapping, or Quart's (werkzeug) Headers, which is no Mapping.
HeaderMap: TypeAlias = "Mapping[str, str] | Headers"


class SignatureError(Exception):
    """A signature problem; the message is safe to show to the client."""


_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_RSA_ALGORITHMS = frozenset({"", "rsa-sha256", "hs2019"})  # "" = algorithm parameter absent
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^",\s]*))\s*(,|$)')


def generate_keypair() -> tuple[str, str]:
    """A new RSA-2048 key pair as (PKCS8 private PEM, SubjectPublicKeyInfo public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = serialization.Encoding.PEM
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode("ascii"), public.decode("ascii")


@lru_cache(maxsize=1024)
def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.strip().encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("not an RSA private key")
    return key


@lru_cache(maxsize=4096)
def load_public_key(pem: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise SignatureError("public key is not a valid PEM key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("public key is not an RSA key")
    return key


def digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def sign_headers(method: str, url: str, key_id: str, private_key_pem: str, body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, now: datetime | None = None) -> dict[str, str]:
    """The headers to send: the given ones plus Host, Date, Digest (with a body) and Signature."""
    if '"' in key_id:
        raise ValueError("keyId must not contain a double quote")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    when = now or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    replaced = ("host", "date", "digest", "signature")
    out = {k: v for k, v in (headers or {}).items() if k.lower() not in replaced}
    out["Host"] = host
    out["Date"] = formatdate(when.timestamp(), usegmt=True)
    lines = [f"(request-target): {method.lower()} {target}", f"host: {host}", f"date: {out['Date']}"]
    names = "(request-target) host date"
    if body is not None:
        out["Digest"] = digest(body)
        lines.append(f"digest: {out['Digest']}")
        names += " digest"
        content_type = next((v for k, v in out.items() if k.lower() == "content-type"), None)
        if content_type is not None:
            lines.append(f"content-type: {content_type.strip()}")
            names += " content-type"
    raw = load_private_key(private_key_pem).sign("\n".join(lines).encode("utf-8"), _PKCS1, _SHA256)
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{names}",'
        f'signature="{base64.b64encode(raw).decode("ascii")}"'
    )
    return out


@dataclass(frozen=True)
class SignatureParams:
    key_id: str
    algorithm: str  # lowercased; "" when the parameter was absent
    headers: list[str]
    signature: bytes
    created: int | None
    expires: int | None


def parse_signature(value: str) -> SignatureParams:
    """Parse a Signature header value, or an Authorization value starting with "Signature "."""
    text = value.strip()
    if text[:10].lower() == "signature ":
        text = text[10:]
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _PARAM.match(text, pos)
        if m is None:
            raise SignatureError("malformed Signature header")
        name = m.group(1).lower()
        if name in fields:
            raise SignatureError(f"duplicate {m.group(1)} in Signature header")
        quoted = m.group(2)
        fields[name] = m.group(3) if quoted is None else re.sub(r"\\(.)", r"\1", quoted)
        pos = m.end()
        if not m.group(4):
            break
    if not fields.get("keyid"):
        raise SignatureError("Signature header has no keyId")
    if not fields.get("signature"):
        raise SignatureError("Signature header has no signature")
    try:
        signature = base64.b64decode(fields["signature"], validate=True)
        created = int(fields["created"]) if "created" in fields else None
        expires = int(fields["expires"]) if "expires" in fields else None
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("malformed Signature header") from exc
    algorithm = fields.get("algorithm", "").lower()
    headers = fields.get("headers", "").lower().split() or ["date"]  # spec default when absent
    return SignatureParams(fields["keyid"], algorithm, headers, signature, created, expires)


def _header(headers: HeaderMap, name: str) -> str | None:
    """A header value by lowercase name; multiple values joined with ", "."""
    values: list[str] | None = None
    if (getlist := getattr(headers, "getlist", None)) is not None:  # werkzeug/Quart Headers
        values = getlist(name)
    elif (getall := getattr(headers, "getall", None)) is not None:  # multidict (aiohttp)
        values = getall(name, [])
    if values is not None:
        return ", ".join(v.strip() for v in values) if values else None
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    if isinstance(value, list | tuple):
        return ", ".join(v.strip() for v in value)
    return None if value is None else value.strip()


def verify(method: str, path_and_query: str, headers: HeaderMap, params: SignatureParams,
           public_key_pem: str) -> None:
    """Rebuild the signing string and check it against the key; SignatureError on any mismatch."""
    if params.algorithm not in _RSA_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {params.algorithm!r}")
    lines = []
    for name in params.headers:
        if name == "(request-target)":
            value: str | int | None = f"{method.lower()} {path_and_query}"
        elif name in ("(created)", "(expires)"):
            value = params.created if name == "(created)" else params.expires
        else:
            value = _header(headers, name)
        if value is None:
            raise SignatureError(f"signed header {name} is missing")
        lines.append(f"{name}: {value}")
    text = "\n".join(lines)
    try:
        data = text.encode("latin-1")  # what a server decoding header bytes as latin-1 received
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    try:
        load_public_key(public_key_pem).verify(params.signature, data, _PKCS1, _SHA256)
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify") from exc


def require_signed(params: SignatureParams, method: str, has_body: bool) -> None:
    """Our policy on what the signature must cover."""
    signed = set(params.headers)
    missing = [h for h in ("(request-target)", "host") if h not in signed]
    if "date" not in signed and "(created)" not in signed:
        missing.append("date")
    if method.upper() == "POST" and has_body and not signed & {"digest", "content-digest"}:
        missing.append("digest")
    if missing:
        raise SignatureError("signature must cover: " + ", ".join(missing))


def check_date(headers: HeaderMap, params: SignatureParams, now: datetime | None = None,
               past: timedelta = timedelta(hours=12), future: timedelta = timedelta(hours=1)) -> None:
    """Date (and/or (created)) within [now - past, now + future], and (expires) not passed."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    stamps = []
    if params.created is not None:
        stamps.append(datetime.fromtimestamp(params.created, UTC))
    date = _header(headers, "date")
    if date is not None:
        try:
            when = parsedate_to_datetime(date)
        except (TypeError, ValueError) as exc:
            raise SignatureError("unparseable Date header") from exc
        stamps.append(when if when.tzinfo else when.replace(tzinfo=UTC))
    if not stamps:
        raise SignatureError("missing Date header")
    for when in stamps:
        if when < now - past:
            raise SignatureError("request date is too old")
        if when > now + future:
            raise SignatureError("request date is in the future")
    if params.expires is not None and params.expires < now.timestamp():
        raise SignatureError("signature has expired")


def _digest_matches(algorithm: str, value: str, body: bytes) -> bool | None:
    """None for an unknown algorithm, else whether value is the body's base64 digest."""
    fn = _DIGESTS.get(algorithm.strip().lower())
    if fn is None:
        return None
    try:
        expected = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        return False
    return hmac.compare_digest(expected, fn(body).digest())


def check_digest(headers: HeaderMap, body: bytes) -> None:
    """Digest (or RFC 9530 Content-Digest): every known algorithm must match, at least one must be known."""
    value, structured = _header(headers, "digest"), False
    if value is None:
        value, structured = _header(headers, "content-digest"), True
    if value is None:
        raise SignatureError("missing Digest header")
    known = False
    for item in value.split(","):
        algorithm, _, encoded = item.partition("=")
        encoded = encoded.strip()
        if structured:  # RFC 9530: sha-256=:base64:
            if len(encoded) < 2 or encoded[0] != ":" or encoded[-1] != ":":
                raise SignatureError("malformed Content-Digest header")
            encoded = encoded[1:-1]
        ok = _digest_matches(algorithm, encoded, body)
        if ok is False:
            raise SignatureError("Digest does not match body")
        known = known or ok is True
    if not known:
        raise SignatureError("Digest has no supported algorithm")
