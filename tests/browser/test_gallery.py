"""The web gallery in a real browser (headless Chromium, Playwright) against two real `fedi serve`
processes: sign in, post an image with alt text, see it in the gallery and on its page, like it from a
second account without JavaScript, follow someone on the other server by handle and see their post in
the home feed, and like it across servers. Screenshots of the main pages go to FEDI_SCREENSHOTS_DIR
(docs/screenshots when refreshing the docs) or the test's temporary folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

from tests.federation.instance import Instance, wait_for  # noqa: E402

pytestmark = pytest.mark.federation
PASSWORD = "a long test password"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def picture(path: Path, prompt: str, width: int, height: int, seed: int) -> Path:
    from fedi.generation.procedural import render
    path.write_bytes(render(prompt, seed, width, height)[0])
    return path


def new_page(browser: Any, problems: list[str], **options: Any) -> Page:
    context = browser.new_context(viewport=options.pop("viewport", DESKTOP), **options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda resp: problems.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None)
    return page


def shoot(page: Page, path: Path, *, full_page: bool = True) -> None:
    """A screenshot once every image has loaded (lazy ones included: scrolled through first)."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=full_page)


def sign_in(page: Page, inst: Instance, name: str) -> None:
    page.goto(f"{inst.base}/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{inst.base}/home")


def upload(page: Page, inst: Instance, image: Path, alt: str, caption: str, **fields: str) -> str:
    """Post one image through the compose form; returns the post page's URL."""
    page.goto(f"{inst.base}/compose")
    page.locator("#image1").set_input_files(str(image))
    page.get_by_label("Alt text: describe the image for people who cannot see it").first.fill(alt)
    page.locator("#u-caption").fill(caption)
    for name, value in fields.items():
        page.locator(f"#u-{name}").fill(value)
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.get_by_text("Posted.")).to_be_visible()
    return page.url


def generate(page: Page, inst: Instance, prompt: str, size: str, caption: str) -> str:
    page.goto(f"{inst.base}/compose")
    page.locator("#g-prompt").fill(prompt)
    page.locator("#g-size").select_option(size)
    page.locator("#g-caption").fill(caption)
    page.get_by_role("button", name="Generate and post").click()
    expect(page.get_by_text("Posted.")).to_be_visible()
    return page.url


def check_accessible(page: Page) -> None:
    """Every image has an alt attribute, every field a label; landmarks are there; nothing overflows."""
    assert page.eval_on_selector_all("img", "els => els.filter(e => !e.hasAttribute('alt')).length") == 0
    unlabelled = page.eval_on_selector_all(
        "input:not([type=hidden]):not([hidden]), textarea, select",
        "els => els.filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name)")
    assert unlabelled == [], unlabelled
    for landmark in ("banner", "navigation", "main", "contentinfo"):
        assert page.get_by_role(landmark).count() >= 1, landmark
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "horizontal scroll"


def test_post_like_and_follow_across_servers(pair: tuple[Instance, Instance], browser: Any,
                                              screenshots: Path, tmp_path: Path) -> None:
    a, b = pair
    a.start()
    b.start()
    for inst, name, display in ((a, "alice", "Alice Liddell"), (a, "carol", "Carol"), (b, "bob", "Bob")):
        inst.cli("user", "create", name, "--display-name", display, "--password", PASSWORD)
    bob_token = b.cli("token", "create", "bob").stdout.strip().splitlines()[-1]
    problems: list[str] = []

    # alice signs in on a and posts an image with alt text, then two generated ones
    alice = new_page(browser, problems)
    sign_in(alice, a, "alice")
    expect(alice.get_by_role("link", name="Skip to content")).to_be_attached()
    alice.keyboard.press("Tab")
    assert alice.evaluate("document.activeElement.textContent") == "Skip to content"
    check_accessible(alice)
    fox = picture(tmp_path / "fox.png", "a red fox in the snow at dawn", 1024, 768, 11)
    post_url = upload(alice, a, fox, "A red fox standing in deep snow, lit by a pink dawn sky",
                      "Fox at dawn #aiart", model="sdxl-1.0", prompt="a red fox in the snow at dawn", seed="11",
                      license="CC-BY-4.0")
    assert re.fullmatch(rf"{re.escape(a.base)}/@alice/\d+", post_url)
    img = alice.locator(".images img").first
    expect(img).to_have_attribute("alt", "A red fox standing in deep snow, lit by a pink dawn sky")
    expect(alice.locator(".generation")).to_contain_text("sdxl-1.0")
    expect(alice.locator(".generation")).to_contain_text("Content Credentials: none")
    assert alice.locator('meta[property="og:image"]').get_attribute("content").startswith(f"{a.base}/media/")
    generate(alice, a, "teal mountains under stars at night", "portrait", "Night hike #aiart")
    generate(alice, a, "golden dunes at sunset", "landscape", "Dunes")

    alice.goto(f"{a.base}/")
    card = alice.locator(".grid img[alt='A red fox standing in deep snow, lit by a pink dawn sky']")
    expect(card).to_be_visible()
    assert alice.locator(".grid .card").count() == 3
    check_accessible(alice)
    shoot(alice, screenshots / "gallery.png")
    alice.goto(f"{a.base}/@alice")
    expect(alice.get_by_role("heading", name="Alice Liddell")).to_be_visible()
    shoot(alice, screenshots / "profile.png")
    alice.goto(f"{a.base}/compose")
    check_accessible(alice)
    shoot(alice, screenshots / "compose.png")

    # carol likes it from a second browser context, with JavaScript off: the forms work without it
    carol = new_page(browser, problems, java_script_enabled=False)
    sign_in(carol, a, "carol")
    carol.goto(post_url)
    carol.get_by_role("button", name="Like", exact=True).focus()          # and with the keyboard
    carol.keyboard.press("Enter")
    expect(carol.get_by_role("button", name="Liked (press to unlike)")).to_be_visible()
    expect(carol.locator(".reactions .counts")).to_contain_text("1 like")
    carol.get_by_label("Your reply").fill("The light on the snow is lovely!")
    carol.get_by_role("button", name="Reply").click()
    expect(carol.locator(".replies")).to_contain_text("The light on the snow is lovely!")

    alice.goto(post_url)
    expect(alice.locator(".reactions .counts")).to_contain_text("1 like")
    check_accessible(alice)
    shoot(alice, screenshots / "post.png")
    alice.goto(f"{a.base}/notifications")
    expect(alice.locator("main")).to_contain_text("liked your post")
    shoot(alice, screenshots / "notifications.png")
    alice.goto(f"{a.base}/settings")
    check_accessible(alice)
    alice.get_by_label("Blur them until I choose to see them").check()
    alice.get_by_role("button", name="Save settings").click()
    expect(alice.get_by_text("Your settings are saved.")).to_be_visible()
    expect(alice.get_by_label("Blur them until I choose to see them")).to_be_checked()
    shoot(alice, screenshots / "settings.png")

    # alice follows bob, on the other server, by handle
    alice.goto(f"{a.base}/follow")
    alice.get_by_label("Handle").fill(f"bob@{b.domain}")
    alice.get_by_role("button", name="Follow").click()
    expect(alice).to_have_url(f"{a.base}/@bob@{b.domain}")

    def accepted() -> bool:
        alice.reload()
        return alice.get_by_text("You follow this account.").count() == 1

    wait_for(accepted, 20, "bob's server to accept the follow")

    # bob posts on b; it reaches alice's home feed on a
    bob = new_page(browser, problems)
    sign_in(bob, b, "bob")
    lake = picture(tmp_path / "lake.png", "a misty blue lake with mountains", 960, 640, 5)
    bob_url = upload(bob, b, lake, "A misty blue lake between dark mountains", "Morning lake #aiart",
                     model="flux-dev", prompt="a misty blue lake with mountains")
    bob_id = bob_url.rsplit("/", 1)[1]

    def in_home() -> bool:
        alice.goto(f"{a.base}/home")
        return alice.locator("img[alt='A misty blue lake between dark mountains']").count() == 1

    wait_for(in_home, 20, "bob's post in alice's home feed")
    expect(alice.locator("img[alt='A misty blue lake between dark mountains']")).to_be_visible()
    shoot(alice, screenshots / "home.png")

    # alice likes bob's post from a; bob's server counts it
    alice.locator("img[alt='A misty blue lake between dark mountains']").click()
    expect(alice.get_by_role("link", name="View on its server")).to_have_attribute("href", bob_url)
    alice.get_by_role("button", name="Like", exact=True).click()
    expect(alice.get_by_role("button", name="Liked (press to unlike)")).to_be_visible()
    wait_for(lambda: b.api("GET", f"/api/v1/statuses/{bob_id}", bob_token)["favourites_count"] == 1, 20,
             "the like to reach bob's server")

    # on a phone
    phone = new_page(browser, problems, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    phone.goto(post_url)
    check_accessible(phone)
    shoot(phone, screenshots / "post-phone.png")
    phone.goto(f"{a.base}/")
    check_accessible(phone)
    shoot(phone, screenshots / "gallery-phone.png", full_page=False)

    assert problems == [], problems     # no script errors and no Content-Security-Policy violations
