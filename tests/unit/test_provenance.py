"""fedi.provenance: Content Credentials (C2PA) read from uploaded image bytes.

The signed images are made here: Pillow draws them and c2pa-python signs them with the
public ES256 test credentials in tests/fixtures/c2pa/ (see its README), all offline.
"""

from __future__ import annotations

import dataclasses
import http.server
import io
import random
import statistics
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, features

from fedi import provenance
from fedi.provenance import (
    AI_SOURCE_TYPES,
    INVALID,
    IPTC_DIGITAL_SOURCE_TYPE,
    NONE,
    VERIFIED,
    Provenance,
    read_provenance,
    validate_trust_anchors,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "c2pa"
TRAINED = IPTC_DIGITAL_SOURCE_TYPE + "trainedAlgorithmicMedia"
MANIFEST = {
    "claim_generator_info": [{"name": "fedi-tests", "version": "1.0"}],
    "title": "fedi test image",
    "assertions": [
        {
            "label": "c2pa.actions",
            "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TRAINED}]},
        }
    ],
}

needs_c2pa = pytest.mark.skipif(not provenance.PROVENANCE_AVAILABLE, reason="c2pa-python is not installed")


# ----------------------------------------------------------------------------------------
# helpers


def picture(size: tuple[int, int] = (96, 64)) -> Image.Image:
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    w, h = size
    ImageDraw.Draw(im).ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill="orange")
    return im


def encode(im: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


def signer():
    import c2pa

    info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256,
        (FIXTURES / "es256_certs.pem").read_bytes(),
        (FIXTURES / "es256_private.key").read_bytes(),
        None,  # no time-stamp authority: nothing leaves the machine
    )
    return c2pa.Signer.from_info(info)


def sign(src: bytes, mime: str, manifest: dict = MANIFEST, remote_url: str | None = None) -> bytes:
    import c2pa

    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        if remote_url:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        builder.sign(signer(), mime, io.BytesIO(src), out)
    return out.getvalue()


def png_chunks(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        yield pos, data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def repaint_png_pixel(data: bytes) -> bytes:
    """A well-formed PNG whose first pixel differs, with every other chunk (the manifest too) kept."""
    (pos, kind, body), *_ = [c for c in png_chunks(data) if c[1] == b"IDAT"]
    raw = bytearray(zlib.decompress(body))
    raw[1] ^= 0xFF  # first scanline: filter byte, then the red of pixel (0, 0)
    return data[:pos] + png_chunk(kind, zlib.compress(bytes(raw))) + data[pos + 12 + len(body) :]


def flip_jpeg_scan_byte(data: bytes) -> bytes:
    """Change one byte of the main image's entropy-coded data (after the last SOS marker)."""
    sos = data.rfind(b"\xff\xda")
    (header_len,) = struct.unpack(">H", data[sos + 2 : sos + 4])
    start = sos + 2 + header_len
    for i in range(start + (len(data) - start) // 2, len(data) - 2):
        if data[i - 1] != 0xFF and data[i] not in (0x00, 0xFF) and data[i + 1] != 0xFF:
            return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
    raise AssertionError("no byte to change")


def intermediate_ca() -> str:
    pem = (FIXTURES / "es256_certs.pem").read_text()
    end = "-----END CERTIFICATE-----"
    return pem.split(end)[1].strip() + "\n" + end + "\n"


FORMATS = [
    pytest.param("PNG", "image/png", id="png"),
    pytest.param("JPEG", "image/jpeg", id="jpeg"),
    pytest.param("WEBP", "image/webp", id="webp"),
    pytest.param(
        "AVIF", "image/avif", id="avif", marks=pytest.mark.skipif(not features.check("avif"), reason="no AVIF")
    ),
]


@pytest.fixture(scope="module")
def signed_png() -> bytes:
    if not provenance.PROVENANCE_AVAILABLE:
        pytest.skip("c2pa-python is not installed")
    return sign(encode(picture(), "PNG"), "image/png")


# ----------------------------------------------------------------------------------------
# no manifest


@pytest.mark.parametrize("fmt, mime", FORMATS)
def test_image_without_manifest_is_none(fmt: str, mime: str) -> None:
    assert read_provenance(encode(picture(), fmt), mime) == Provenance(NONE)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, world",
        random.Random(0).randbytes(4096),
        b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(500),
        b"\xff\xd8\xff\xe0" + random.Random(2).randbytes(500),
        b"RIFF\xff\xff\xff\xffWEBPVP8 ",
        b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40,
        encode(picture(), "PNG")[:100],
    ],
    ids=["empty", "text", "random", "png-header", "jpeg-header", "webp-header", "heic-header", "truncated"],
)
@pytest.mark.parametrize("mime", ["image/png", "image/jpeg", "application/octet-stream", ""])
def test_garbage_is_none_and_never_raises(data: bytes, mime: str) -> None:
    assert read_provenance(data, mime).status == NONE


def test_library_missing_reads_none(monkeypatch: pytest.MonkeyPatch, signed_png: bytes) -> None:
    monkeypatch.setattr(provenance, "PROVENANCE_AVAILABLE", False)
    assert read_provenance(signed_png, "image/png") == Provenance(NONE)


# ----------------------------------------------------------------------------------------
# signed


@needs_c2pa
@pytest.mark.parametrize("fmt, mime", FORMATS)
def test_signed_image_is_verified(fmt: str, mime: str) -> None:
    data = sign(encode(picture(), fmt), mime)
    result = read_provenance(data, mime)
    assert result == Provenance(
        status=VERIFIED,
        claim_generator="fedi-tests/1.0",
        digital_source_type=TRAINED,
        issuer="C2PA Test Signing Cert",
        title="fedi test image",
        errors=("signingCredential.untrusted",),  # the test root CA is on no trust list
        trusted=False,
    )
    assert result.is_ai_generated
    assert Image.open(io.BytesIO(data)).size == (96, 64)  # still an ordinary image


@needs_c2pa
def test_signed_heic_is_verified() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    out = io.BytesIO()
    pillow_heif.from_pillow(picture()).save(out, quality=80)
    result = read_provenance(sign(out.getvalue(), "image/heic"), "image/heic")
    assert (result.status, result.digital_source_type) == (VERIFIED, TRAINED)


@pytest.mark.parametrize("mime", ["application/octet-stream", "", "image/jpeg", "IMAGE/PNG; charset=binary", "x/y"])
def test_content_type_is_only_a_hint(signed_png: bytes, mime: str) -> None:
    assert read_provenance(signed_png, mime).status == VERIFIED


def test_accepts_any_bytes_like(signed_png: bytes) -> None:
    assert read_provenance(bytearray(signed_png), "image/png").status == VERIFIED
    assert read_provenance(memoryview(signed_png), "image/png").status == VERIFIED


def test_trusted_with_the_signers_ca_as_anchor(signed_png: bytes) -> None:
    anchors = intermediate_ca()
    validate_trust_anchors(anchors)
    result = read_provenance(signed_png, "image/png", trust_anchors=anchors)
    assert (result.status, result.trusted, result.errors) == (VERIFIED, True, ())
    # the anchors apply to that call only
    assert read_provenance(signed_png, "image/png").trusted is False


@needs_c2pa
def test_unusable_trust_anchors_are_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        validate_trust_anchors("not a certificate")
    with pytest.raises(ValueError):
        read_provenance(encode(picture(), "PNG"), "image/png", trust_anchors="not a certificate")


@needs_c2pa
def test_other_source_types_and_generators() -> None:
    manifest = {
        "claim_generator_info": [{"name": "Camera App"}],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": IPTC_DIGITAL_SOURCE_TYPE + "digitalCapture",
                        }
                    ]
                },
            }
        ],
    }
    result = read_provenance(sign(encode(picture(), "JPEG"), "image/jpeg", manifest), "image/jpeg")
    assert result.status == VERIFIED
    assert result.claim_generator == "Camera App"
    assert result.digital_source_type == IPTC_DIGITAL_SOURCE_TYPE + "digitalCapture"
    assert result.title is None
    assert not result.is_ai_generated


# ----------------------------------------------------------------------------------------
# altered after signing


def test_repainted_png_is_invalid(signed_png: bytes) -> None:
    tampered = repaint_png_pixel(signed_png)
    assert Image.open(io.BytesIO(tampered)).getpixel((0, 0)) != Image.open(io.BytesIO(signed_png)).getpixel((0, 0))
    result = read_provenance(tampered, "image/png")
    assert result.status == INVALID
    assert "assertion.dataHash.mismatch" in result.errors
    # what the (now unreliable) manifest claims is still reported
    assert (result.claim_generator, result.digital_source_type) == ("fedi-tests/1.0", TRAINED)
    assert result.trusted is False


@needs_c2pa
def test_altered_jpeg_is_invalid() -> None:
    signed = sign(encode(picture(), "JPEG"), "image/jpeg")
    result = read_provenance(flip_jpeg_scan_byte(signed), "image/jpeg")
    assert result.status == INVALID
    assert "assertion.dataHash.mismatch" in result.errors


def test_corrupt_manifest_is_invalid(signed_png: bytes) -> None:
    pos, kind, body = next(c for c in png_chunks(signed_png) if c[1] == b"caBX")
    garbled = bytes(b ^ 0x55 for b in body[200:400])
    damaged = signed_png[: pos + 8 + 200] + garbled + signed_png[pos + 8 + 400 :]
    result = read_provenance(damaged, "image/png")
    assert result.status == INVALID
    assert result.errors and len(result.errors[0]) <= 200


def test_truncated_signed_image_is_invalid(signed_png: bytes) -> None:
    result = read_provenance(signed_png[: len(signed_png) - 40], "image/png")
    assert result.status == INVALID
    assert result.errors


# ----------------------------------------------------------------------------------------
# no network


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


@needs_c2pa
def test_remote_manifest_is_never_fetched() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/manifest.c2pa"
        data = sign(encode(picture(), "JPEG"), "image/jpeg", remote_url=url)
        result = read_provenance(data, "image/jpeg")
    finally:
        server.shutdown()
        server.server_close()
    assert result == Provenance(NONE, errors=("remote manifest not fetched",))
    assert _Recorder.hits == []


# ----------------------------------------------------------------------------------------
# reading the manifest JSON (shapes the signing above does not produce)


def test_source_type_rules() -> None:
    def actions(*entries: dict, label: str = "c2pa.actions.v2") -> dict:
        return {"label": label, "data": {"actions": list(entries)}}

    def created_as(source_type: str) -> dict:
        return actions({"action": "c2pa.created", "digitalSourceType": source_type})

    composite = IPTC_DIGITAL_SOURCE_TYPE + "compositeWithTrainedAlgorithmicMedia"
    capture = IPTC_DIGITAL_SOURCE_TYPE + "digitalCapture"
    edited = {"action": "c2pa.edited", "digitalSourceType": composite}
    created = {"action": "c2pa.created", "digitalSourceType": capture}
    iptc = {"label": "stds.iptc", "data": {"Iptc4xmpExt:DigitalSourceType": TRAINED}}
    rule = provenance._source_type
    assert rule([actions(edited, created)]) == capture  # c2pa.created wins
    assert rule([actions({"action": "c2pa.opened"}, edited)]) == composite
    assert rule([iptc, actions({"action": "c2pa.opened"})]) == TRAINED
    assert rule([actions(edited, label="c2pa.actions__1")]) == composite
    assert rule([actions({"action": "c2pa.created", "parameters": {"digitalSourceType": TRAINED}})]) == TRAINED
    assert rule([created_as("trainedAlgorithmicMedia")]) == TRAINED
    assert rule([created_as(TRAINED.replace("http://", "https://"))]) == TRAINED
    assert rule([created_as("http://c2pa.org/digitalsourcetype/empty")]) is None
    assert rule([actions({"action": "c2pa.created"}), {"label": "x", "data": None}, "junk"]) is None
    assert rule([]) is None


def test_store_json_rules() -> None:
    def store(manifest: dict, state: str | None, *failures: str) -> dict:
        out = {
            "active_manifest": "m",
            "manifests": {"m": manifest},
            "validation_status": [{"code": c} for c in failures],
        }
        if state:
            out["validation_state"] = state
        return out

    v1 = {"claim_generator": "OpenAI-API c2pa-rs/0.31.0", "signature_info": {"issuer": "OpenAI"}, "title": "a\x00b\n"}
    result = provenance._from_store(store(v1, "Valid", "signingCredential.untrusted"))
    assert result == Provenance(
        VERIFIED, "OpenAI-API c2pa-rs/0.31.0", None, "OpenAI", "a b", ("signingCredential.untrusted",), False
    )
    # without validation_state (older libraries) the codes decide
    assert provenance._from_store(store(v1, None, "signingCredential.untrusted")).status == VERIFIED
    assert provenance._from_store(store(v1, None)).trusted is True
    assert provenance._from_store(store(v1, None, "claimSignature.mismatch")).status == INVALID
    assert provenance._from_store({"manifests": {}}).status == INVALID
    long = provenance._from_store(store({"claim_generator_info": [{"name": "x" * 500, "version": "1"}]}, "Valid"))
    assert long.claim_generator == "x" * 200


def test_ai_source_types() -> None:
    assert TRAINED in AI_SOURCE_TYPES
    assert IPTC_DIGITAL_SOURCE_TYPE + "digitalCapture" not in AI_SOURCE_TYPES
    assert Provenance(NONE).is_ai_generated is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        Provenance(NONE).status = VERIFIED  # type: ignore[misc]


# ----------------------------------------------------------------------------------------
# speed (reported, not asserted)


def _median_ms(fn, runs: int = 15) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@needs_c2pa
def test_report_timing(capsys: pytest.CaptureFixture[str]) -> None:
    big = Image.effect_noise((1024, 1024), 64).convert("RGB")
    plain_png = encode(big, "PNG")
    plain_jpeg = encode(big, "JPEG")
    signed = sign(plain_png, "image/png")
    figures = {
        f"1024x1024 PNG without manifest ({len(plain_png) // 1024} KiB)": _median_ms(
            lambda: read_provenance(plain_png, "image/png")
        ),
        f"1024x1024 JPEG without manifest ({len(plain_jpeg) // 1024} KiB)": _median_ms(
            lambda: read_provenance(plain_jpeg, "image/jpeg")
        ),
        "1024x1024 PNG signed (verify)": _median_ms(lambda: read_provenance(signed, "image/png")),
    }
    assert read_provenance(signed, "image/png").status == VERIFIED
    with capsys.disabled():
        for name, ms in figures.items():
            print(f"\n[provenance timing] {name}: {ms:.2f} ms (median)", end="")
        print()
