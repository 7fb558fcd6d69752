"""fedi.generation: request validation, the procedural backend, and the OpenAI backend against a local
server on 127.0.0.1 replaying the answers in tests/fixtures/openai/ (see the README there)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from PIL import Image, ImageStat

from fedi.config import Config
from fedi.errors import BadRequest, ConfigError, FediError
from fedi.generation import (
    GeneratedImage,
    GenerationError,
    GenerationRequest,
    Generator,
    OpenAIGenerator,
    ProceduralGenerator,
    generator_from_config,
)
from fedi.generation.procedural import MODEL as PROCEDURAL_MODEL
from fedi.generation.procedural import render

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openai"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads(fixture_text(name))


def fixture_image(name: str) -> bytes:
    """The PNG inside a b64_json fixture."""
    return base64.b64decode(fixture_json(name)["data"][0]["b64_json"])


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(PNG_MAGIC)
    im = Image.open(BytesIO(data))
    im.load()
    assert im.format == "PNG"
    return im


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"prompt": ""}, "prompt must not be empty"),
        ({"prompt": "  \n\t "}, "prompt must not be empty"),
        ({"prompt": "x" * 4001}, "longer than 4000"),
        ({"negative_prompt": "x" * 4001}, "negative_prompt"),
        ({"model": ""}, "model"),
        ({"model": "m" * 256}, "model"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"seed": True}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"width": 56}, "width"),
        ({"width": 2056}, "width"),
        ({"width": 1001}, "width"),
        ({"height": 0}, "height"),
        ({"height": 1024.0}, "height"),
        ({"steps": 0}, "steps"),
        ({"guidance_scale": float("nan")}, "guidance_scale"),
        ({"guidance_scale": -1.0}, "guidance_scale"),
        ({"sampler": ""}, "sampler"),
    ],
)
def test_request_validation(fields: dict[str, Any], complaint: str) -> None:
    args: dict[str, Any] = {"prompt": "a lighthouse at dusk", **fields}
    with pytest.raises(BadRequest) as info:
        GenerationRequest(**args)
    assert info.value.status == 400
    assert complaint in info.value.message


def test_request_limits_accepted() -> None:
    req = GenerationRequest(prompt="x" * 4000, seed=2**32 - 1, width=64, height=2048, steps=30,
                            guidance_scale=7, sampler="Euler a", model="sdxl")
    assert req.size == "64x2048"
    assert GenerationRequest(prompt="p", seed=0, width=2048, height=64).seed == 0


def test_generation_error_is_a_fedi_error() -> None:
    assert issubclass(GenerationError, FediError)
    assert GenerationError("x").status == 502
    assert GenerationError("x", 504).status == 504


# --------------------------------------------------------------------------- procedural


async def test_procedural_is_deterministic() -> None:
    gen = ProceduralGenerator()
    req = GenerationRequest(prompt="a quiet mountain lake at sunset", seed=1234)
    first, second = await gen.generate(req), await gen.generate(req)
    assert first.data == second.data
    assert first.seed == second.seed == 1234
    assert first.model == PROCEDURAL_MODEL == "fedi-procedural-1"
    assert first.parameters == second.parameters
    assert first.parameters["size"] == "1024x1024"
    assert first.revised_prompt is None
    # the same in another thread, outside the generator
    assert (await asyncio.to_thread(render, req.prompt, 1234, 1024, 1024))[0] == first.data


def test_procedural_is_deterministic_across_processes() -> None:
    """Nothing depends on hash randomisation or on process state: other processes give the same bytes."""
    code = ("import hashlib, sys; from fedi.generation.procedural import render; "
            "sys.stdout.write(hashlib.sha256(render('snowy pine forest under the moon', 99, 256, 192, 'clouds')[0])"
            ".hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": hash_seed},
                       capture_output=True, text=True, check=True, timeout=60).stdout
        for hash_seed in ("1", "2")
    }
    here = hashlib.sha256(render("snowy pine forest under the moon", 99, 256, 192, "clouds")[0]).hexdigest()
    assert digests == {here}


def _thumb(data: bytes) -> list[int]:
    return list(open_png(data).convert("RGB").resize((16, 16), Image.Resampling.BOX).tobytes())


def _difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference of 16x16 thumbnails, in 0..255 levels."""
    ta, tb = _thumb(a), _thumb(b)
    return sum(abs(x - y) for x, y in zip(ta, tb, strict=True)) / len(ta)


async def test_procedural_different_prompts_look_different() -> None:
    gen = ProceduralGenerator()
    prompts = ["a quiet mountain lake at sunset", "neon city skyline at night", "abstract bauhaus shapes",
               "snowy pine forest under the moon", "a cat", "a dog"]
    images = [(await gen.generate(GenerationRequest(prompt=p, seed=7, width=256, height=256))).data for p in prompts]
    assert len(set(images)) == len(images)
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert _difference(images[i], images[j]) > 8, (prompts[i], prompts[j])


async def test_procedural_seed_changes_the_picture() -> None:
    gen = ProceduralGenerator()
    a = await gen.generate(GenerationRequest(prompt="desert dunes at dawn", seed=1, width=256, height=256))
    b = await gen.generate(GenerationRequest(prompt="desert dunes at dawn", seed=2, width=256, height=256))
    assert a.data != b.data
    assert _difference(a.data, b.data) > 2


@pytest.mark.parametrize(("width", "height"), [(1024, 1024), (512, 768), (1024, 576), (64, 64), (2048, 64)])
async def test_procedural_png_of_requested_size(width: int, height: int) -> None:
    image = await ProceduralGenerator().generate(
        GenerationRequest(prompt="ocean waves with a golden sun", seed=3, width=width, height=height)
    )
    im = open_png(image.data)
    assert im.size == (width, height)
    assert im.mode == "RGB"
    assert image.parameters["size"] == f"{width}x{height}"
    # not a flat picture
    lo, hi = zip(*im.getextrema(), strict=True)
    assert max(hi) - min(lo) > 60


async def test_procedural_random_seed_is_reported() -> None:
    gen = ProceduralGenerator()
    req = GenerationRequest(prompt="stars over the galaxy", width=128, height=128)
    first, second = await gen.generate(req), await gen.generate(req)
    assert isinstance(first.seed, int) and 0 <= first.seed <= 2**32 - 1
    assert first.seed != second.seed  # 1 in 2**32 to fail
    again = await gen.generate(GenerationRequest(prompt="stars over the galaxy", width=128, height=128,
                                                 seed=first.seed))
    assert again.data == first.data


async def test_procedural_prompt_words_steer_the_scene() -> None:
    gen = ProceduralGenerator()
    city = await gen.generate(GenerationRequest(prompt="neon city skyline at night", seed=5, width=128, height=128))
    assert city.parameters["scene"] == "city"
    assert "stars" in city.parameters["motifs"].split(",")
    red = await gen.generate(GenerationRequest(prompt="red red red", seed=5, width=128, height=128))
    blue = await gen.generate(GenerationRequest(prompt="blue blue blue", seed=5, width=128, height=128))
    r_mean = ImageStat.Stat(open_png(red.data).convert("RGB")).mean
    b_mean = ImageStat.Stat(open_png(blue.data).convert("RGB")).mean
    assert r_mean[0] - r_mean[2] > b_mean[0] - b_mean[2] + 20


async def test_procedural_negative_prompt() -> None:
    gen = ProceduralGenerator()
    req = GenerationRequest(prompt="starry night over the sea", seed=9, width=128, height=128)
    plain = await gen.generate(req)
    assert "stars" in plain.parameters["motifs"].split(",")
    assert "negative_prompt" not in plain.parameters
    neg = await gen.generate(GenerationRequest(prompt=req.prompt, seed=9, width=128, height=128,
                                               negative_prompt="stars, moon"))
    assert not {"stars", "moon"} & set(neg.parameters["motifs"].split(","))
    assert neg.parameters["negative_prompt"] == "stars, moon"
    assert neg.data != plain.data


async def test_procedural_does_not_block_the_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await ProceduralGenerator().generate(GenerationRequest(prompt="busy", seed=1))
    finally:
        task.cancel()
    assert ticks >= 3


def test_generators_satisfy_the_protocol() -> None:
    assert isinstance(ProceduralGenerator(), Generator)
    assert isinstance(OpenAIGenerator("http://127.0.0.1:1/v1", "", "m", 1.0), Generator)


# --------------------------------------------------------------------------- a fake OpenAI server

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeOpenAI:
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    answer: Answer | None = None       # what POST /v1/images/generations does

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def replay(self, name: str, status: int = 200, *, server: str | None = None) -> None:
        """Answer with a fixture file, ``{server}`` replaced by this (or another) server's origin."""
        text = fixture_text(name).replace("{server}", server or self.origin)

        async def answer(request: web.Request) -> web.Response:
            return web.Response(text=text, status=status, content_type="application/json")

        self.answer = answer

    def respond(self, body: bytes | dict[str, Any], status: int = 200, content_type: str = "application/json",
                delay: float = 0.0) -> None:
        async def answer(request: web.Request) -> web.Response:
            if delay:
                await asyncio.sleep(delay)
            data = json.dumps(body).encode() if isinstance(body, dict) else body
            return web.Response(body=data, status=status, content_type=content_type)

        self.answer = answer


def _app(srv: FakeOpenAI) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        query = request.rel_url.raw_query_string  # as sent, not decoded
        srv.seen.append(Seen(request.method, request.path, query, dict(request.headers), body))
        return await handler(request)

    async def generations(request: web.Request) -> web.StreamResponse:
        assert srv.answer is not None, "the test did not say what to answer"
        return await srv.answer(request)

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=(FIXTURES / "dall-e-3_url_image.png").read_bytes(), content_type="image/png")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404, text="gone")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop.png")

    app = web.Application(middlewares=[record])
    app.router.add_post("/v1/images/generations", generations)
    app.router.add_get("/private/org-test/user-test/img-test.png", image)
    app.router.add_get("/missing.png", missing)
    app.router.add_get("/loop.png", loop)
    return app


async def _start(srv: FakeOpenAI) -> web.AppRunner:
    runner = web.AppRunner(_app(srv), handler_cancellation=True, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    srv.port = runner.addresses[0][1]
    return runner


@pytest.fixture
async def api() -> AsyncIterator[FakeOpenAI]:
    srv = FakeOpenAI()
    runner = await _start(srv)
    yield srv
    await runner.cleanup()


@pytest.fixture
async def other() -> AsyncIterator[FakeOpenAI]:
    """A second server: another origin (another port) for image downloads."""
    srv = FakeOpenAI()
    runner = await _start(srv)
    yield srv
    await runner.cleanup()


def _config(api: FakeOpenAI, timeout: float = 5.0) -> Config:
    return Config(domain="x.test", generator="openai", openai_base_url=f"http://127.0.0.1:{api.port}/v1",
                  openai_api_key="sk-test", openai_model="gpt-image-1", generation_timeout=timeout)


def _openai(api: FakeOpenAI, timeout: float = 5.0, *, api_key: str = "sk-test", **kwargs: Any) -> OpenAIGenerator:
    return OpenAIGenerator(api.base_url, api_key, "gpt-image-1", timeout, **kwargs)


def _from_config(api: FakeOpenAI, timeout: float = 5.0) -> OpenAIGenerator:
    gen = generator_from_config(_config(api, timeout))
    assert isinstance(gen, OpenAIGenerator)
    return gen


PROMPT = "a lighthouse at dusk"


async def _failure(gen: OpenAIGenerator, request: GenerationRequest | None = None) -> GenerationError:
    with pytest.raises(GenerationError) as info:
        await gen.generate(request or GenerationRequest(prompt=PROMPT))
    assert "sk-test" not in info.value.message
    return info.value


# --------------------------------------------------------------------------- OpenAI: success


async def test_openai_b64_json_gpt_image_1(api: FakeOpenAI) -> None:
    api.replay("generations_gpt-image-1.json")
    image = await _from_config(api).generate(GenerationRequest(prompt=PROMPT, seed=42, negative_prompt="fog"))

    assert len(api.seen) == 1
    seen = api.seen[0]
    assert (seen.method, seen.path) == ("POST", "/v1/images/generations")
    assert seen.headers["Authorization"] == "Bearer sk-test"
    assert seen.headers["Content-Type"].startswith("application/json")
    # exactly the documented fields: no response_format for gpt-image-1, no seed / negative_prompt for OpenAI
    assert seen.json() == {"model": "gpt-image-1", "prompt": PROMPT, "n": 1, "size": "1024x1024"}

    assert isinstance(image, GeneratedImage)
    assert image.data == fixture_image("generations_gpt-image-1.json")
    assert open_png(image.data).size == (1024, 1024)
    assert image.model == "gpt-image-1"
    assert image.seed is None  # the API took no seed
    assert image.revised_prompt is None
    assert image.parameters == {"size": "1024x1024", "quality": "medium", "background": "opaque",
                                "output_format": "png"}
    assert "bytes>" in repr(image) and "iVBOR" not in repr(image)


async def test_openai_dall_e_3_gets_response_format(api: FakeOpenAI) -> None:
    api.replay("generations_dall-e-3_b64.json")
    image = await _openai(api).generate(GenerationRequest(prompt=PROMPT, model="dall-e-3", width=1024, height=1792))
    assert api.seen[0].json() == {"model": "dall-e-3", "prompt": PROMPT, "n": 1, "size": "1024x1792",
                                  "response_format": "b64_json"}
    assert image.model == "dall-e-3"
    assert image.data == fixture_image("generations_dall-e-3_b64.json")
    assert image.revised_prompt is not None and image.revised_prompt.startswith("A tranquil lighthouse")
    assert image.parameters == {"size": "1024x1024"}  # the size of what came back


async def test_openai_url_same_origin(api: FakeOpenAI) -> None:
    api.replay("generations_dall-e-3_url.json")
    image = await _openai(api).generate(GenerationRequest(prompt=PROMPT))
    assert image.data == (FIXTURES / "dall-e-3_url_image.png").read_bytes()
    assert image.revised_prompt == fixture_json("generations_dall-e-3_url.json")["data"][0]["revised_prompt"]
    post, get = api.seen
    assert (get.method, get.path) == ("GET", "/private/org-test/user-test/img-test.png")
    # the signed query arrives exactly as sent
    assert get.query == "st=2025-04-18T18%3A23%3A20Z&se=2025-04-18T20%3A23%3A20Z&sp=r&sig=Ab%2Bcd%2Fef%3D"
    assert get.headers["Authorization"] == "Bearer sk-test"  # the API's own origin


async def test_openai_url_other_origin_gets_no_key(api: FakeOpenAI, other: FakeOpenAI) -> None:
    api.replay("generations_dall-e-3_url.json", server=other.origin)
    image = await _openai(api).generate(GenerationRequest(prompt=PROMPT))
    assert image.data == (FIXTURES / "dall-e-3_url_image.png").read_bytes()
    assert len(api.seen) == 1
    (get,) = other.seen
    assert get.path == "/private/org-test/user-test/img-test.png"
    assert "Authorization" not in get.headers


async def test_openai_without_key_sends_no_authorization(api: FakeOpenAI) -> None:
    api.replay("generations_gpt-image-1.json")
    await _openai(api, api_key="").generate(GenerationRequest(prompt=PROMPT))
    assert "Authorization" not in api.seen[0].headers


async def test_openai_extra_params_opt_in(api: FakeOpenAI) -> None:
    api.replay("generations_gpt-image-1.json")
    req = GenerationRequest(prompt=PROMPT, seed=42, negative_prompt="fog", steps=30, guidance_scale=7.5,
                            sampler="euler_a", width=512, height=512)
    image = await _openai(api, extra_params=True).generate(req)
    assert api.seen[0].json() == {"model": "gpt-image-1", "prompt": PROMPT, "n": 1, "size": "512x512", "seed": 42,
                                  "negative_prompt": "fog", "steps": 30, "guidance_scale": 7.5, "sampler": "euler_a"}
    assert image.seed == 42
    assert image.parameters["seed"] == "42"
    assert image.parameters["negative_prompt"] == "fog"
    assert image.parameters["steps"] == "30"
    assert image.parameters["guidance_scale"] == "7.5"
    assert image.parameters["sampler"] == "euler_a"

    # unset fields are not sent
    await _openai(api, extra_params=True).generate(GenerationRequest(prompt=PROMPT))
    assert api.seen[1].json() == {"model": "gpt-image-1", "prompt": PROMPT, "n": 1, "size": "1024x1024"}


async def test_openai_jpeg_answer_becomes_png(api: FakeOpenAI) -> None:
    buf = BytesIO()
    Image.new("RGB", (320, 200), (200, 40, 40)).save(buf, "JPEG")
    api.respond({"created": 1, "data": [{"b64_json": base64.b64encode(buf.getvalue()).decode()}]})
    image = await _openai(api).generate(GenerationRequest(prompt=PROMPT))
    assert open_png(image.data).size == (320, 200)
    assert image.parameters["size"] == "320x200"


# --------------------------------------------------------------------------- OpenAI: failures


async def test_openai_400_passes_the_api_message_on(api: FakeOpenAI) -> None:
    api.replay("error_400_invalid_size.json", status=400)
    err = await _failure(_openai(api), GenerationRequest(prompt=PROMPT, width=1000, height=1000))
    assert err.status == 502
    assert "HTTP 400" in err.message
    assert "Invalid value: '1000x1000'. Supported values are" in err.message
    assert api.seen[0].json()["size"] == "1000x1000"


async def test_openai_content_policy(api: FakeOpenAI) -> None:
    api.replay("error_400_content_policy_violation.json", status=400)
    err = await _failure(_openai(api))
    assert err.status == 502
    assert "rejected as a result of our safety system" in err.message


async def test_openai_401_message_is_scrubbed(api: FakeOpenAI) -> None:
    api.replay("error_401_invalid_api_key.json", status=401)
    gen = _openai(api)
    err = await _failure(gen)
    assert err.status == 502
    assert "Incorrect API key provided: [redacted]" in err.message
    assert "sk-test" not in str(err) and "sk-test" not in repr(gen)


async def test_openai_500_json(api: FakeOpenAI) -> None:
    api.replay("error_500_server_error.json", status=500)
    err = await _failure(_openai(api))
    assert err.status == 502
    assert "HTTP 500" in err.message
    assert "The server had an error processing your request" in err.message


async def test_openai_500_html(api: FakeOpenAI) -> None:
    api.respond(b"<html><body>Internal Server Error</body></html>", status=500, content_type="text/html")
    err = await _failure(_openai(api))
    assert (err.status, err.message) == (502, "the image generator answered HTTP 500")


async def test_openai_error_object_with_200(api: FakeOpenAI) -> None:
    api.respond(fixture_json("error_500_server_error.json"))
    err = await _failure(_openai(api))
    assert err.status == 502
    assert "The server had an error processing your request" in err.message


async def test_openai_timeout_is_504(api: FakeOpenAI) -> None:
    api.respond(fixture_json("generations_gpt-image-1.json"), delay=3.0)
    start = time.perf_counter()
    err = await _failure(_from_config(api, timeout=0.5))
    assert time.perf_counter() - start < 2.0
    assert err.status == 504
    assert err.message == "the image generator did not answer within 0.5 s"


@pytest.mark.parametrize(
    ("body", "content_type", "complaint"),
    [
        (b"\x00\xffgarbage\x89PNG", "application/octet-stream", "not JSON"),
        (b"[1, 2, 3]", "application/json", "not a JSON object"),
        (json.dumps({"created": 1, "data": [{"b64_json": base64.b64encode(b"not an image at all").decode()}]}).encode(),
         "application/json", "not an image"),
        (json.dumps({"created": 1, "data": [{"b64_json": "%%%="}]}).encode(), "application/json", "base64"),
        (json.dumps({"created": 1, "data": []}).encode(), "application/json", "no image"),
        (json.dumps({"created": 1, "data": [{"revised_prompt": "x"}]}).encode(), "application/json", "no image"),
        (json.dumps({"created": 1, "data": [{"url": "file:///etc/passwd"}]}).encode(), "application/json",
         "not http or https"),
    ],
)
async def test_openai_garbage_is_502(api: FakeOpenAI, body: bytes, content_type: str, complaint: str) -> None:
    api.respond(body, content_type=content_type)
    err = await _failure(_openai(api))
    assert err.status == 502
    assert complaint in err.message


async def test_openai_truncated_png_is_502(api: FakeOpenAI) -> None:
    png = fixture_image("generations_gpt-image-1.json")
    api.respond({"created": 1, "data": [{"b64_json": base64.b64encode(png[: len(png) // 2]).decode()}]})
    err = await _failure(_openai(api))
    assert (err.status, err.message) == (502, "the image generator sent something that is not an image")


async def test_openai_download_failure_and_size_cap(api: FakeOpenAI) -> None:
    api.respond({"created": 1, "data": [{"url": f"{api.origin}/missing.png"}]})
    err = await _failure(_openai(api))
    assert (err.status, err.message) == (502, "downloading the generated image failed with HTTP 404")

    api.replay("generations_dall-e-3_url.json")
    err = await _failure(_openai(api, max_image_bytes=1000))
    assert (err.status, err.message) == (502, "the image generator sent more than 1000 bytes")

    png = fixture_image("generations_gpt-image-1.json")
    api.respond({"created": 1, "data": [{"b64_json": base64.b64encode(png).decode()}]})
    err = await _failure(_openai(api, max_image_bytes=1000))
    assert (err.status, err.message) == (502, "the generated image is larger than 1000 bytes")


async def test_openai_redirects(api: FakeOpenAI) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere")

    api.answer = moved
    err = await _failure(_openai(api))
    assert (err.status, err.message) == (502, "the image generator answered HTTP 307")
    assert [seen.path for seen in api.seen] == ["/v1/images/generations"]  # the POST is not followed

    api.respond({"created": 1, "data": [{"url": f"{api.origin}/loop.png"}]})
    err = await _failure(_openai(api))
    assert (err.status, err.message) == (502, "the image generator sent a broken answer")


async def test_openai_any_echoed_key_is_scrubbed(api: FakeOpenAI) -> None:
    api.respond({"error": {"message": "bad token local-secret-42 (also sk-proj-abc123)", "type": "auth",
                           "param": None, "code": None}}, status=403)
    err = await _failure(_openai(api, api_key="local-secret-42"))
    assert err.message == "the image generator answered HTTP 403: bad token [redacted] (also sk-[redacted])"


async def test_openai_connection_refused_is_502() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gen = OpenAIGenerator(f"http://127.0.0.1:{port}/v1", "sk-test", "gpt-image-1", 5.0)
    err = await _failure(gen)
    assert (err.status, err.message) == (502, "the image generator could not be reached")


# --------------------------------------------------------------------------- configuration


async def test_generator_from_config(api: FakeOpenAI) -> None:
    assert isinstance(generator_from_config(Config(domain="x.test")), ProceduralGenerator)
    assert isinstance(generator_from_config(Config(domain="x.test", generator="procedural")), ProceduralGenerator)

    gen = generator_from_config(_config(api, timeout=12.5))
    assert isinstance(gen, OpenAIGenerator)
    assert gen.name == "openai"
    assert (gen.base_url, gen.model, gen.timeout, gen.extra_params) == (api.base_url, "gpt-image-1", 12.5, False)
    api.replay("generations_gpt-image-1.json")
    image = await gen.generate(GenerationRequest(prompt=PROMPT))
    assert image.model == "gpt-image-1"
    assert api.seen[0].headers["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/v1", "127.0.0.1:8080/v1", "file:///tmp/x", "http:///v1"])
def test_generator_from_config_refuses_other_schemes(url: str) -> None:
    with pytest.raises(ConfigError):
        generator_from_config(Config(domain="x.test", generator="openai", openai_base_url=url))


def test_generator_from_config_unknown_backend() -> None:
    with pytest.raises(ConfigError):
        generator_from_config(Config(domain="x.test", generator="midjourney"))
