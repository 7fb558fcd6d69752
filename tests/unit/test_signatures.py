from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from httpsig import HeaderSigner, HeaderVerifier
from werkzeug.datastructures import Headers

from fedi.signatures import (
    SignatureError,
    _header,
    check_date,
    check_digest,
    digest,
    generate_keypair,
    load_public_key,
    parse_signature,
    require_signed,
    sign_headers,
    verify,
)
from tests.keys import ALICE_PRIVATE_PEM, ALICE_PUBLIC_PEM, BOB_PUBLIC_PEM

KEY_ID = "https://fedi.example/users/alice#main-key"
BODY = b'{"type":"Follow","actor":"https://fedi.example/users/alice","object":"https://remote.example/users/bob"}'
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SIGNED_POST = ["(request-target)", "host", "date", "digest"]


def _post(url: str = "https://remote.example/users/bob/inbox", body: bytes = BODY, **kw) -> dict[str, str]:
    return sign_headers("POST", url, KEY_ID, ALICE_PRIVATE_PEM, body=body, now=NOW, **kw)


def _httpsig_verify(headers, method, path, required, public_pem=ALICE_PUBLIC_PEM) -> bool:
    verifier = HeaderVerifier(
        headers=headers, secret=public_pem, required_headers=required,
        method=method, path=path, host=headers["Host"], sign_header="signature",
    )
    return verifier.verify()


def _httpsig_signed(method="POST", path="/inbox", body=BODY, algorithm="rsa-sha256", sign_header="signature"):
    date = formatdate(NOW.timestamp(), usegmt=True)
    headers = {"Host": "fedi.example", "Date": date, "Digest": digest(body)}
    signer = HeaderSigner(KEY_ID, ALICE_PRIVATE_PEM, algorithm=algorithm, headers=SIGNED_POST,
                          sign_header=sign_header)
    return signer.sign(headers, method=method, path=path)


# --- interoperability with httpsig (an independent implementation) ------------------------------------------

def test_signed_post_verifies_with_httpsig():
    headers = _post()
    assert set(headers) == {"Host", "Date", "Digest", "Signature"}
    assert headers["Host"] == "remote.example"
    assert headers["Date"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert headers["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    assert 'headers="(request-target) host date digest"' in headers["Signature"]
    assert _httpsig_verify(headers, "POST", "/users/bob/inbox", SIGNED_POST)
    assert not _httpsig_verify(headers, "POST", "/users/bob/inbox", SIGNED_POST, public_pem=BOB_PUBLIC_PEM)


def test_signed_post_with_content_type_signs_it():
    headers = _post(headers={"Content-Type": "application/activity+json"})
    assert headers["Content-Type"] == "application/activity+json"
    assert 'headers="(request-target) host date digest content-type"' in headers["Signature"]
    assert _httpsig_verify(headers, "POST", "/users/bob/inbox", [*SIGNED_POST, "content-type"])
    headers["Content-Type"] = "text/html"
    assert not _httpsig_verify(headers, "POST", "/users/bob/inbox", SIGNED_POST)


def test_signed_get_has_no_digest_and_verifies_with_httpsig():
    headers = sign_headers("GET", "https://remote.example/users/bob", KEY_ID, ALICE_PRIVATE_PEM,
                           headers={"Accept": "application/activity+json"})
    assert "Digest" not in headers and headers["Accept"] == "application/activity+json"
    assert 'headers="(request-target) host date"' in headers["Signature"]
    assert _httpsig_verify(headers, "GET", "/users/bob", ["(request-target)", "host", "date"])


def test_non_default_port_goes_into_host():
    headers = _post("https://remote.example:8443/inbox")
    assert headers["Host"] == "remote.example:8443"
    assert _httpsig_verify(headers, "POST", "/inbox", SIGNED_POST)
    assert _post("https://remote.example:443/inbox")["Host"] == "remote.example"
    assert _post("http://remote.example:80/inbox")["Host"] == "remote.example"
    assert _post("http://remote.example:443/inbox")["Host"] == "remote.example:443"


def test_query_string_is_part_of_request_target():
    headers = sign_headers("GET", "https://remote.example/users/bob/outbox?page=2&min_id=a%20b", KEY_ID,
                           ALICE_PRIVATE_PEM, now=NOW)
    required = ["(request-target)", "host", "date"]
    assert _httpsig_verify(headers, "GET", "/users/bob/outbox?page=2&min_id=a%20b", required)
    assert not _httpsig_verify(headers, "GET", "/users/bob/outbox", required)
    params = parse_signature(headers["Signature"])
    verify("GET", "/users/bob/outbox?page=2&min_id=a%20b", headers, params, ALICE_PUBLIC_PEM)
    with pytest.raises(SignatureError):
        verify("GET", "/users/bob/outbox?page=3&min_id=a%20b", headers, params, ALICE_PUBLIC_PEM)


def test_httpsig_signature_verifies_with_ours():
    signed = _httpsig_signed()
    params = parse_signature(signed["signature"])
    assert params.key_id == KEY_ID and params.algorithm == "rsa-sha256" and params.headers == SIGNED_POST
    verify("POST", "/inbox", signed, params, ALICE_PUBLIC_PEM)
    require_signed(params, "POST", has_body=True)
    check_digest(signed, BODY)
    check_date(signed, params, now=NOW)


def test_httpsig_authorization_header_form_verifies():
    signed = _httpsig_signed(sign_header="authorization")
    assert signed["authorization"].startswith("Signature ")
    verify("POST", "/inbox", signed, parse_signature(signed["authorization"]), ALICE_PUBLIC_PEM)


def test_hs2019_and_missing_algorithm_accepted():
    signed = _httpsig_signed()
    value = signed["signature"]
    for variant in (value.replace('algorithm="rsa-sha256"', 'algorithm="hs2019"'),
                    value.replace('algorithm="rsa-sha256",', "")):
        params = parse_signature(variant)
        assert params.algorithm in ("hs2019", "")
        verify("POST", "/inbox", signed, params, ALICE_PUBLIC_PEM)
    params = parse_signature(value.replace('algorithm="rsa-sha256"', 'algorithm="rsa-sha512"'))
    with pytest.raises(SignatureError, match="unsupported"):
        verify("POST", "/inbox", signed, params, ALICE_PUBLIC_PEM)


# --- a real Mastodon-shaped request -------------------------------------------------------------------------

MASTODON_BODY = (
    b'{"@context":"https://www.w3.org/ns/activitystreams","id":"https://mastodon.example/users/alice#likes/1",'
    b'"type":"Like","actor":"https://mastodon.example/users/alice","object":"https://fedi.example/p/1"}'
)
MASTODON_SIGNATURE = (
    'keyId="https://mastodon.example/users/alice#main-key",algorithm="rsa-sha256",'
    'headers="(request-target) host date digest content-type",'
    'signature="fe+kSCFrRmNukozVnh3KuXSnmLyZ7JqB50HbiUFJIt9IL9jPVNuVMeBjrPUvQbqruITous4i5F55ojxHp8bfTRHHnumx'
    "GJdRRzLjZHnJsoe/ULbm2S9aq/IxcaWwroDFW/Fkz1GUCCgkwCr03twRIPMIWoELcMqTA/nLWHMvUEuE9+A5qDPZSiD2HZSwta25Pwry"
    "RuuK9Xd43E3Qz47gkMVqx4eWMkdrNLmliSU84R60WrOCCB9krgGgJUQns2s7cD9njJOCs+NormJRhTLcsrzZ0vCo57/DO/pFMPfCrahT"
    'gtvCN/H3aauVT0Qfs+pyz9/drl5u8cw/s70xSkCBBw=="'
)


def test_mastodon_signature_header_parsed_and_verified():
    params = parse_signature(MASTODON_SIGNATURE)
    assert params.key_id == "https://mastodon.example/users/alice#main-key"
    assert params.algorithm == "rsa-sha256"
    assert params.headers == ["(request-target)", "host", "date", "digest", "content-type"]
    assert len(params.signature) == 256
    assert params.created is None and params.expires is None
    # As a Quart request would present them: case-insensitive werkzeug Headers.
    headers = Headers({
        "Host": "fedi.example",
        "Date": "Wed, 01 May 2024 12:00:00 GMT",
        "Digest": "SHA-256=gvXK1RAUe7/rJB4kcbPfy/8layfc2di3MsWxIqMFTO4=",
        "Content-Type": "application/activity+json",
        "Signature": MASTODON_SIGNATURE,
    })
    verify("POST", "/users/bob/inbox", headers, params, ALICE_PUBLIC_PEM)
    require_signed(params, "POST", has_body=True)
    check_digest(headers, MASTODON_BODY)
    check_date(headers, params, now=NOW + timedelta(seconds=3))
    # The same headers as a plain dict with lowercase keys.
    verify("POST", "/users/bob/inbox", {k.lower(): v for k, v in headers.items()}, params, ALICE_PUBLIC_PEM)


# --- failures a remote server must see ---------------------------------------------------------------------

def test_tampered_body_fails_digest():
    headers = _post()
    check_digest(headers, BODY)
    with pytest.raises(SignatureError, match="does not match"):
        check_digest(headers, BODY.replace(b"Follow", b"Delete"))


def test_tampered_header_or_wrong_key_fails():
    headers = _post()
    params = parse_signature(headers["Signature"])
    verify("POST", "/users/bob/inbox", headers, params, ALICE_PUBLIC_PEM)
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify("POST", "/users/bob/inbox", {**headers, "Date": "Wed, 01 May 2024 12:00:01 GMT"}, params,
               ALICE_PUBLIC_PEM)
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify("POST", "/users/bob/inbox", {**headers, "Digest": digest(b"{}")}, params, ALICE_PUBLIC_PEM)
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify("POST", "/users/carol/inbox", headers, params, ALICE_PUBLIC_PEM)
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify("POST", "/users/bob/inbox", headers, params, BOB_PUBLIC_PEM)


def test_listed_but_absent_header_fails():
    headers = _post()
    params = parse_signature(headers["Signature"])
    del headers["Digest"]
    with pytest.raises(SignatureError, match="digest"):
        verify("POST", "/users/bob/inbox", headers, params, ALICE_PUBLIC_PEM)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (timedelta(0), True),
        (-timedelta(hours=11, minutes=59), True),
        (-timedelta(hours=13), False),
        (timedelta(minutes=59), True),
        (timedelta(hours=2), False),
    ],
)
def test_date_window(offset, ok):
    headers = sign_headers("POST", "https://remote.example/inbox", KEY_ID, ALICE_PRIVATE_PEM, body=BODY,
                           now=NOW + offset)
    params = parse_signature(headers["Signature"])
    if ok:
        check_date(headers, params, now=NOW)
    else:
        with pytest.raises(SignatureError):
            check_date(headers, params, now=NOW)


def test_date_unparseable_missing_created_and_expires():
    params = parse_signature(_post()["Signature"])
    with pytest.raises(SignatureError, match="unparseable"):
        check_date({"date": "yesterday"}, params, now=NOW)
    with pytest.raises(SignatureError, match="missing"):
        check_date({}, params, now=NOW)
    ts = int(NOW.timestamp())
    created = parse_signature(f'keyId="k",headers="(request-target) (created)",signature="AAAA",created={ts}')
    check_date({}, created, now=NOW)
    with pytest.raises(SignatureError):
        check_date({}, created, now=NOW + timedelta(hours=13))
    expired = parse_signature(f'keyId="k",signature="AAAA",created={ts - 60},expires={ts - 1}')
    with pytest.raises(SignatureError, match="expired"):
        check_date({}, expired, now=NOW)


def test_created_and_expires_in_signing_string():
    ts = int(NOW.timestamp())
    params = parse_signature(
        f'keyId="k",algorithm="hs2019",created={ts},expires={ts + 300},'
        'headers="(request-target) (created) (expires) host",signature="AAAA"'
    )
    assert (params.created, params.expires) == (ts, ts + 300)
    with pytest.raises(SignatureError, match="does not verify"):  # string builds, signature is junk
        verify("GET", "/", {"host": "fedi.example"}, params, ALICE_PUBLIC_PEM)
    no_created = parse_signature('keyId="k",headers="(created)",signature="AAAA"')
    with pytest.raises(SignatureError, match="missing"):
        verify("GET", "/", {}, no_created, ALICE_PUBLIC_PEM)


def test_require_signed_policy():
    signed = parse_signature(_post()["Signature"])
    require_signed(signed, "POST", has_body=True)
    no_digest = parse_signature('keyId="k",headers="(request-target) host date",signature="AAAA"')
    with pytest.raises(SignatureError, match="digest"):
        require_signed(no_digest, "POST", has_body=True)
    require_signed(no_digest, "GET", has_body=False)
    default = parse_signature('keyId="k",signature="AAAA"')
    assert default.headers == ["date"]
    with pytest.raises(SignatureError, match=r"\(request-target\), host"):
        require_signed(default, "GET", has_body=False)
    created = parse_signature('keyId="k",headers="(request-target) host (created)",signature="AAAA"')
    require_signed(created, "GET", has_body=False)
    undated = parse_signature('keyId="k",headers="(request-target) host digest",signature="AAAA"')
    with pytest.raises(SignatureError, match="date"):
        require_signed(undated, "POST", has_body=True)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Signature ",
        'algorithm="rsa-sha256",signature="AAAA"',
        'keyId="k",algorithm="rsa-sha256"',
        'keyId="k",signature="not base64!"',
        'keyId="k",signature="AAA"',
        'keyId="k",signature="AAAA",created=soon',
        'keyId="k" signature="AAAA"',
        'keyId="k,signature="AAAA"',
        'keyId="k",keyId="j",signature="AAAA"',
        "garbage",
    ],
)
def test_malformed_signature_header(value):
    with pytest.raises(SignatureError):
        parse_signature(value)


def test_check_digest_variants():
    sha256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    check_digest({"digest": f"sha-256={sha256}"}, BODY)
    check_digest({"Digest": f"SHA-512={sha512}"}, BODY)
    check_digest({"digest": f"SHA-256={sha256}, md5=whatever"}, BODY)
    check_digest({"content-digest": f"sha-256=:{sha256}:"}, BODY)
    with pytest.raises(SignatureError, match="does not match"):
        check_digest({"digest": f"SHA-256={sha256},SHA-512={sha256}"}, BODY)
    with pytest.raises(SignatureError, match="no supported"):
        check_digest({"digest": "MD5=AAAA"}, BODY)
    with pytest.raises(SignatureError, match="missing"):
        check_digest({}, BODY)
    with pytest.raises(SignatureError):
        check_digest({"content-digest": f"sha-256={sha256}"}, BODY)


def test_multiple_header_values_joined():
    headers = Headers([("Host", "fedi.example"), ("X-Thing", "a"), ("X-Thing", "b")])
    params = parse_signature('keyId="k",headers="host x-thing",signature="AAAA"')
    with pytest.raises(SignatureError, match="does not verify"):
        verify("GET", "/", headers, params, ALICE_PUBLIC_PEM)
    assert _header(headers, "x-thing") == "a, b"


def test_keys():
    private_pem, public_pem = generate_keypair()
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    key = load_public_key(public_pem)
    assert key.key_size == 2048 and key.public_numbers().e == 65537
    assert load_public_key(ALICE_PUBLIC_PEM) is load_public_key(ALICE_PUBLIC_PEM)
    with pytest.raises(SignatureError):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    ec_pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(SignatureError, match="RSA"):
        load_public_key(ec_pem)
