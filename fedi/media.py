"""The image pipeline: check, decode, clean and re-encode an uploaded image.

Everything here is pure, synchronous CPU and file work; the caller runs
:func:`process_image` in a worker thread.  Nothing in this module changes
process-wide Pillow or ``warnings`` state, so several uploads can be processed
at once.

What :func:`process_image` does, in order:

1. refuses more than ``max_bytes`` before looking at the data;
2. identifies the format from the bytes (only the plugins for
   :data:`ALLOWED_FORMATS` are tried; a file name is never consulted);
3. reads the dimensions from the header and refuses more than ``max_pixels``
   (and, for animations, more than ``ANIMATION_PIXEL_FACTOR * max_pixels`` in
   all frames together) *before* decoding any pixel data;
4. decodes everything, so a truncated or corrupt file is refused;
5. downscales (never upscales, never crops) to at most
   :data:`DISPLAY_MAX_EDGE` on the long edge, applies the EXIF orientation,
   converts to sRGB-compatible RGB/RGBA keeping an RGB ICC profile, and
   encodes WebP without EXIF or XMP (so no GPS, no camera serials);
   animations stay animated;
6. makes a still WebP thumbnail (long edge at most :data:`THUMB_MAX_EDGE`)
   from the display version and a blurhash from a tiny version of that;
7. writes the display version and the thumbnail to ``media_dir`` and the
   original bytes to ``media_dir/../originals`` (never served) atomically,
   named only by the SHA-256 of their content, so
   identical uploads share files.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, cast

from PIL import Image, ImageCms, UnidentifiedImageError, features

from fedi.errors import TooLarge, Unprocessable

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_BYTES",
    "MAX_PIXELS",
    "MediaError",
    "MediaTooLargeError",
    "StoredImage",
    "focal_point",
    "process_image",
]


class MediaError(Unprocessable):
    """An upload that is not an acceptable image (422); the message is safe to show."""


class MediaTooLargeError(MediaError, TooLarge):
    """An upload with too many bytes (413).  Still a :class:`MediaError`, so one
    ``except MediaError`` covers everything the pipeline refuses."""

    status = 413


MAX_BYTES = 16 * 1024 * 1024
MAX_PIXELS = 33_177_600  # 7680 x 4320
#: An animation may have at most this many times ``max_pixels`` in all its frames.
ANIMATION_PIXEL_FACTOR = 4
MAX_FRAMES = 1000

DISPLAY_MAX_EDGE = 2560
THUMB_MAX_EDGE = 640
BLURHASH_EDGE = 64
WEBP_QUALITY = 85
#: libwebp effort, 0 (fastest) .. 6 (smallest).  Encoding 1024x1024 at quality 85 here:
#: method 4 (Pillow's default) ~85-100 ms, method 2 ~40-50 ms for ~4% more bytes on smooth
#: content, same PSNR; method 0 ~25-30 ms but ~16% more bytes.  See bench_media.py.
WEBP_METHOD = 2

def _heif_available() -> bool:
    """HEIC/HEIF (phones' default) through pillow-heif, when it is installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


ALLOWED_FORMATS: frozenset[str] = frozenset(
    {"JPEG", "PNG", "WEBP", "GIF"}
    | ({"AVIF"} if features.check("avif") else set())
    | ({"HEIF"} if _heif_available() else set())
)
_FORMAT_NAMES = ", ".join(
    name for name in ("JPEG", "PNG", "WebP", "GIF", "AVIF", "HEIF") if name.upper() in ALLOWED_FORMATS
)
_EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "AVIF": ".avif",
               "HEIF": ".heic"}
# Formats whose extra frames are an animation.  (MPO, the multi-picture JPEG many phones
# write, is opened by the JPEG plugin: its extra frames are previews or a stereo pair.)
_ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG", "AVIF"})

# EXIF Orientation -> the transpose that undoes it (as ImageOps.exif_transpose does it).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION_TAG = 0x0112

# What a malformed file can make Pillow's decoders raise (besides OSError and friends).
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,  # raised, not just emitted, when warnings are errors
    UserWarning,  # likewise Pillow's warnings about malformed data
)


@dataclass(frozen=True)
class StoredImage:
    file_name: str  # display version, f"{digest}.webp"
    thumb_name: str  # still WebP thumbnail, f"{sha256 of its bytes}.webp"
    content_type: str  # of the display version
    width: int  # of the display version
    height: int
    size: int  # bytes of the display version
    digest: str  # sha256 hex of the display version
    blurhash: str
    # The upload exactly as received (metadata and all), named by its sha256 and real
    # extension.  None is reserved for "not kept"; process_image always keeps it for now.
    original_name: str | None


def process_image(
    data: bytes, media_dir: Path, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> StoredImage:
    """Check, clean and store one uploaded image; raise :class:`MediaError` if it is refused."""
    if len(data) > max_bytes:
        raise MediaTooLargeError(f"file too large: {_mib(len(data), up=True)}, at most {_mib(max_bytes)}")
    if not data:
        raise MediaError(f"not an image (accepted: {_FORMAT_NAMES})")

    rendered = _render(data, max_pixels)
    display_bytes, thumb = rendered.display, rendered.thumb

    media_dir = Path(media_dir)
    media_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(display_bytes).hexdigest()
    file_name = _store(media_dir, f"{digest}.webp", display_bytes)
    if thumb is display_bytes:
        thumb_name = file_name
    else:
        thumb_name = _store(media_dir, f"{hashlib.sha256(thumb).hexdigest()}.webp", thumb)
    # The original may carry GPS and other personal EXIF: it is kept beside, never under, the
    # served media folder (issue 3 will strip it and serve it on request).
    originals = media_dir.parent / "originals"
    originals.mkdir(parents=True, exist_ok=True)
    original_name = _store(
        originals, f"{hashlib.sha256(data).hexdigest()}{_EXTENSIONS[rendered.source_format]}", data
    )
    return StoredImage(
        file_name=file_name,
        thumb_name=thumb_name,
        content_type="image/webp",
        width=rendered.width,
        height=rendered.height,
        size=len(display_bytes),
        digest=digest,
        blurhash=rendered.blurhash,
        original_name=original_name,
    )


def focal_point(value: str | None) -> tuple[float, float]:
    """Parse a Mastodon focus ``"x,y"`` (each in [-1, 1]); None or "" is the centre."""
    if value is None:
        return (0.0, 0.0)
    problem = MediaError('focus must be two numbers from -1.0 to 1.0 separated by a comma, like "0.0,0.0"')
    if not isinstance(value, str):
        raise problem
    if not value.strip():
        return (0.0, 0.0)
    parts = value.split(",")
    if len(parts) != 2:
        raise problem
    try:
        x, y = (float(part) for part in parts)
    except ValueError:
        raise problem from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):  # also refuses nan
        raise problem
    return (x + 0.0, y + 0.0)  # + 0.0 turns -0.0 into 0.0


# ----------------------------------------------------------------------------------------
# Decoding and rendering


@dataclass(frozen=True)
class _Rendered:
    display: bytes  # WebP
    width: int
    height: int
    thumb: bytes  # WebP; the same object as display when the display version is small and still
    blurhash: str
    source_format: str  # what the upload was: "JPEG", "PNG", ...


def _render(data: bytes, max_pixels: int) -> _Rendered:
    try:
        im = Image.open(BytesIO(data), formats=sorted(ALLOWED_FORMATS))
    except UnidentifiedImageError:
        raise MediaError(f"not an image (accepted: {_FORMAT_NAMES})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit (far above ours) fired while reading the header.
        raise MediaError(f"image too large: more than {_megapixels(max_pixels)} megapixels") from None
    except _DECODE_ERRORS:
        raise MediaError("corrupt or truncated image") from None

    with im:
        fmt = "JPEG" if im.format == "MPO" else im.format
        if fmt not in ALLOWED_FORMATS:
            raise MediaError(f"not an image (accepted: {_FORMAT_NAMES})")
        _check_pixels(im.size, max_pixels)
        icc = im.info.get("icc_profile") or None
        icc_space = _icc_space(icc)
        try:
            # n_frames is on the multi-frame formats' ImageFile subclasses only
            n_frames: int = (cast(Any, im).n_frames
                             if fmt in _ANIMATED_FORMATS and getattr(im, "is_animated", False) else 1)
        except _DECODE_ERRORS:
            raise MediaError("corrupt or truncated image") from None
        if n_frames > 1:
            frames, durations, icc = _decode_animation(im, n_frames, max_pixels, icc, icc_space)
            display = frames[0]
            display_bytes = _encode_animation(frames, durations, im.info.get("loop", 0), icc)
        else:
            display, icc = _decode_still(im, fmt, icc, icc_space)
            display_bytes = _encode_webp(display, icc)

    width, height = display.size
    thumb = _thumbnail(display)
    if thumb is display and n_frames == 1:
        thumb_bytes = display_bytes  # small still image: the thumbnail is the display version
    else:
        thumb_bytes = _encode_webp(thumb, icc)
    return _Rendered(display_bytes, width, height, thumb_bytes, _blurhash(thumb), fmt)


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise MediaError("corrupt or truncated image")
    if width * height > max_pixels:
        raise MediaError(
            f"image too large: {width}x{height} is {_megapixels(width * height, up=True)} megapixels, "
            f"at most {_megapixels(max_pixels)}"
        )


def _display_size(size: tuple[int, int], max_edge: int) -> tuple[int, int]:
    """Scale ``size`` down (never up) so its long edge is at most ``max_edge``."""
    width, height = size
    long_edge = max(width, height)
    if long_edge <= max_edge:
        return size
    scale = max_edge / long_edge
    return (max(1, min(max_edge, round(width * scale))), max(1, min(max_edge, round(height * scale))))


def _decode_still(
    im: Image.Image,
    fmt: str,
    icc: bytes | None,
    icc_space: str | None,
) -> tuple[Image.Image, bytes | None]:
    target = _display_size(im.size, DISPLAY_MAX_EDGE)
    if fmt == "JPEG" and target != im.size:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale (never below the target; LANCZOS does
        # the rest).  It still reads and checks the whole file.  For a 7680x4320 JPEG this
        # is ~150 ms instead of ~730 ms; asking for twice the target, as Image.thumbnail
        # does, would only ever help above 10240 px.
        im.draft(None, target)
    try:
        im.load()
    except _DECODE_ERRORS:
        raise MediaError("corrupt or truncated image") from None
    orientation = _orientation(im)  # after load: a PNG's eXIf chunk may follow the pixels
    frame, icc = _to_rgb(im, icc, icc_space)
    if frame.size != target:
        frame = frame.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if orientation is not None:
        frame = frame.transpose(orientation)
    if frame is im:
        frame = im.copy()  # detach from the file, which is closed when _render returns
    return frame, icc


def _decode_animation(
    im: Image.Image,
    n_frames: int,
    max_pixels: int,
    icc: bytes | None,
    icc_space: str | None,
) -> tuple[list[Image.Image], list[int], bytes | None]:
    width, height = im.size
    budget = ANIMATION_PIXEL_FACTOR * max_pixels
    if n_frames > MAX_FRAMES or n_frames * width * height > budget:
        raise MediaError(
            f"animation too large: {n_frames} frames of {width}x{height}, at most {MAX_FRAMES} frames "
            f"and {_megapixels(budget)} megapixels in all"
        )
    target = _display_size(im.size, DISPLAY_MAX_EDGE)
    frames: list[Image.Image] = []
    durations: list[int] = []
    out_icc = icc
    orientation: Image.Transpose | None = None
    decoded = 0
    for index in range(n_frames):
        try:
            im.seek(index)
        except _DECODE_ERRORS:
            raise MediaError("corrupt or truncated image") from None
        # A GIF frame can grow the canvas: check again before decoding it.
        _check_pixels(im.size, max_pixels)
        decoded += im.size[0] * im.size[1]
        if decoded > budget:
            raise MediaError(f"animation too large: more than {_megapixels(budget)} megapixels in all")
        try:
            im.load()
        except _DECODE_ERRORS:
            raise MediaError("corrupt or truncated image") from None
        if index == 0:
            orientation = _orientation(im)
        frame, out_icc = _to_rgb(im, icc, icc_space, force_alpha=True)
        if frame.size != target:
            frame = frame.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
        if orientation is not None:
            frame = frame.transpose(orientation)
        if frame is im:
            frame = im.copy()  # detach: seeking to the next frame reuses the file's image
        frames.append(frame)
        duration = im.info.get("duration") or 0
        # Browsers show GIF delays of 0 or 10 ms as 100 ms; keep what people saw.
        durations.append(100 if duration <= 10 else int(duration))
    return frames, durations, out_icc


def _orientation(im: Image.Image) -> Image.Transpose | None:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION_TAG)
    except Exception:  # a broken EXIF block only loses the orientation  # noqa: BLE001
        return None
    return _ORIENTATION.get(value) if isinstance(value, int) else None


def _to_rgb(
    im: Image.Image, icc: bytes | None, space: str | None, *, force_alpha: bool = False
) -> tuple[Image.Image, bytes | None]:
    """Convert any decoded mode to RGB or RGBA, and keep ``icc`` only if it describes RGB."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # 16-bit grey PNG: scale, don't clip
        im = im.point(lambda v: v * (1 / 257)).convert("L")
        mode = "L"
    elif mode == "F":
        im = im.point(lambda v: v * 255).convert("L")
        mode = "L"

    if space is not None and space != "RGB" and mode in ("CMYK", "L", "LA") and icc is not None:
        converted = _icc_to_srgb(im, icc)
        if converted is not None:
            # sRGB is what a WebP without a profile means.
            return (converted.convert("RGBA") if force_alpha else converted), None
    if space != "RGB":
        icc = None

    if force_alpha or im.has_transparency_data:
        wanted = "RGBA"
    else:
        wanted = "RGB"
    if mode != wanted:
        im = im.convert(wanted)
    return im, icc


def _icc_space(icc: bytes | None) -> str | None:
    if not icc:
        return None
    try:
        return ImageCms.ImageCmsProfile(BytesIO(icc)).profile.xcolor_space.strip()
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return None


def _icc_to_srgb(im: Image.Image, icc: bytes) -> Image.Image | None:
    alpha = im.getchannel("A") if im.mode == "LA" else None
    base = im.convert("L") if alpha is not None else im
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc))
        converted = ImageCms.profileToProfile(base, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return None
    if converted is None:
        return None
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


# ----------------------------------------------------------------------------------------
# Encoding


def _encode_webp(im: Image.Image, icc: bytes | None) -> bytes:
    out = BytesIO()
    im.save(
        out,
        "WEBP",
        quality=WEBP_QUALITY,
        method=WEBP_METHOD,
        icc_profile=icc or b"",
        exif=b"",
        xmp=b"",
    )
    return out.getvalue()


def _encode_animation(
    frames: Sequence[Image.Image], durations: list[int], loop: int, icc: bytes | None
) -> bytes:
    out = BytesIO()
    frames[0].save(
        out,
        "WEBP",
        save_all=True,
        append_images=list(frames[1:]),
        duration=durations,
        loop=int(loop) if isinstance(loop, int) and loop >= 0 else 0,
        background=(0, 0, 0, 0),
        quality=WEBP_QUALITY,
        method=WEBP_METHOD,
        icc_profile=icc or b"",
        exif=b"",
        xmp=b"",
    )
    return out.getvalue()


def _thumbnail(display: Image.Image) -> Image.Image:
    size = _display_size(display.size, THUMB_MAX_EDGE)
    if size == display.size:
        return display
    return display.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


# ----------------------------------------------------------------------------------------
# Blurhash (https://blurha.sh): computed here from a <= 64 px version.  blurhash-python's
# encode() calls Image.getdata(), deprecated in Pillow 12.1 (an error under -W error, and
# catching it would need the process-wide, thread-unsafe warnings.catch_warnings), and
# builds a Python list of every byte; so its C function is called directly with the raw
# RGB bytes, with a pure-Python fallback that follows the reference encoder.

_B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"

try:  # pragma: no cover - depends on the installed wheel
    from blurhash import _ffi as _bh_ffi
    from blurhash import _lib as _bh_lib

    _bh_lib.create_hash_from_pixels  # noqa: B018 - check it is there
except (ImportError, AttributeError):  # pragma: no cover
    _bh_ffi = _bh_lib = None


def _blurhash_components(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    return (4, 3) if width >= height else (4, 4)


def _blurhash(im: Image.Image) -> str:
    small = im
    size = _display_size(im.size, BLURHASH_EDGE)
    if size != im.size:
        small = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if small.mode != "RGB":
        if "A" in small.getbands():
            background = Image.new("RGBA", small.size, (255, 255, 255, 255))
            small = Image.alpha_composite(background, small.convert("RGBA"))
        small = small.convert("RGB")
    x_components, y_components = _blurhash_components(small.size)
    if _bh_lib is not None:
        return _blurhash_c(small, x_components, y_components)
    return _blurhash_py(small, x_components, y_components)


def _blurhash_c(im: Image.Image, x_components: int, y_components: int) -> str:
    width, height = im.size
    pixels = _bh_ffi.from_buffer("uint8_t[]", im.tobytes())
    destination = _bh_ffi.new("char[]", 2 + 4 + (9 * 9 - 1) * 2 + 1)
    result = _bh_lib.create_hash_from_pixels(
        x_components, y_components, width, height, pixels, width * 3, destination
    )
    if result == _bh_ffi.NULL:  # pragma: no cover - only for components outside 1..9
        raise ValueError("blurhash: bad component counts")
    hash_bytes: bytes = _bh_ffi.string(result)
    return hash_bytes.decode("ascii")


_SRGB_TO_LINEAR = [
    (v / 255) / 12.92 if v / 255 <= 0.04045 else (((v / 255) + 0.055) / 1.055) ** 2.4 for v in range(256)
]


def _linear_to_srgb(value: float) -> int:
    v = max(0.0, min(1.0, value))
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _b83(value: int, length: int) -> str:
    return "".join(_B83[(value // 83 ** (length - i)) % 83] for i in range(1, length + 1))


def _blurhash_py(im: Image.Image, x_components: int, y_components: int) -> str:
    width, height = im.size
    raw = im.tobytes()
    lut = _SRGB_TO_LINEAR
    cos_x = [[math.cos(math.pi * i * x / width) for x in range(width)] for i in range(x_components)]
    cos_y = [[math.cos(math.pi * j * y / height) for y in range(height)] for j in range(y_components)]
    # Separable sums: rows[i][y] = sum over x of cos_x[i][x] * linear(pixel) per channel.
    rows = [[(0.0, 0.0, 0.0)] * height for _ in range(x_components)]
    stride = width * 3
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        red = [lut[v] for v in row[0::3]]
        green = [lut[v] for v in row[1::3]]
        blue = [lut[v] for v in row[2::3]]
        for i in range(x_components):
            c = cos_x[i]
            rows[i][y] = (
                sum(a * b for a, b in zip(c, red, strict=True)),
                sum(a * b for a, b in zip(c, green, strict=True)),
                sum(a * b for a, b in zip(c, blue, strict=True)),
            )
    factors = []
    for j in range(y_components):
        for i in range(x_components):
            norm = (1 if i == 0 and j == 0 else 2) / (width * height)
            r = g = b = 0.0
            for y in range(height):
                basis = cos_y[j][y]
                pr, pg, pb = rows[i][y]
                r += basis * pr
                g += basis * pg
                b += basis * pb
            factors.append((r * norm, g * norm, b * norm))

    dc, ac = factors[0], factors[1:]
    result = _b83((x_components - 1) + (y_components - 1) * 9, 1)
    if ac:
        actual_max = max(abs(v) for f in ac for v in f)
        quantised_max = int(max(0, min(82, math.floor(actual_max * 166 - 0.5))))
        maximum = (quantised_max + 1) / 166
        result += _b83(quantised_max, 1)
    else:
        maximum = 1.0
        result += _b83(0, 1)
    result += _b83((_linear_to_srgb(dc[0]) << 16) + (_linear_to_srgb(dc[1]) << 8) + _linear_to_srgb(dc[2]), 4)

    def quant(v: float) -> int:
        signed = math.copysign(abs(v / maximum) ** 0.5, v)
        return int(max(0, min(18, math.floor(signed * 9 + 9.5))))

    for r, g, b in ac:
        result += _b83(quant(r) * 19 * 19 + quant(g) * 19 + quant(b), 2)
    return result


# ----------------------------------------------------------------------------------------
# Files


def _store(media_dir: Path, name: str, data: bytes) -> str:
    """Write ``data`` as ``media_dir / name`` atomically; an existing file is the same content."""
    path = media_dir / name
    if path.exists():
        return name
    fd, tmp = tempfile.mkstemp(dir=media_dir, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the web server serves these
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return name


def _mib(n: int, *, up: bool = False) -> str:
    """Bytes as MiB with one decimal, rounded up (an actual size) or down (a limit)."""
    return f"{_one_decimal(n / (1024 * 1024), up=up)} MiB"


def _megapixels(pixels: int, *, up: bool = False) -> str:
    return _one_decimal(pixels / 1_000_000, up=up)


def _one_decimal(value: float, *, up: bool) -> str:
    # Rounding the actual value up and the limit down keeps "too large: 16.1, at most 16.0"
    # from reading "too large: 16.0, at most 16.0".
    tenths = math.ceil(value * 10 - 1e-9) if up else math.floor(value * 10 + 1e-9)
    return f"{tenths / 10:.1f}"
