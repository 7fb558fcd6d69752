"""fedi.media: the upload image pipeline.  Every image is made here with Pillow."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from pathlib import Path

import blurhash
import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw

from fedi import media
from fedi.errors import FediError, TooLarge, Unprocessable
from fedi.media import MediaError, MediaTooLargeError, StoredImage, focal_point, process_image

HEX_WEBP = re.compile(r"^[0-9a-f]{64}\.webp$")
B83 = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~")


# ----------------------------------------------------------------------------------------
# helpers


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Something with structure, so resizing and blurhash have work to do."""
    im = Image.linear_gradient("L").resize(size).convert(mode)
    draw = ImageDraw.Draw(im)
    w, h = size
    draw.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill="orange" if mode != "L" else 200)
    return im


def opened(media_dir: Path, name: str) -> Image.Image:
    """The first frame of a stored file, loaded and detached from the file."""
    with Image.open(media_dir / name) as im:
        im.load()
        return im.copy() if getattr(im, "n_frames", 1) > 1 else im


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (its pixel data is a few bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def check_stored(stored: StoredImage, media_dir: Path, original: bytes, ext: str) -> None:
    assert HEX_WEBP.match(stored.file_name)
    assert HEX_WEBP.match(stored.thumb_name)
    assert stored.original_name is not None
    assert re.match(rf"^[0-9a-f]{{64}}\{ext}$", stored.original_name)
    display = (media_dir / stored.file_name).read_bytes()
    assert stored.content_type == "image/webp"
    assert stored.size == len(display)
    assert stored.digest == hashlib.sha256(display).hexdigest()
    assert stored.file_name == f"{stored.digest}.webp"
    thumb = (media_dir / stored.thumb_name).read_bytes()
    assert stored.thumb_name == f"{hashlib.sha256(thumb).hexdigest()}.webp"
    assert (media_dir.parent / "originals" / stored.original_name).read_bytes() == original
    assert stored.original_name.startswith(hashlib.sha256(original).hexdigest())
    with Image.open(io.BytesIO(display)) as im:
        assert im.format == "WEBP"
        assert im.size == (stored.width, stored.height)
    with Image.open(io.BytesIO(thumb)) as im:
        assert im.format == "WEBP"
        assert max(im.size) <= media.THUMB_MAX_EDGE
    # written atomically: nothing half-written or temporary is left behind
    assert not [p for p in media_dir.iterdir() if p.name.startswith(".tmp")]
    check_blurhash(stored.blurhash, stored.width, stored.height)


def check_blurhash(value: str, width: int, height: int) -> None:
    assert set(value) <= B83
    x, y = (4, 3) if width >= height else (4, 4)
    size_flag = B83_INDEX[value[0]]
    assert (size_flag % 9 + 1, size_flag // 9 + 1) == (x, y)
    assert len(value) == 4 + 2 * x * y
    assert blurhash.is_valid_blurhash(value)
    assert blurhash.decode(value, 8, 8).size == (8, 8)


B83_INDEX = {c: i for i, c in enumerate(media._B83)}


# ----------------------------------------------------------------------------------------
# accepted images


def test_png(tmp_path: Path) -> None:
    data = encode(picture((300, 200)), "PNG")
    stored = process_image(data, tmp_path / "media")  # the directory is created
    check_stored(stored, tmp_path / "media", data, ".png")
    assert (stored.width, stored.height) == (300, 200)
    # only the cleaned versions are in the served folder; the original is kept outside it
    assert sorted(p.name for p in (tmp_path / "media").iterdir()) == sorted({stored.file_name, stored.thumb_name})
    assert [p.name for p in (tmp_path / "originals").iterdir()] == [stored.original_name]


def _jpeg_with_gps_and_orientation() -> tuple[bytes, bytes]:
    im = Image.new("RGB", (300, 200), "blue")
    ImageDraw.Draw(im).rectangle((0, 0, 59, 39), fill="red")  # marks the stored top-left corner
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90 degrees clockwise to display"
    exif[ExifTags.Base.Make] = "Camera Maker"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] = "SERIAL-12345"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(im, "JPEG", quality=95, exif=exif.tobytes(), icc_profile=icc)
    with Image.open(io.BytesIO(data)) as check:  # the test input really carries all that
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert check.getexif()[ExifTags.Base.Orientation] == 6
    return data, icc


def test_jpeg_orientation_applied_exif_dropped_icc_kept(tmp_path: Path) -> None:
    data, icc = _jpeg_with_gps_and_orientation()
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".jpg")
    assert (stored.width, stored.height) == (200, 300)  # rotated

    raw = (tmp_path / stored.file_name).read_bytes()
    for leak in (b"Exif", b"SERIAL-12345", b"Camera Maker", b"XMP"):
        assert leak not in raw
    for name in (stored.file_name, stored.thumb_name):
        im = opened(tmp_path, name)
        assert "exif" not in im.info
        assert "xmp" not in im.info
        assert len(im.getexif()) == 0
        assert im.info.get("icc_profile") == icc
    # rotated 90 degrees clockwise: the stored top-left corner is now the top-right one
    im = opened(tmp_path, stored.file_name).convert("RGB")
    r, g, b = im.getpixel((stored.width - 10, 10))
    assert r > 200 and b < 60
    r, g, b = im.getpixel((10, 10))
    assert b > 200 and r < 60


def test_rgba_png_keeps_alpha(tmp_path: Path) -> None:
    im = Image.new("RGBA", (120, 80), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((60, 0, 119, 79), fill=(0, 200, 0, 255))
    data = encode(im, "PNG")
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".png")
    out = opened(tmp_path, stored.file_name)
    assert out.mode == "RGBA"
    assert out.getpixel((10, 40))[3] < 10
    assert out.getpixel((100, 40))[3] > 245


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (64, 64), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * (254 * 3))
    ImageDraw.Draw(im).rectangle((32, 0, 63, 63), fill=1)
    data = encode(im, "PNG", transparency=0)
    stored = process_image(data, tmp_path)
    out = opened(tmp_path, stored.file_name)
    assert out.mode == "RGBA"
    assert out.getpixel((5, 5))[3] < 10
    assert out.getpixel((50, 5))[2] > 200


def _animated_gif(frames: int = 3, size: tuple[int, int] = (100, 60)) -> bytes:
    colours = ["red", "green", "blue", "yellow", "white", "black"]
    images = [Image.new("RGB", size, colours[i % len(colours)]) for i in range(frames)]
    durations = ([80, 0, 120] + [50] * frames)[:frames]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)


def test_animated_gif_stays_animated(tmp_path: Path) -> None:
    data = _animated_gif()
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".gif")
    assert (stored.width, stored.height) == (100, 60)
    with Image.open(tmp_path / stored.file_name) as out:
        assert out.format == "WEBP"
        assert out.n_frames == 3
        durations = []
        for index in range(out.n_frames):
            out.seek(index)
            out.load()
            durations.append(out.info["duration"])
        assert durations == [80, 100, 120]  # a 0 ms GIF delay plays as 100 ms in browsers
        out.seek(2)
        assert out.convert("RGB").getpixel((50, 30))[2] > 200  # the blue frame
    with Image.open(tmp_path / stored.thumb_name) as thumb:
        assert getattr(thumb, "n_frames", 1) == 1  # the preview is still


def test_animated_webp_stays_animated(tmp_path: Path) -> None:
    images = [Image.new("RGBA", (3000, 100), c) for c in ("red", "green")]
    data = encode(images[0], "WEBP", save_all=True, append_images=images[1:], duration=200)
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".webp")
    with Image.open(tmp_path / stored.file_name) as out:
        assert out.n_frames == 2
        assert out.size == (2560, 85)


def test_animated_png_stays_animated(tmp_path: Path) -> None:
    images = [Image.new("RGB", (50, 50), c) for c in ("red", "green", "blue")]
    data = encode(images[0], "PNG", save_all=True, append_images=images[1:], duration=100)
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".png")
    with Image.open(tmp_path / stored.file_name) as out:
        assert out.n_frames == 3


def test_mpo_is_a_still_jpeg(tmp_path: Path) -> None:
    # Phones write MPO: a JPEG with extra pictures (previews, stereo pairs), not an animation.
    images = [Image.new("RGB", (80, 60), c) for c in ("red", "blue")]
    data = encode(images[0], "MPO", save_all=True, append_images=images[1:])
    with Image.open(io.BytesIO(data)) as check:
        assert check.format == "MPO"
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".jpg")
    with Image.open(tmp_path / stored.file_name) as out:
        assert getattr(out, "n_frames", 1) == 1
        assert out.convert("RGB").getpixel((40, 30))[0] > 200


@pytest.mark.skipif("AVIF" not in media.ALLOWED_FORMATS, reason="this Pillow has no AVIF support")
def test_avif(tmp_path: Path) -> None:
    data = encode(picture((320, 240)), "AVIF", quality=60)
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".avif")
    assert (stored.width, stored.height) == (320, 240)


def test_big_jpeg_decoded_at_reduced_scale(tmp_path: Path) -> None:
    data = encode(picture((6000, 3000)), "JPEG", quality=80)  # libjpeg decodes it at 1/2 scale
    stored = process_image(data, tmp_path)
    assert (stored.width, stored.height) == (2560, 1280)
    out = opened(tmp_path, stored.file_name).convert("RGB")
    r, g, b = out.getpixel((1280, 640))  # the orange ellipse is still in the middle
    assert r > 200 and 100 < g < 200 and b < 80


def test_concurrent_uploads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pillow_limit = Image.MAX_IMAGE_PIXELS
    uploads = [encode(picture((300 + i, 200)), "PNG") for i in range(4)] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda data: process_image(data, tmp_path), uploads))
    assert results[:4] == results[4:]
    assert len({r.file_name for r in results}) == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    assert Image.MAX_IMAGE_PIXELS == pillow_limit  # Pillow's global limit is left alone


def test_one_pixel(tmp_path: Path) -> None:
    data = encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG")
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".png")
    assert (stored.width, stored.height) == (1, 1)


def test_downscaled_to_2560(tmp_path: Path) -> None:
    data = encode(picture((4000, 3000)), "JPEG", quality=80)
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".jpg")
    assert (stored.width, stored.height) == (2560, 1920)
    assert opened(tmp_path, stored.thumb_name).size == (640, 480)


def test_portrait_png_downscaled(tmp_path: Path) -> None:
    data = encode(picture((1000, 3000)), "PNG")
    stored = process_image(data, tmp_path)
    assert (stored.width, stored.height) == (853, 2560)
    assert opened(tmp_path, stored.thumb_name).size == (213, 640)
    check_blurhash(stored.blurhash, stored.width, stored.height)  # 4x4 for portrait


def test_small_image_not_upscaled(tmp_path: Path) -> None:
    data = encode(picture((100, 100)), "PNG")
    stored = process_image(data, tmp_path)
    check_stored(stored, tmp_path, data, ".png")
    assert (stored.width, stored.height) == (100, 100)
    assert stored.thumb_name == stored.file_name  # small and still: one file serves both


def test_cmyk_jpeg_and_16_bit_grey_png(tmp_path: Path) -> None:
    cmyk = encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG")  # red
    stored = process_image(cmyk, tmp_path)
    r, g, b = opened(tmp_path, stored.file_name).convert("RGB").getpixel((20, 15))
    assert r > 200 and g < 60 and b < 60

    grey = encode(Image.new("I;16", (40, 30), 32768), "PNG")  # mid grey, not clipped to white
    stored = process_image(grey, tmp_path)
    r, g, b = opened(tmp_path, stored.file_name).convert("RGB").getpixel((20, 15))
    assert 110 < r < 145 and abs(r - g) < 5 and abs(r - b) < 5


def test_identical_uploads_dedupe(tmp_path: Path) -> None:
    data = encode(picture((900, 700)), "PNG")
    first = process_image(data, tmp_path / "media")
    second = process_image(data, tmp_path / "media")
    assert first == second
    assert len(list((tmp_path / "media").iterdir())) == 2
    assert len(list((tmp_path / "originals").iterdir())) == 1


def test_format_comes_from_the_bytes(tmp_path: Path) -> None:
    png = encode(picture((50, 40)), "PNG")
    stored = process_image(png, tmp_path)
    assert stored.original_name is not None and stored.original_name.endswith(".png")


# ----------------------------------------------------------------------------------------
# refused uploads


def refused(data: bytes, media_dir: Path, **kwargs) -> MediaError:
    with pytest.raises(MediaError) as caught:
        process_image(data, media_dir, **kwargs)
    error = caught.value
    assert isinstance(error, FediError)
    assert error.message == str(error)
    assert not media_dir.exists() or not list(media_dir.iterdir())  # nothing stored
    return error


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    # 20000 x 20000 = 400 megapixels in about a hundred bytes; beyond Pillow's own limit
    error = refused(png_header_only(20000, 20000), tmp_path)
    assert error.status == 422
    assert error.message.startswith("image too large")
    # between Pillow's warning and error limits (a DecompressionBombWarning)
    error = refused(png_header_only(10000, 10000), tmp_path)
    assert error.message.startswith("image too large")
    # above our limit but below Pillow's: our own check, from the header alone (the pixel
    # data is missing, so decoding would have said "corrupt")
    error = refused(png_header_only(8000, 5000), tmp_path)
    assert error.message == "image too large: 8000x5000 is 40.0 megapixels, at most 33.1"
    # just over the limit still reads sensibly
    error = refused(png_header_only(7681, 4320), tmp_path)
    assert error.message == "image too large: 7681x4320 is 33.2 megapixels, at most 33.1"
    # and the limit is a parameter
    error = refused(encode(picture((200, 100)), "PNG"), tmp_path, max_pixels=10_000)
    assert error.message.startswith("image too large: 200x100")


def test_animation_with_too_many_pixels_refused(tmp_path: Path) -> None:
    data = _animated_gif(frames=5, size=(100, 100))
    error = refused(data, tmp_path, max_pixels=10_000)  # 5 frames > 4 x max_pixels
    assert error.message.startswith("animation too large: 5 frames of 100x100")
    assert process_image(data, tmp_path / "ok", max_pixels=20_000).width == 100


def test_truncated_jpeg_refused(tmp_path: Path) -> None:
    data = encode(picture((400, 300)), "JPEG")
    error = refused(data[: len(data) // 2], tmp_path)
    assert error.message == "corrupt or truncated image"
    assert error.status == 422


def test_truncated_and_corrupt_png_refused(tmp_path: Path) -> None:
    data = encode(picture((400, 300)), "PNG")
    assert refused(data[: len(data) // 2], tmp_path).message == "corrupt or truncated image"
    assert refused(png_header_only(400, 300), tmp_path).message == "corrupt or truncated image"


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        b"%PDF-1.4\n",
        b"\x89PNG\r\n\x1a\n",  # a signature alone
        b"",
        encode(Image.new("RGB", (10, 10)), "BMP"),  # an image, but not an accepted one
        encode(Image.new("RGB", (10, 10)), "TIFF"),
    ],
    ids=["html", "svg", "pdf", "png-signature", "empty", "bmp", "tiff"],
)
def test_not_an_image_refused(tmp_path: Path, data: bytes) -> None:
    error = refused(data, tmp_path)
    assert error.status == 422
    assert error.message.startswith("not an image") or error.message == "corrupt or truncated image"


def test_html_says_not_an_image(tmp_path: Path) -> None:
    error = refused(b"<html><body>hello</body></html>", tmp_path)
    names = ["JPEG", "PNG", "WebP", "GIF"] + [n for n in ("AVIF", "HEIF") if n in media.ALLOWED_FORMATS]
    assert error.message == f"not an image (accepted: {', '.join(names)})"


def test_heic_from_a_phone_is_accepted(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), "orange").save(buf, format="HEIF", quality=80)
    stored = process_image(buf.getvalue(), tmp_path / "media")
    assert (stored.width, stored.height, stored.content_type) == (120, 90, "image/webp")
    assert stored.original_name.endswith(".heic")


def test_too_many_bytes_refused_before_looking(tmp_path: Path) -> None:
    limit = 1024 * 1024
    error = refused(b"\x00" * (limit + 1), tmp_path, max_bytes=limit)  # not even an image: never looked at
    assert isinstance(error, MediaTooLargeError)
    assert isinstance(error, TooLarge) and isinstance(error, Unprocessable)
    assert error.status == 413
    assert error.message == "file too large: 1.1 MiB, at most 1.0 MiB"
    big = refused(b"\x00" * (media.MAX_BYTES + 1), tmp_path)
    assert big.message == "file too large: 16.1 MiB, at most 16.0 MiB"


# ----------------------------------------------------------------------------------------
# blurhash


def test_blurhash_python_fallback_matches_c() -> None:
    if media._bh_lib is None:
        pytest.skip("blurhash-python's C function is not available")
    for im in (picture((64, 48)), picture((30, 64)), Image.new("RGB", (1, 1), "teal"), picture((64, 64))):
        x, y = media._blurhash_components(im.size)
        c = media._blurhash_c(im, x, y)
        py = media._blurhash_py(im, x, y)
        assert len(c) == len(py)
        # The C encoder works in single precision: allow a one-step difference per digit.
        assert sum(a != b for a, b in zip(c, py, strict=True)) <= 2, (c, py)


def test_blurhash_of_uniform_colour(tmp_path: Path) -> None:
    stored = process_image(encode(Image.new("RGB", (200, 100), (255, 0, 0)), "PNG"), tmp_path)
    check_blurhash(stored.blurhash, 200, 100)
    r, g, b = blurhash.decode(stored.blurhash, 4, 4).getpixel((2, 2))
    assert r > 240 and g < 15 and b < 15


# ----------------------------------------------------------------------------------------
# focal point


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (0.0, 0.0)),
        ("", (0.0, 0.0)),
        ("0.5,-0.25", (0.5, -0.25)),
        (" 1 , -1 ", (1.0, -1.0)),
        ("-1.0,1.0", (-1.0, 1.0)),
        ("0,0", (0.0, 0.0)),
        ("-0,0", (0.0, 0.0)),
    ],
)
def test_focal_point(value: str | None, expected: tuple[float, float]) -> None:
    assert focal_point(value) == expected


@pytest.mark.parametrize("value", ["2,0", "0,-1.5", "a,b", "0.5", "0,0,0", "nan,0", "0,inf", ",", "0.5;0.5"])
def test_focal_point_refused(value: str) -> None:
    with pytest.raises(MediaError) as caught:
        focal_point(value)
    assert caught.value.status == 422
    assert "focus" in caught.value.message
