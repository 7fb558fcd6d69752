"""Content Credentials: read and check the C2PA manifest embedded in an uploaded image.

:func:`read_provenance` is pure, synchronous and quick (the C2PA library walks the
container's boxes/chunks instead of scanning the bytes: well under a millisecond for a
1024x1024 PNG without a manifest, a few milliseconds for a signed one); call it on the
*original* upload bytes, before :mod:`fedi.media` re-encodes the image (re-encoding drops
the manifest).  It never raises for absent, broken or forged manifests.

The three outcomes, shown as "Content Credentials: verified / invalid / none":

``"none"``
    No manifest in the bytes (or the bytes are not an image c2pa can parse, or the
    image only *points to* a remote manifest, which is never fetched: see below).
``"verified"``
    A manifest is present and its integrity checks passed: the claim signature is
    valid and every hash (the asset's own bytes, each assertion) matches.  This is the
    library's ``validation_state`` ``"Valid"`` or ``"Trusted"``.
``"invalid"``
    A manifest is present but fails validation: the image was altered after signing
    (``assertion.dataHash.mismatch``), the signature does not verify, the certificate
    has expired or was revoked, or the manifest itself is corrupt or truncated.

Trust: a signature can be cryptographically sound yet made with a certificate that no
one vouches for (anyone can mint one).  c2pa then reports ``signingCredential.untrusted``
but still calls the manifest ``Valid``.  We report such a manifest as ``"verified"`` with
``trusted=False`` and ``"signingCredential.untrusted"`` in ``errors``; ``trusted`` is True
only when the signing chain ends at a trust anchor, which requires the caller to pass
``trust_anchors`` (a PEM bundle, e.g. the C2PA trust list an operator downloads: nothing
is fetched here).  Without anchors nothing is ever ``trusted``.

No network: remote manifests (``remote_manifest_fetch``) and OCSP revocation look-ups
(``ocsp_fetch``) are switched off, since fetching a URL named by an uploaded file would
let any uploader make the server issue requests.  Time-stamps embedded in a manifest are
checked offline.

If c2pa-python cannot be imported (:data:`PROVENANCE_AVAILABLE` is False) every image
reads as ``"none"``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

try:  # pragma: no cover - exercised by whichever environment runs the tests
    import c2pa as _c2pa
except Exception:  # ImportError, or OSError when the bundled native library will not load
    _c2pa = None

__all__ = [
    "AI_SOURCE_TYPES",
    "INVALID",
    "IPTC_DIGITAL_SOURCE_TYPE",
    "NONE",
    "PROVENANCE_AVAILABLE",
    "VERIFIED",
    "Provenance",
    "read_provenance",
    "validate_trust_anchors",
]

log = logging.getLogger(__name__)

PROVENANCE_AVAILABLE: bool = _c2pa is not None

VERIFIED = "verified"
INVALID = "invalid"
NONE = "none"

IPTC_DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
#: Source types that mean "made (wholly or partly) by generative AI" in the IPTC vocabulary.
AI_SOURCE_TYPES = frozenset(
    IPTC_DIGITAL_SOURCE_TYPE + term for term in ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
)

# Validation codes that do not make a manifest invalid (used only when the library gives
# no ``validation_state`` of its own).
_NOT_FAILURES = frozenset({"signingCredential.untrusted", "signingCredential.ocsp.skipped"})
_ACTIONS_LABELS = frozenset({"c2pa.actions", "c2pa.actions.v2"})
_IPTC_LABELS = frozenset({"stds.iptc", "stds.iptc.photo-metadata"})
_MAX_TEXT = 200
_MAX_ERRORS = 10
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True)
class Provenance:
    """What the Content Credentials of one image say; every string is at most 200 characters."""

    status: str  # VERIFIED | INVALID | NONE
    claim_generator: str | None = None  # the software that signed, e.g. "fedi-tests/1.0" or "ChatGPT"
    digital_source_type: str | None = None  # full IPTC IRI, e.g. IPTC_DIGITAL_SOURCE_TYPE + "trainedAlgorithmicMedia"
    issuer: str | None = None  # organisation of the signing certificate, as c2pa reports it ("issuer")
    title: str | None = None
    errors: tuple[str, ...] = ()  # validation failure codes (or a short message); see module doc
    trusted: bool = False  # the signing certificate chains to one of the given trust anchors

    @property
    def is_ai_generated(self) -> bool:
        """The manifest declares the image (wholly or partly) made by generative AI."""
        return self.digital_source_type in AI_SOURCE_TYPES


_NO_MANIFEST = Provenance(NONE)


def read_provenance(data: bytes, content_type: str, *, trust_anchors: str | None = None) -> Provenance:
    """Read and validate the C2PA manifest embedded in ``data``.

    ``content_type`` is a hint (the library detects the container from the bytes and
    prefers what it finds); an unknown or empty one is fine.  ``trust_anchors`` is an
    optional PEM bundle of root certificates to trust; an unparsable bundle raises
    :class:`ValueError` (a configuration error: check it at start-up with
    :func:`validate_trust_anchors`).  Nothing else raises.
    """
    if not PROVENANCE_AVAILABLE or not data:
        return _NO_MANIFEST
    context = _context(trust_anchors)
    try:
        return _read(bytes(data), _format(content_type), context)
    except Exception:  # a bug of ours or the library's must not fail an upload
        log.warning("reading Content Credentials failed", exc_info=True)
        return Provenance(NONE, errors=("provenance check failed",))


def validate_trust_anchors(pem: str) -> None:
    """Raise :class:`ValueError` unless c2pa accepts ``pem`` as a bundle of trust anchors."""
    if not PROVENANCE_AVAILABLE:
        return
    _context(pem)


# ----------------------------------------------------------------------------------------
# the library


def _read(data: bytes, fmt: str | None, context: Any) -> Provenance:
    try:
        reader = _c2pa.Reader.try_create(fmt, io.BytesIO(data), None, context)
        if reader is None:
            return _NO_MANIFEST
        with reader:
            store = json.loads(reader.json())
    except _c2pa.C2paError as exc:
        return _from_error(str(exc), data)
    return _from_store(store)


def _from_error(message: str, data: bytes) -> Provenance:
    kind = message.split(":", 1)[0].strip()
    if kind == "Remote":  # only a reference to a manifest elsewhere; we do not fetch it
        return Provenance(NONE, errors=("remote manifest not fetched",))
    if kind in ("NotSupported", "Io", "FileNotFound") or not _has_manifest_store(data):
        return _NO_MANIFEST  # not an asset c2pa can read, or nothing that looks like a manifest
    # A manifest store is there but cannot be read: corrupt or truncated after signing.
    return Provenance(INVALID, errors=(_text(message) or "unreadable manifest",))


def _has_manifest_store(data: bytes) -> bool:
    """A cheap sign of an embedded C2PA manifest store (a JUMBF box labelled "c2pa")."""
    return b"jumb" in data and b"c2pa" in data


_supported: frozenset[str] | None = None


def _format(content_type: str) -> str | None:
    """The MIME type to pass to c2pa, or None to let it detect the container."""
    global _supported
    if _supported is None:
        try:
            _supported = frozenset(m.lower() for m in _c2pa.Reader.get_supported_mime_types())
        except Exception:
            _supported = frozenset()
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return mime if mime in _supported else None


_contexts: dict[tuple[int, str | None], Any] = {}
_contexts_lock = threading.Lock()


def _context(trust_anchors: str | None) -> Any:
    """A c2pa Context (thread-safe, reused) with network access off and the given anchors."""
    key = (os.getpid(), trust_anchors or None)  # native handles do not survive a fork
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            settings: dict[str, Any] = {
                "verify": {
                    "verify_after_reading": True,
                    "verify_trust": True,
                    "remote_manifest_fetch": False,
                    "ocsp_fetch": False,
                },
            }
            if trust_anchors:
                settings["trust"] = {"user_anchors": trust_anchors}
            try:
                context = _c2pa.Context.from_dict(settings)
            except _c2pa.C2paError as exc:
                raise ValueError(f"c2pa refused the settings (trust anchors?): {exc}") from exc
            if len(_contexts) >= 8:
                _contexts.clear()
            _contexts[key] = context
        return context


# ----------------------------------------------------------------------------------------
# the manifest store JSON (c2pa's Reader.json())


def _from_store(store: dict[str, Any]) -> Provenance:
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest")) or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    codes = _codes(store.get("validation_status"), results.get("failure"))
    state = store.get("validation_state")
    if state not in ("Invalid", "Valid", "Trusted"):  # older libraries: judge by the codes
        if any(code not in _NOT_FAILURES for code in codes):
            state = "Invalid"
        else:
            state = "Valid" if "signingCredential.untrusted" in codes else "Trusted"
    signature = active.get("signature_info") or {}
    return Provenance(
        status=INVALID if state == "Invalid" or not active else VERIFIED,
        claim_generator=_claim_generator(active),
        digital_source_type=_source_type(active.get("assertions") or []),
        issuer=_text(signature.get("issuer")) if isinstance(signature, dict) else None,
        title=_text(active.get("title")),
        errors=codes[:_MAX_ERRORS] if active else ("no active manifest",),
        trusted=state == "Trusted",
    )


def _codes(*lists: Any) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for entries in lists:
        for entry in entries if isinstance(entries, list) else ():
            code = _text(entry.get("code")) if isinstance(entry, dict) else None
            if code:
                seen.setdefault(code, None)
    return tuple(seen)


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    """``name/version`` of the first claim_generator_info (claims v2), else the v1 string."""
    info = manifest.get("claim_generator_info")
    first = info[0] if isinstance(info, list) and info else info
    if isinstance(first, dict):
        name, version = _text(first.get("name")), _text(first.get("version"))
        if name:
            return _text(f"{name}/{version}" if version else name)
    return _text(manifest.get("claim_generator"))


def _source_type(assertions: Iterable[Any]) -> str | None:
    """The digitalSourceType of the ``c2pa.created`` action, else of the first action
    naming one, else the IPTC photo-metadata assertion's; "unknown" (c2pa's ``empty``)
    counts as none."""
    created: list[str] = []
    others: list[str] = []
    iptc: list[str] = []
    for assertion in assertions:
        if not isinstance(assertion, dict) or not isinstance(assertion.get("data"), dict):
            continue
        label = str(assertion.get("label", "")).split("__", 1)[0]
        data = assertion["data"]
        if label in _ACTIONS_LABELS:
            for action in data.get("actions") or ():
                if not isinstance(action, dict):
                    continue
                params = action.get("parameters")
                value = _iri(action.get("digitalSourceType")) or (
                    _iri(params.get("digitalSourceType")) if isinstance(params, dict) else None
                )
                if value:
                    (created if action.get("action") == "c2pa.created" else others).append(value)
        elif label in _IPTC_LABELS:
            value = _iri(data.get("Iptc4xmpExt:DigitalSourceType"))
            if value:
                iptc.append(value)
    for found in (created, others, iptc):
        if found:
            return found[0]
    return None


def _iri(value: Any) -> str | None:
    """A digital source type as its full IRI (IPTC's spelled with http://, as IPTC does)."""
    text = _text(value)
    if not text:
        return None
    if text.startswith("https://cv.iptc.org/"):
        text = "http://" + text[len("https://") :]
    elif re.fullmatch(r"[A-Za-z]+", text):  # a bare IPTC term
        text = IPTC_DIGITAL_SOURCE_TYPE + text
    if text.rstrip("/").rsplit("/", 1)[-1] == "empty":  # c2pa's "source type not stated"
        return None
    return text


def _text(value: Any) -> str | None:
    """A short printable string, or None (manifests are untrusted input)."""
    if not isinstance(value, str):
        return None
    text = _CONTROL.sub(" ", value).strip()
    return text[:_MAX_TEXT] or None
