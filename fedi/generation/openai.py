"""Images from the OpenAI Images API, or any server that speaks it (``POST {base_url}/images/generations``).

The request is the documented JSON body ``{"model", "prompt", "n": 1, "size": "WxH"}``, plus
``"response_format": "b64_json"`` for ``dall-e-2`` and ``dall-e-3`` only: the GPT image models always
answer in base64 and refuse that parameter.  The answer is ``{"created", "data": [{"b64_json" | "url",
"revised_prompt"?}], "usage"?, ...}``; when ``data[0]`` carries a ``url`` instead of ``b64_json`` (a
self-hosted server, or a DALL-E model answering in its default format) the image is downloaded, at
most :data:`MAX_IMAGE_BYTES`.  An error is ``{"error": {"message", "type", "param", "code"}}``.

The base URL is operator configuration, so a server on loopback or a private network is fine here
(there is no SSRF refusal), but only ``http`` and ``https`` are accepted.

Failures become :class:`GenerationError`: 504 when the whole exchange (request and any download)
took longer than ``timeout`` seconds, 502 for everything else -- the server could not be reached,
answered a non-2xx status or an ``error`` object (its ``error.message`` is passed on), sent no
image, or sent bytes Pillow cannot decode.  Messages never contain the API key: it is scrubbed from
anything the server says, as is anything that looks like an OpenAI key (``sk-...``).

``extra_params``: the OpenAI API has no seed or negative prompt, and it rejects unknown parameters,
so by default neither is sent and neither is reported.  With ``extra_params=True`` (for self-hosted
OpenAI-compatible servers that take them) ``seed``, ``negative_prompt``, ``steps``,
``guidance_scale`` and ``sampler`` are sent as extra JSON fields when the request sets them, and
reported in :attr:`GeneratedImage.parameters` (and ``seed``) as used -- the operator vouches that the
server honours them; fedi cannot tell.  Servers differ in what they read: LocalAI, for instance,
documents ``step`` (not ``steps``) and a negative prompt written after a ``|`` in the prompt.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import struct
import zlib
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import yarl
from PIL import Image, UnidentifiedImageError

from fedi.errors import ConfigError
from fedi.generation.base import GeneratedImage, GenerationError, GenerationRequest
from fedi.media import ALLOWED_FORMATS, MAX_PIXELS

__all__ = ["MAX_IMAGE_BYTES", "RESPONSE_FORMAT_MODELS", "OpenAIGenerator"]

log = logging.getLogger(__name__)

#: Models that take ``response_format`` (and answer with a URL without it).
RESPONSE_FORMAT_MODELS = frozenset({"dall-e-2", "dall-e-3"})
#: The largest image accepted, base64-decoded or downloaded.
MAX_IMAGE_BYTES = 20 * 1024 * 1024
#: Room in a JSON answer for everything but the base64 image.
JSON_OVERHEAD_BYTES = 1024 * 1024
#: Of an error answer only this much is read.
MAX_ERROR_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 300
USER_AGENT = "fedi (image generation)"

_KEY_RE = re.compile(r"\bsk-[A-Za-z0-9_\-*.]{2,}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]*"   # RFC 3986 unreserved and reserved characters
_READY_URL_RE = re.compile(f"{_URL_CHARS}(?:%[0-9A-Fa-f]{{2}}{_URL_CHARS})*")  # ... and valid %XX escapes
_DECODE_ERRORS = (
    OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct.error, zlib.error,
    Image.DecompressionBombError, Image.DecompressionBombWarning, UserWarning,
)


class OpenAIGenerator:
    """An OpenAI-compatible images backend.  See the module docstring for what is sent and how errors map."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        timeout: float,
        *,
        extra_params: bool = False,
        quality: str | None = None,
        max_image_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"the OpenAI base URL must be an http:// or https:// URL, not {base_url!r}")
        if not model.strip():
            raise ConfigError("the OpenAI model must not be empty")
        if not timeout > 0:
            raise ConfigError("the generation timeout must be a positive number of seconds")
        self.base_url = base_url.rstrip("/")
        self.endpoint = f"{self.base_url}/images/generations"
        self.model = model
        self.timeout = float(timeout)
        self.extra_params = extra_params
        self.quality = quality
        self.max_image_bytes = max_image_bytes
        self._api_key = api_key
        self._origin = (parts.scheme, parts.hostname, parts.port)

    def __repr__(self) -> str:
        key = "<set>" if self._api_key else "<none>"
        return (f"OpenAIGenerator(base_url={self.base_url!r}, model={self.model!r}, timeout={self.timeout:g}, "
                f"extra_params={self.extra_params}, api_key={key})")

    # ------------------------------------------------------------------ request

    def payload(self, request: GenerationRequest) -> tuple[dict[str, Any], dict[str, str]]:
        """The JSON body for ``request`` and the parameters it commits the backend to."""
        model = request.model or self.model
        body: dict[str, Any] = {"model": model, "prompt": request.prompt, "n": 1, "size": request.size}
        used: dict[str, str] = {}
        if model in RESPONSE_FORMAT_MODELS:
            body["response_format"] = "b64_json"
        if self.quality:
            body["quality"] = self.quality
            used["quality"] = self.quality
        if self.extra_params:
            for name in ("seed", "negative_prompt", "steps", "guidance_scale", "sampler"):
                value = getattr(request, name)
                if value is not None:
                    body[name] = value
                    used[name] = f"{value:g}" if isinstance(value, float) else str(value)
        return body, used

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        body, used = self.payload(request)
        try:
            async with asyncio.timeout(self.timeout):
                async with aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=self.timeout), headers={"User-Agent": USER_AGENT}
                ) as session:
                    answer = await self._post(session, body)
                    image, revised = await self._image(session, answer)
        except TimeoutError:
            log.warning("image generator %s: no answer within %g s", self.endpoint, self.timeout)
            raise GenerationError(f"the image generator did not answer within {self.timeout:g} s", 504) from None
        except (aiohttp.ClientConnectionError, OSError) as exc:
            log.warning("image generator %s: %s", self.endpoint, self._scrub(f"{type(exc).__name__}: {exc}"))
            raise GenerationError("the image generator could not be reached", 502) from None
        except aiohttp.ClientError as exc:  # a broken answer: bad chunking, too many redirects...
            log.warning("image generator %s: %s", self.endpoint, self._scrub(f"{type(exc).__name__}: {exc}"))
            raise GenerationError("the image generator sent a broken answer", 502) from None
        png, width, height = await asyncio.to_thread(_to_png, image, self.max_image_bytes)
        parameters = {"size": f"{width}x{height}", **used}
        for name in ("quality", "background", "output_format"):  # what the API reports it did
            if isinstance(answer.get(name), str) and answer[name]:
                parameters[name] = answer[name]
        model: str = answer["model"] if isinstance(answer.get("model"), str) and answer["model"] else body["model"]
        seed = request.seed if "seed" in used else None
        return GeneratedImage(data=png, model=model, seed=seed, parameters=parameters, revised_prompt=revised)

    # ------------------------------------------------------------------ exchange

    async def _post(self, session: aiohttp.ClientSession, body: dict[str, Any]) -> dict[str, Any]:
        async with session.post(self.endpoint, data=json.dumps(body), headers=self._headers(),
                                allow_redirects=False) as resp:
            if not 200 <= resp.status < 300:
                raw = await _read(resp, MAX_ERROR_BYTES, truncate=True)
                message = self._api_message(raw)
                log.warning("image generator %s answered HTTP %d: %s", self.endpoint, resp.status, message)
                raise GenerationError(self._failure(f"answered HTTP {resp.status}", message), 502)
            raw = await _read(resp, self.max_image_bytes * 4 // 3 + JSON_OVERHEAD_BYTES, truncate=False)
        try:
            answer = await asyncio.to_thread(json.loads, raw) if len(raw) > 65536 else json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise GenerationError("the image generator sent an answer that is not JSON", 502) from None
        if not isinstance(answer, dict):
            raise GenerationError("the image generator sent an answer that is not a JSON object", 502)
        if answer.get("error"):
            message = self._api_message(raw)
            raise GenerationError(self._failure("reported an error", message), 502)
        return answer

    async def _image(self, session: aiohttp.ClientSession, answer: dict[str, Any]) -> tuple[bytes | str, str | None]:
        """The image (bytes, or a base64 string to be decoded in a worker thread) and the revised prompt."""
        data = answer.get("data")
        item = data[0] if isinstance(data, list) and data else None
        if not isinstance(item, dict):
            raise GenerationError("the image generator sent no image", 502)
        revised = item.get("revised_prompt")
        revised = revised if isinstance(revised, str) and revised.strip() else None
        b64 = item.get("b64_json")
        if isinstance(b64, str) and b64:
            if b64.startswith("data:") and "," in b64:   # a data: URL, from some compatible servers
                b64 = b64.split(",", 1)[1]
            return b64, revised
        url = item.get("url")
        if isinstance(url, str) and url:
            return await self._download(session, url), revised
        raise GenerationError("the image generator sent no image", 502)

    async def _download(self, session: aiohttp.ClientSession, url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise GenerationError("the image generator sent an image URL that is not http or https", 502)
        # The key goes only back to the API's own origin, never to a storage host it points at.
        same_origin = (parts.scheme, parts.hostname, parts.port) == self._origin
        headers = {"Authorization": f"Bearer {self._api_key}"} if same_origin and self._api_key else {}
        # Sent exactly as given when it is already a valid URL: signed URLs must keep their encoding.
        target = yarl.URL(url, encoded=True) if _READY_URL_RE.fullmatch(url) else yarl.URL(url)
        async with session.get(target, headers=headers, max_redirects=5) as resp:
            if resp.status != 200:
                log.warning("image generator: downloading %s answered HTTP %d", parts.hostname, resp.status)
                raise GenerationError(f"downloading the generated image failed with HTTP {resp.status}", 502)
            return await _read(resp, self.max_image_bytes, truncate=False)

    # ------------------------------------------------------------------ messages

    def _scrub(self, text: str) -> str:
        if self._api_key and len(self._api_key) >= 4:
            text = text.replace(self._api_key, "[redacted]")
        text = _KEY_RE.sub("sk-[redacted]", text)
        text = " ".join(_CONTROL_RE.sub(" ", text).split())
        return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "\u2026"

    def _api_message(self, raw: bytes) -> str:
        """``error.message`` of an OpenAI error body (or the usual variants of other servers), scrubbed."""
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return ""
        message: object = None
        if isinstance(doc, dict):
            error = doc.get("error")
            if isinstance(error, dict):
                message = error.get("message")
            elif isinstance(error, str):
                message = error
            if not message:
                message = doc.get("message") or doc.get("detail")
        return self._scrub(message) if isinstance(message, str) else ""

    @staticmethod
    def _failure(what: str, message: str) -> str:
        return f"the image generator {what}: {message}" if message else f"the image generator {what}"


def _amount(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"


async def _read(resp: aiohttp.ClientResponse, limit: int, *, truncate: bool) -> bytes:
    if not truncate and resp.content_length is not None and resp.content_length > limit:
        raise GenerationError(f"the image generator sent more than {_amount(limit)}", 502)
    buf = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        buf += chunk
        if len(buf) > limit:
            if truncate:
                return bytes(buf[:limit])
            raise GenerationError(f"the image generator sent more than {_amount(limit)}", 502)
    return bytes(buf)


def _b64decode(text: str) -> bytes:
    """Strict base64, but line breaks (some servers wrap at 76 characters) are allowed."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return base64.b64decode("".join(text.split()), validate=True)


def _to_png(image: bytes | str, max_bytes: int) -> tuple[bytes, int, int]:
    """Check that ``image`` (bytes, or base64 text) is a whole, decodable image; PNG bytes (as sent, or
    re-encoded) and the size."""
    if isinstance(image, str):
        try:
            raw = _b64decode(image)
        except (binascii.Error, ValueError):
            raise GenerationError("the image generator sent an image that is not valid base64", 502) from None
    else:
        raw = image
    if len(raw) > max_bytes:
        raise GenerationError(f"the generated image is larger than {_amount(max_bytes)}", 502)
    not_an_image = GenerationError("the image generator sent something that is not an image", 502)
    try:
        with Image.open(BytesIO(raw), formats=sorted(ALLOWED_FORMATS)) as im:
            width, height = im.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise GenerationError(f"the generated image has an unusable size ({width}x{height})", 502)
            fmt = im.format
            im.load()  # decodes everything: a truncated or corrupt file fails here
            if fmt == "PNG" and not getattr(im, "is_animated", False):
                return raw, width, height
            frame = im if im.mode in ("RGB", "RGBA", "L", "LA") else im.convert(
                "RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB")
            out = BytesIO()
            frame.save(out, "PNG", compress_level=3)
            return out.getvalue(), width, height
    except GenerationError:
        raise
    except UnidentifiedImageError:
        raise not_an_image from None
    except _DECODE_ERRORS:
        raise not_an_image from None
