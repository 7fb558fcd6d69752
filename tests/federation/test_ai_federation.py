"""Issue 3 across two real instances: full generation metadata, label, licence and a remix link."""

from __future__ import annotations

import pytest

from tests.federation.instance import AS2, user_with_token, wait_for
from tests.federation.test_two_instances import _follow, _home_status
from tests.helpers import png_bytes

pytestmark = pytest.mark.federation


def test_generation_metadata_label_licence_and_remix_round_trip(pair, tmp_path):
    a, b = pair
    a_token, b_token = user_with_token(a, "alice"), user_with_token(b, "bob")
    a.start()
    b.start()
    _follow(b, b_token, a, "alice")
    parent = b.api("POST", "/api/v1/statuses", b_token, {"status": "the original owl"})
    found = a.api("GET", f"/api/v2/search?q={parent['uri']}&resolve=true", a_token)
    [parent_on_a] = found["statuses"]

    img = tmp_path / "owl.png"
    img.write_bytes(png_bytes(256, 192))
    out = a.cli("post", "alice", str(img), "--caption", "Owl, remixed", "--alt", "an owl in oils",
                "--model", "sdxl", "--model-version", "1.0", "--prompt", "an owl, oil painting",
                "--negative-prompt", "blurry", "--seed", "42", "--steps", "30", "--sampler", "euler_a",
                "--guidance-scale", "7.5", "--param", "lora=owls-v1", "--license", "CC-BY-4.0",
                "--no-ai-training", "--remix-of", parent_on_a["id"])
    uri = out.stdout.strip().splitlines()[-1]
    seen = _home_status(b, b_token, uri)
    fedi = seen["fedi"]
    assert fedi["ai_generated"] is True
    assert fedi["generation"] == {"model": "sdxl", "model_version": "1.0", "prompt": "an owl, oil painting",
                                  "negative_prompt": "blurry", "prompt_private": False, "seed": 42, "steps": 30,
                                  "sampler": "euler_a", "guidance_scale": 7.5,
                                  "parameters": [{"name": "lora", "value": "owls-v1"}]}
    assert fedi["remix_of"] == parent["uri"] and fedi["remix_of_id"] == parent["id"]
    [media] = seen["media_attachments"]
    assert media["description"] == "an owl in oils"
    assert (media["fedi"]["license"], media["fedi"]["ai_training"]) == ("CC-BY-4.0", False)
    assert media["fedi"]["digital_source_type"].endswith("trainedAlgorithmicMedia")
    assert "Made with sdxl" in seen["content"]
    # the parent's author on the other server is told, and its remixes collection lists the remix
    wait_for(lambda: any(n["type"] == "remix" for n in b.api("GET", "/api/v1/notifications", b_token)),
             what="the remix notification")
    remixes = b.get(parent["uri"] + "/remixes", accept=AS2)[1]
    assert remixes["totalItems"] == 1


def test_fedi_generate_cli_posts_and_federates(pair):
    a, b = pair
    user_with_token(a, "alice")
    b_token = user_with_token(b, "bob")
    a.start()
    b.start()
    _follow(b, b_token, a, "alice")
    out = a.cli("generate", "alice", "--prompt", "a lighthouse at dusk", "--seed", "7", "--size", "512x384",
                "--caption", "first light")
    seen = _home_status(b, b_token, out.stdout.strip().splitlines()[-1])
    assert seen["fedi"]["generation"]["prompt"] == "a lighthouse at dusk"
    assert seen["fedi"]["generation"]["seed"] == 7
    assert seen["media_attachments"][0]["meta"]["original"]["width"] == 512
    bad = a.cli("generate", "alice", "--prompt", "x", "--size", "huge", check=False)
    assert bad.returncode != 0 and "--size" in bad.stderr
