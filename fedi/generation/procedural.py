"""A generator that needs no network and no model weights: a layered landscape (or an abstract
composition) drawn with Pillow, fully determined by the prompt and the seed.

How the prompt steers the picture
---------------------------------
* The SHA-256 of the prompt picks the base hue, the colour scheme and (when no word names one)
  the kind of scene, so two different prompts give visibly different pictures.
* Colour words (``red``, ``teal``, ``gold``, ...) put their hues into the palette, in order.
* Mood words (``sunset``, ``night``, ``ocean``, ``neon``, ``pastel``, ``misty``, ...) add hues and
  shift saturation and lightness.
* Scene words choose the ground: mountains, sea, dunes, city, forest, hills, or an abstract
  composition; ``sun``/``moon``/``stars``/``clouds``/``snow``/``rain``/``fireflies``... add motifs.
* Words of the negative prompt remove motifs (``stars``, ``sun``, ``clouds``...) and push the
  palette away from the colours they name.

The seed moves everything else: jitter of hues, the horizon, ridge shapes, where the sun stands,
the stars, the grain.  Same prompt, negative prompt, seed and size give byte-identical PNGs (with
the same Pillow and zlib), whatever the process or its hash seed.  Rendering is pure CPU work;
:class:`ProceduralGenerator` runs it in a worker thread.  On a 2-core VM (Pillow 13), 1024x1024
takes 90-190 ms (median ~120 ms, a third of it PNG encoding), 512x512 ~40 ms, 2048x2048 ~300 ms.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import math
import random
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from fedi.generation.base import MAX_SEED, GeneratedImage, GenerationRequest

__all__ = ["MODEL", "ProceduralGenerator", "render"]

MODEL = "fedi-procedural-1"
PNG_COMPRESS_LEVEL = 3  # zlib 3 is ~3x faster than 6 here and, with the grain, barely bigger

RGB = tuple[int, int, int]

_HUES: dict[str, float] = {
    "red": 0, "scarlet": 5, "ruby": 352, "crimson": 348, "rose": 342, "pink": 332, "fuchsia": 312,
    "magenta": 305, "lilac": 285, "purple": 280, "violet": 272, "lavender": 265, "indigo": 250,
    "navy": 228, "sapphire": 224, "blue": 218, "cobalt": 214, "azure": 205, "cyan": 186, "aqua": 184,
    "turquoise": 172, "teal": 176, "mint": 155, "jade": 150, "emerald": 140, "green": 120, "olive": 70,
    "lime": 85, "yellow": 54, "gold": 45, "golden": 45, "amber": 40, "orange": 28, "peach": 24,
    "copper": 22, "brown": 25, "rust": 15, "coral": 12,
}


@dataclass(frozen=True)
class _Mood:
    hues: tuple[float, ...] = ()
    saturation: float = 1.0   # multiplier
    lightness: float = 0.0    # offset
    night: bool = False
    sky: bool = False         # a time of day or weather: its hues colour the sky before those of places


_words: tuple[str, ...]
_MOODS: dict[str, _Mood] = {}
for _words, _mood in (
    (("sunset", "dusk", "evening", "twilight"), _Mood((24, 345, 275), 1.1, sky=True)),
    (("sunrise", "dawn", "morning"), _Mood((36, 350, 200), 1.0, 0.05, sky=True)),
    (("night", "midnight", "nocturnal", "dark", "moonlight", "moonlit"),
     _Mood((226, 256, 200), 0.8, -0.24, True, True)),
    (("space", "galaxy", "cosmic", "cosmos", "nebula", "universe", "stars", "starry"),
     _Mood((262, 300, 205), 1.0, -0.24, True, True)),
    (("ocean", "sea", "water", "lake", "river", "waves", "wave", "beach", "coast", "harbor"), _Mood((200, 186, 222))),
    (("forest", "jungle", "woods", "trees", "tree", "pine", "pines", "meadow", "valley"), _Mood((122, 96, 150), 0.9)),
    (("desert", "dune", "dunes", "sand", "sahara", "canyon"), _Mood((34, 24, 44), 0.95, 0.05)),
    (("fire", "flame", "flames", "lava", "volcano", "ember", "embers", "inferno"), _Mood((8, 28, 352), 1.25)),
    (("ice", "snow", "snowy", "frost", "frozen", "winter", "glacier", "arctic"), _Mood((200, 190, 214), 0.6, 0.14)),
    (("autumn", "fall", "harvest"), _Mood((24, 40, 10))),
    (("spring", "blossom", "blossoms", "cherry", "flowers", "garden"), _Mood((100, 332, 54), 0.9, 0.08)),
    (("summer", "tropical", "sunny", "paradise"), _Mood((48, 192, 28), 1.1, 0.05)),
    (("pastel", "soft", "dream", "dreamy", "gentle", "calm", "serene"), _Mood((), 0.55, 0.14)),
    (("neon", "cyberpunk", "electric", "vivid", "synthwave", "vaporwave", "retro", "futuristic"),
     _Mood((305, 188, 268), 1.4, sky=True)),
    (("misty", "mist", "fog", "foggy", "haze", "hazy"), _Mood((), 0.5, 0.1)),
    (("storm", "stormy", "thunder", "gloomy", "rain", "rainy"), _Mood((214, 230), 0.4, -0.14, sky=True)),
):
    for _word in _words:
        _MOODS[_word] = _mood

_SCENES: dict[str, str] = {}
for _scene, _words in (
    ("mountains", ("mountain", "mountains", "peak", "peaks", "alps", "alpine", "cliff", "cliffs", "summit", "glacier")),
    ("sea", ("ocean", "sea", "waves", "wave", "water", "lake", "beach", "coast", "harbor", "shore", "river")),
    ("dunes", ("desert", "dune", "dunes", "sand", "sahara")),
    ("city", ("city", "skyline", "town", "street", "cyberpunk", "buildings", "metropolis", "tower", "towers")),
    ("forest", ("forest", "jungle", "woods", "trees", "tree", "pine", "pines")),
    ("hills", ("hill", "hills", "meadow", "valley", "field", "fields", "countryside", "landscape")),
    ("abstract", ("abstract", "geometric", "geometry", "pattern", "shapes", "circles", "bauhaus", "minimal",
                  "minimalist", "composition")),
):
    for _word in _words:
        _SCENES[_word] = _scene
_DEFAULT_SCENES = ("hills", "mountains", "sea", "dunes", "abstract", "forest", "city", "mountains", "hills")

_MOTIFS: dict[str, str] = {}
for _motif, _words in (
    ("sun", ("sun", "sunny", "sunset", "sunrise", "dawn", "summer", "solar")),
    ("moon", ("moon", "lunar", "moonlight", "moonlit", "crescent")),
    ("stars", ("star", "stars", "starry", "galaxy", "cosmic", "cosmos", "nebula", "space", "universe",
               "constellation")),
    ("clouds", ("cloud", "clouds", "cloudy", "sky", "storm", "stormy", "overcast")),
    ("snow", ("snow", "snowy", "snowfall", "blizzard", "snowflakes")),
    ("rain", ("rain", "rainy", "drizzle", "downpour")),
    ("fireflies", ("firefly", "fireflies", "sparkle", "sparkles", "glitter", "magic", "magical", "fairy", "embers",
                   "bokeh", "lights")),
    ("stripes", ("synthwave", "vaporwave", "retro", "80s", "outrun")),
):
    for _word in _words:
        _MOTIFS[_word] = _motif
_NEGATIVE_MOTIFS = {"sun": ("sun",), "moon": ("moon",), "stars": ("stars",), "star": ("stars",),
                    "clouds": ("clouds",), "cloud": ("clouds",), "snow": ("snow",), "rain": ("rain",),
                    "sky": ("clouds", "stars"), "orb": ("sun", "moon"), "circle": ("sun", "moon"),
                    "circles": ("sun", "moon"), "particles": ("snow", "fireflies"), "grain": ("grain",),
                    "noise": ("grain",), "grainy": ("grain",)}

_WORD_RE = re.compile(r"[a-z0-9]+")


class ProceduralGenerator:
    """Deterministic pictures from (prompt, negative prompt, seed, size); no network, no weights."""

    name = "procedural"

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        seed = request.seed if request.seed is not None else secrets.randbelow(MAX_SEED + 1)
        data, parameters = await asyncio.to_thread(
            render, request.prompt, seed, request.width, request.height, request.negative_prompt
        )
        return GeneratedImage(data=data, model=MODEL, seed=seed, parameters=parameters)

    def __repr__(self) -> str:
        return "ProceduralGenerator()"


# --------------------------------------------------------------------------- colour helpers


def _hls(h: float, lightness: float, s: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb((h % 360) / 360, min(max(lightness, 0.0), 1.0), min(max(s, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def _mix(a: Sequence[float], b: Sequence[float], t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _hex(c: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def _hue_distance(a: float, b: float) -> float:
    d = abs(a - b) % 360
    return min(d, 360 - d)


@dataclass(frozen=True)
class _Palette:
    sky_top: RGB
    sky_mid: RGB
    horizon: RGB
    glow: RGB
    orb: RGB
    land_far: RGB
    land_near: RGB
    accent: RGB
    light: RGB

    def colours(self) -> list[RGB]:
        return [self.sky_top, self.sky_mid, self.horizon, self.orb, self.land_far, self.land_near, self.accent]


_SCHEMES = ((0, 30, -30), (0, 180, 30), (0, 120, 240), (0, 150, 210), (0, 40, 200), (0, -25, 160))


def _palette(words: list[str], negative: set[str], digest: bytes, rng: random.Random) -> tuple[_Palette, bool]:
    base = int.from_bytes(digest[:2], "big") / 65536 * 360
    scheme = _SCHEMES[digest[2] % len(_SCHEMES)]
    # colour words first (they are the most explicit), then the hues of the moods, in prompt order
    hues: list[float] = [_HUES[w] for w in words if w in _HUES and w not in negative]
    named = bool(hues)
    saturation, lightness, night = 1.0, 0.0, False
    seen_moods: set[int] = set()
    moods = [_MOODS[w] for w in words if w in _MOODS]
    for mood in sorted(moods, key=lambda m: not m.sky):  # stable: prompt order within each group
        if id(mood) not in seen_moods:
            seen_moods.add(id(mood))
            hues.extend(mood.hues)
            saturation *= mood.saturation
            lightness += mood.lightness
            night = night or mood.night
    if not hues:
        hues = [base + offset for offset in scheme]
    elif len(hues) < 3:
        hues += [hues[0] + offset for offset in scheme[len(hues):]]
    avoid = [_HUES[w] for w in negative if w in _HUES]
    hues = [h + 180 if any(_hue_distance(h, a) < 35 for a in avoid) else h for h in hues]
    hues = [h + rng.uniform(-9, 9) for h in hues]
    saturation = min(max(saturation * rng.uniform(0.9, 1.1), 0.15), 1.6)
    lightness = min(max(lightness + rng.uniform(-0.04, 0.04), -0.3), 0.22)
    h0, h1, h2 = hues[0], hues[1 % len(hues)], hues[2 % len(hues)]
    # a sun is warm unless the prompt names its colours: the warmest hue of the palette, pulled to gold
    warm = h0 if named else min(hues, key=lambda h: _hue_distance(h, 40))
    sun_hue = warm + (40 - warm) * 0.4 if _hue_distance(warm, 40) < 90 else warm
    land_hue = hues[3] if len(hues) > 3 else h2 + rng.uniform(-20, 20)
    palette = _Palette(
        sky_top=_hls(h1 if night else h2, 0.22 + lightness, 0.5 * saturation),
        sky_mid=_hls(h1, 0.5 + lightness, 0.58 * saturation),
        horizon=_hls(h0, 0.72 + lightness * 0.6, 0.75 * saturation),
        glow=_hls(h0 + 8, 0.8 + lightness * 0.3, 0.9 * saturation),
        orb=_hls(h0 + 12, 0.9, 0.35 * saturation) if night else _hls(sun_hue, 0.82, min(0.95 * saturation, 1)),
        land_far=_hls(land_hue, 0.5 + lightness * 0.5, 0.42 * saturation),
        land_near=_hls(land_hue + 12, 0.1 + max(lightness, -0.05) * 0.3, 0.5 * saturation),
        accent=_hls(h0 + 180 if night else h0, 0.68, min(0.9 * saturation, 1)),
        light=_hls(h1, 0.94, 0.4 * saturation),
    )
    return palette, night


# --------------------------------------------------------------------------- shapes


def _midpoint_ridge(rng: random.Random, levels: int, roughness: float) -> list[float]:
    """1D midpoint displacement: 2**levels + 1 heights, roughly in -1..1."""
    n = 2**levels
    heights = [0.0] * (n + 1)
    heights[0], heights[n] = rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6)
    step, scale = n, 1.0
    while step > 1:
        half = step // 2
        for i in range(half, n, step):
            heights[i] = (heights[i - half] + heights[i + half]) / 2 + rng.uniform(-scale, scale)
        step, scale = half, scale * roughness
    return heights


def _waves(rng: random.Random, count: int, components: int, max_freq: float) -> list[float]:
    parts = [(rng.uniform(0.5, max_freq) * math.tau, rng.uniform(0, math.tau), rng.uniform(0.3, 1.0))
             for _ in range(components)]
    total = sum(a for _, _, a in parts)
    return [sum(a * math.sin(f * i / (count - 1) + p) for f, p, a in parts) / total for i in range(count)]


class _Canvas:
    """The picture at full size, with anti-aliased shapes drawn on 2x masks."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.width, self.height = image.size
        self.ss = 2 if self.width * self.height <= 1200 * 1200 else 1

    def mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        mask = Image.new("L", (self.width * self.ss, self.height * self.ss), 0)
        return mask, ImageDraw.Draw(mask)

    def finish(self, mask: Image.Image) -> Image.Image:
        return mask.reduce(self.ss) if self.ss > 1 else mask

    def paste(self, fill: RGB | Image.Image, mask: Image.Image, opacity: float = 1.0) -> None:
        mask = self.finish(mask)
        if opacity < 1.0:
            mask = mask.point([round(v * opacity) for v in range(256)])
        if isinstance(fill, Image.Image):
            self.image.paste(fill, (0, 0), mask)
        else:
            self.image.paste(fill, (0, 0, self.width, self.height), mask)

    def polygon_below(self, ys: Sequence[float]) -> tuple[Image.Image, float]:
        """A mask of everything below the polyline through ``ys`` (evenly spread over the width)."""
        mask, draw = self.mask()
        s, n = self.ss, len(ys) - 1
        points = [(i * self.width * s / n, y * s) for i, y in enumerate(ys)]
        points += [(self.width * s, self.height * s + s), (0, self.height * s + s)]
        draw.polygon(points, fill=255)
        return mask, min(ys)

    def vertical_gradient(self, top: RGB, bottom: RGB, y0: float, y1: float) -> Image.Image:
        """A full-size image going from ``top`` at y0 to ``bottom`` at y1 (clamped outside)."""
        span = max(y1 - y0, 1.0)
        column = Image.new("RGB", (1, self.height))
        column.putdata([_mix(top, bottom, min(max((y - y0) / span, 0.0), 1.0)) for y in range(self.height)])
        return column.resize((self.width, self.height), Image.Resampling.NEAREST)


# --------------------------------------------------------------------------- the picture


@dataclass
class _Scene:
    kind: str
    motifs: set[str]
    horizon: float
    orb: tuple[float, float, float] | None   # x, y, radius in pixels
    palette: _Palette
    night: bool


def _plan(prompt: str, negative_prompt: str | None, rng: random.Random, width: int, height: int) -> _Scene:
    words = _WORD_RE.findall(prompt.lower())
    negative = set(_WORD_RE.findall((negative_prompt or "").lower()))
    digest = hashlib.sha256(prompt.encode()).digest()
    palette, night = _palette(words, negative, digest, rng)
    kind = next((_SCENES[w] for w in words if w in _SCENES and w not in negative), None)
    if kind is None:
        kind = _DEFAULT_SCENES[digest[3] % len(_DEFAULT_SCENES)]
    motifs = {_MOTIFS[w] for w in words if w in _MOTIFS}
    if not motifs & {"sun", "moon"} and rng.random() < 0.75:
        motifs.add("moon" if night else "sun")
    if night and "sun" in motifs and "moon" not in motifs and not {"sunset", "sunrise", "dawn"} & set(words):
        motifs.discard("sun")
        motifs.add("moon")
    if "sun" in motifs and "moon" in motifs:
        motifs.discard("sun" if night else "moon")
    if night:
        motifs.add("stars")
    if "clouds" not in motifs and rng.random() < 0.35:
        motifs.add("clouds")
    motifs.add("grain")
    for word in negative:
        motifs.difference_update(_NEGATIVE_MOTIFS.get(word, ()))
    horizon = height * rng.uniform(0.5, 0.66) if kind != "abstract" else height * rng.uniform(0.55, 0.8)
    orb = None
    if motifs & {"sun", "moon"}:
        short = min(width, height)
        radius = short * rng.uniform(0.07, 0.15) * (1.3 if "stripes" in motifs else 1.0)
        orb = (width * rng.uniform(0.22, 0.78), horizon - radius * rng.uniform(0.1, 2.2), radius)
    return _Scene(kind, motifs, horizon, orb, palette, night)


def _sky(scene: _Scene, rng: random.Random, width: int, height: int) -> Image.Image:
    """The sky at a tiny size, smooth enough to be scaled up: gradient, a side tint and the orb's glow."""
    p = scene.palette
    scale = 96 / max(width, height)
    sw, sh = max(8, round(width * scale)), max(8, round(height * scale))
    hz = scene.horizon / height
    mid = hz * rng.uniform(0.45, 0.7)
    tint = _mix(p.sky_mid, p.accent, 0.5)
    tint_side = rng.choice((-1.0, 1.0))
    ox, oy, orad = scene.orb or (-1e9, -1e9, 1.0)
    ox, oy = ox / width, oy / height
    glow_r = orad / min(width, height) * rng.uniform(2.5, 4.5)
    glow_strength = 0.35 if scene.night else 0.75
    aspect = width / height
    pixels: list[RGB] = []
    for j in range(sh):
        v = (j + 0.5) / sh
        if v < mid:
            row = _mix(p.sky_top, p.sky_mid, (v / mid) ** 1.2)
        elif v < hz:
            row = _mix(p.sky_mid, p.horizon, ((v - mid) / (hz - mid)) ** 0.9)
        else:
            row = _mix(p.horizon, p.land_far, min((v - hz) / 0.25, 1.0) * 0.5)
        dy = (v - oy)
        for i in range(sw):
            u = (i + 0.5) / sw
            side = max(0.0, 0.5 + tint_side * (u - 0.5)) * (1 - v) * 0.22
            c = _mix(row, tint, side)
            d2 = ((u - ox) * aspect) ** 2 + dy * dy
            g = glow_strength * math.exp(-d2 / (glow_r * glow_r))
            if g > 0.004:
                c = _mix(c, p.glow, min(g, 1.0))
            pixels.append(c)
    small = Image.new("RGB", (sw, sh))
    small.putdata(pixels)
    return small.resize((width, height), Image.Resampling.BICUBIC)


def _stars(canvas: _Canvas, scene: _Scene, rng: random.Random) -> None:
    draw = ImageDraw.Draw(canvas.image)
    w, h = canvas.width, canvas.height
    light = scene.palette.light
    count = int(w * h / 2600)
    limit = scene.horizon
    for _ in range(count):
        x, y = rng.uniform(0, w), rng.uniform(0, limit)
        fade = (1 - y / limit) ** 0.7
        b = rng.random() ** 3 * fade
        c = _mix(scene.palette.sky_top, light, 0.25 + 0.75 * b)
        if b > 0.55:
            r = 0.8 + b
            draw.ellipse((x - r, y - r, x + r, y + r), fill=c)
        else:
            draw.point((x, y), fill=c)


def _clouds(canvas: _Canvas, scene: _Scene, rng: random.Random) -> None:
    w, h = canvas.width, canvas.height
    sw, sh = max(4, w // 8), max(4, h // 8)
    mask = Image.new("L", (sw, sh), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(rng.randint(3, 7)):
        cx, cy = rng.uniform(-0.1, 1.1) * sw, rng.uniform(0.08, 0.85) * scene.horizon / 8
        rx, ry = rng.uniform(0.12, 0.35) * sw, rng.uniform(0.012, 0.035) * sh
        for _ in range(rng.randint(2, 4)):
            dx, dy = rng.uniform(-rx, rx) * 0.6, rng.uniform(-ry, ry)
            draw.ellipse((cx + dx - rx, cy + dy - ry, cx + dx + rx, cy + dy + ry), fill=rng.randint(120, 210))
    mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, sh / 60))).resize((w, h), Image.Resampling.BICUBIC)
    colour = _mix(scene.palette.light, scene.palette.glow, 0.3) if not scene.night else scene.palette.sky_mid
    canvas.image.paste(colour, (0, 0, w, h), mask.point([v * 3 // 4 for v in range(256)]))


def _orb(canvas: _Canvas, scene: _Scene, rng: random.Random) -> None:
    assert scene.orb is not None
    x, y, r = scene.orb
    s = canvas.ss
    mask, draw = canvas.mask()
    draw.ellipse(((x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s), fill=255)
    if "moon" in scene.motifs and rng.random() < 0.6:
        dx, dy = r * rng.uniform(0.35, 0.7) * rng.choice((-1, 1)), -r * rng.uniform(0.0, 0.35)
        draw.ellipse(((x + dx - r) * s, (y + dy - r) * s, (x + dx + r) * s, (y + dy + r) * s), fill=0)
    if "stripes" in scene.motifs:
        bands, top = 6, y + r * 0.05
        for k in range(bands):
            band_y = top + (r * 0.95) * k / bands
            thickness = r * 0.03 * (1 + k)
            draw.rectangle((0, band_y * s, canvas.width * s, (band_y + thickness) * s), fill=0)
        fill: RGB | Image.Image = canvas.vertical_gradient(scene.palette.orb, scene.palette.accent, y - r, y + r)
    else:
        fill = scene.palette.orb
    canvas.paste(fill, mask)


def _layer_count(kind: str, rng: random.Random) -> int:
    return {"mountains": rng.randint(3, 5), "sea": rng.randint(4, 6), "dunes": rng.randint(3, 4),
            "hills": rng.randint(3, 5), "forest": rng.randint(3, 4), "city": 3}.get(kind, 3)


def _ground(canvas: _Canvas, scene: _Scene, rng: random.Random) -> None:
    h = canvas.height
    p = scene.palette
    kind = scene.kind
    layers = _layer_count(kind, rng)
    depth = h - scene.horizon
    for k in range(layers):
        t = k / max(layers - 1, 1)                   # 0 far .. 1 near
        colour = _mix(_mix(p.horizon, p.land_far, 0.55), p.land_near, t**0.85)
        if kind == "mountains":
            base = scene.horizon + depth * (0.02 + 0.75 * t**1.3)
            ridge = _midpoint_ridge(rng, 7, rng.uniform(0.5, 0.62))
            amp = h * (0.2 - 0.1 * t) * rng.uniform(0.8, 1.2)
            ys = [base - amp * (0.55 + 0.45 * v) for v in ridge]
        elif kind == "sea":
            base = scene.horizon + depth * (0.0 + 0.85 * t**1.6)
            amp = h * (0.004 + 0.022 * t)
            ys = [base + amp * v for v in _waves(rng, 160, 5, 14 + 10 * t)]
            colour = _mix(_mix(p.horizon, p.sky_mid, 0.5), _mix(p.land_near, p.sky_top, 0.5), t**0.8)
        elif kind == "dunes":
            base = scene.horizon + depth * (0.05 + 0.7 * t)
            amp = h * (0.05 + 0.04 * t)
            ys = [base - amp * (1 - abs(v)) ** 1.6 for v in _waves(rng, 160, 2, 2.5)]
            colour = _mix(_mix(p.horizon, p.glow, 0.4), _mix(p.land_near, p.glow, 0.25), t**0.9)
        elif kind == "city" and k < layers - 1:
            _buildings(canvas, scene, rng, colour, scene.horizon + depth * 0.25 * t, t)
            continue
        else:  # hills, forest, and the city's ground
            base = scene.horizon + depth * (0.08 + 0.7 * t)
            amp = h * (0.06 - 0.02 * t)
            ys = [base - amp * v for v in _waves(rng, 96, 3, 3.0)]
        mask, top = canvas.polygon_below(ys)
        if kind == "forest":
            _trees(canvas, mask, ys, rng, t)
        fill = canvas.vertical_gradient(_mix(colour, p.glow, 0.12 * (1 - t)), _mix(colour, (0, 0, 0), 0.25 * t),
                                        top, min(top + depth * 0.6, h))
        canvas.paste(fill, mask)
        if kind == "sea" and scene.orb is not None:
            _shimmer(canvas, scene, rng, base, t)


def _trees(canvas: _Canvas, mask: Image.Image, ys: Sequence[float], rng: random.Random, t: float) -> None:
    draw = ImageDraw.Draw(mask)
    s, n = canvas.ss, len(ys) - 1
    tree_h = canvas.height * (0.03 + 0.09 * t)
    x = rng.uniform(0, canvas.width * 0.03)
    while x < canvas.width:
        i = min(round(x / canvas.width * n), n)
        hh = tree_h * rng.uniform(0.6, 1.3)
        half = hh * rng.uniform(0.16, 0.24)
        y = ys[i] + tree_h * 0.15
        draw.polygon([((x - half) * s, y * s), (x * s, (y - hh) * s), ((x + half) * s, y * s)], fill=255)
        x += half * rng.uniform(0.9, 2.2)


def _buildings(canvas: _Canvas, scene: _Scene, rng: random.Random, colour: RGB, base: float, t: float) -> None:
    draw = ImageDraw.Draw(canvas.image)
    w, h = canvas.width, canvas.height
    windows = _mix(scene.palette.accent, scene.palette.glow, 0.4)
    bottom = base + (h - scene.horizon) * 0.6
    x = rng.uniform(-w * 0.05, 0)
    while x < w:
        bw = w * rng.uniform(0.035, 0.09) * (1 + t)
        bh = h * rng.uniform(0.08, 0.32) * (1.1 - 0.4 * t)
        top = base - bh
        draw.rectangle((x, top, x + bw, h), fill=colour)
        if t > 0 and bw > 12:
            step = max(4.0, bw / 6)
            wy = top + step
            while wy < bottom - step:
                wx = x + step * 0.6
                while wx < x + bw - step * 0.6:
                    if rng.random() < 0.28:
                        draw.rectangle((wx, wy, wx + step * 0.4, wy + step * 0.5), fill=windows)
                    wx += step
                wy += step * 1.1
        x += bw + w * rng.uniform(0.0, 0.02)


def _shimmer(canvas: _Canvas, scene: _Scene, rng: random.Random, base: float, t: float) -> None:
    assert scene.orb is not None
    draw = ImageDraw.Draw(canvas.image)
    x, _, r = scene.orb
    colour = _mix(scene.palette.orb, scene.palette.horizon, 0.35)
    for _ in range(int(4 + 10 * t)):
        y = base + rng.uniform(0, canvas.height * 0.05) * (0.3 + t)
        if y >= canvas.height:
            continue
        half = r * rng.uniform(0.2, 1.1) * (1 - 0.4 * t)
        cx = x + rng.uniform(-r, r) * 0.5
        draw.line((cx - half, y, cx + half, y), fill=colour, width=max(1, round(canvas.height / 500 * (1 + t))))


def _abstract(canvas: _Canvas, scene: _Scene, rng: random.Random) -> None:
    p = scene.palette
    w, h = canvas.width, canvas.height
    s = canvas.ss
    colours = p.colours()
    # a ground band, then overlapping translucent discs and a few rings
    mask, draw = canvas.mask()
    draw.rectangle((0, scene.horizon * s, w * s, h * s), fill=255)
    canvas.paste(canvas.vertical_gradient(p.land_far, p.land_near, scene.horizon, h), mask)
    short = min(w, h)
    for _ in range(rng.randint(4, 8)):
        mask, draw = canvas.mask()
        r = short * rng.uniform(0.06, 0.3)
        x, y = rng.uniform(0.1, 0.9) * w, rng.uniform(0.15, 0.9) * h
        draw.ellipse(((x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s), fill=255)
        if rng.random() < 0.4:  # a half disc
            side = rng.choice((0, 1))
            draw.rectangle(((x - r) * s, (y - r + side * r) * s, (x + r) * s, (y + side * r) * s), fill=0)
        canvas.paste(rng.choice(colours), mask, rng.uniform(0.55, 0.95))
    mask, draw = canvas.mask()
    for _ in range(rng.randint(1, 3)):
        r = short * rng.uniform(0.1, 0.4)
        x, y = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        draw.ellipse(((x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s), outline=255,
                     width=max(1, round(short * s * rng.uniform(0.004, 0.012))))
    canvas.paste(p.light, mask, 0.8)


def _particles(canvas: _Canvas, scene: _Scene, rng: random.Random) -> None:
    w, h = canvas.width, canvas.height
    p = scene.palette
    for motif, colour in (("snow", p.light), ("fireflies", _mix(p.glow, p.accent, 0.3))):
        if motif not in scene.motifs:
            continue
        mask = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(mask)
        count = int(w * h / (2500 if motif == "snow" else 9000))
        for _ in range(count):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            r = rng.uniform(0.6, 2.6) * h / 1024
            draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randint(140, 255))
        mask = mask.filter(ImageFilter.BoxBlur(max(1, round(h / 700))))
        canvas.image.paste(colour, (0, 0, w, h), mask)
    if "rain" in scene.motifs:
        mask, draw = canvas.mask()
        s = canvas.ss
        slant = rng.uniform(0.1, 0.3)
        for _ in range(int(w * h / 3000)):
            x, y = rng.uniform(-0.2 * w, w), rng.uniform(-0.05 * h, h)
            length = h * rng.uniform(0.015, 0.04)
            draw.line((x * s, y * s, (x + length * slant) * s, (y + length) * s), fill=rng.randint(60, 160), width=s)
        canvas.paste(p.light, mask, 0.6)


def _vignette(image: Image.Image, strength: float) -> Image.Image:
    w, h = image.size
    small = Image.new("L", (32, 32))
    small.putdata([round(255 * (1 - strength * min(1.0, (((i - 15.5) / 15.5) ** 2 + ((j - 15.5) / 15.5) ** 2) / 2)
                                ** 1.5)) for j in range(32) for i in range(32)])
    mask = small.resize((w, h), Image.Resampling.BICUBIC)
    return ImageChops.multiply(image, Image.merge("RGB", (mask, mask, mask)))


def _grain(image: Image.Image, rng: random.Random, amplitude: int) -> Image.Image:
    w, h = image.size
    tile_w, tile_h = min(256, w), min(256, h)
    tile = Image.frombytes("L", (tile_w, tile_h), rng.randbytes(tile_w * tile_h))
    tile = tile.point([v * (2 * amplitude + 1) // 256 for v in range(256)])
    noise = Image.new("L", (w, h))
    for y in range(0, h, tile_h):
        for x in range(0, w, tile_w):
            noise.paste(tile, (x, y))
    return ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)), 1.0, -amplitude)


def render(prompt: str, seed: int, width: int, height: int,
           negative_prompt: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The PNG for (prompt, seed, size, negative prompt) and the parameters worth recording."""
    key = hashlib.sha256(f"{MODEL}\x00{seed}\x00{width}x{height}\x00{negative_prompt or ''}\x00{prompt}".encode())
    rng = random.Random(key.digest())  # noqa: S311 - pictures, not secrets: it must be reproducible
    scene = _plan(prompt, negative_prompt, rng, width, height)
    canvas = _Canvas(_sky(scene, rng, width, height))
    if "stars" in scene.motifs:
        _stars(canvas, scene, rng)
    if "clouds" in scene.motifs and scene.kind != "abstract":
        _clouds(canvas, scene, rng)
    if scene.orb is not None:
        _orb(canvas, scene, rng)
    if scene.kind == "abstract":
        _abstract(canvas, scene, rng)
    else:
        _ground(canvas, scene, rng)
    _particles(canvas, scene, rng)
    image = _vignette(canvas.image, 0.22 if scene.night else 0.16)
    if "grain" in scene.motifs:
        image = _grain(image, rng, 3)
    buf = BytesIO()
    image.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    parameters = {
        "size": f"{width}x{height}",
        "scene": scene.kind,
        "motifs": ",".join(sorted(scene.motifs - {"grain"})),
        "palette": ",".join(_hex(c) for c in scene.palette.colours()),
    }
    if negative_prompt:
        parameters["negative_prompt"] = negative_prompt
    return buf.getvalue(), parameters
