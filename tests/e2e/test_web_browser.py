"""The web page in headless Chromium (Debian's, installed by `make browser`) against the local mode:
sign in as the demo user, upload two real images, watch them complete with boxes drawn, search by a
label, delete one. Screenshots land in test-artifacts/ (git-ignored)."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright
from skimage import data

from local.tools.client import AppClient, find_output
from tests.support.synth import ROOT

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
ANALYSIS_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, client: AppClient) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(find_output(client.outputs, "WebUrl"))
    yield page
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def _credentials(client: AppClient) -> tuple[str, str]:
    local = client.outputs.get("Local", {})
    username = os.environ.get("E2E_USERNAME") or local["DemoUsername"]
    password = os.environ.get("E2E_PASSWORD") or local["DemoPassword"]
    return username, password


def _sign_in(page: Page, username: str, password: str) -> None:
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#signin-button").click()


def _jpeg(image: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG")
    return buffer.getvalue()


def _card(page: Page, image_id: str) -> Locator:
    return page.locator(f'[data-testid="image-card"][data-image-id="{image_id}"]')


def _screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_wrong_password_shows_an_error_and_keeps_the_page_signed_out(page: Page, client: AppClient) -> None:
    # Given the demo user's name with a wrong password
    username, _ = _credentials(client)
    # When they sign in
    _sign_in(page, username, "not-the-password-1A!")
    # Then the page says so and stores no session
    expect(page.get_by_test_id("signin-error")).to_have_text("Incorrect username or password.")
    expect(page.locator("#app-view")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_user_uploads_two_images_sees_boxes_searches_by_label_and_deletes_one(
    page: Page, client: AppClient, photos: dict[str, bytes]
) -> None:
    # Given the demo user signed in on the web page
    _sign_in(page, *_credentials(client))
    expect(page.locator("#app-view")).to_be_visible()
    # When they pick a photograph with a face and a page of printed text, looking for labels, text and faces
    for feature in ("labels", "text", "faces"):
        page.locator(f'input[name="feature"][value="{feature}"]').check()
    page.get_by_test_id("file-input").set_input_files(
        [
            {"name": "astronaut.jpg", "mimeType": "image/jpeg", "buffer": _jpeg(data.astronaut())},
            {"name": "printed-text.png", "mimeType": "image/png", "buffer": photos["text.png"]},
        ]
    )
    # Then each upload shows its progress, then its analysis, until both are done
    uploads = page.get_by_test_id("upload-item")
    expect(uploads).to_have_count(2)
    expect(page.locator('[data-testid="upload-item"][data-state="done"]')).to_have_count(2, timeout=ANALYSIS_TIMEOUT_MS)
    ids = {
        item.locator(".upload-name").inner_text(): str(item.get_attribute("data-image-id")) for item in uploads.all()
    }
    photo, text = ids["astronaut.jpg"], ids["printed-text.png"]
    # And both images are in My images, completed, with their boxes drawn over them
    for image_id in (photo, text):
        expect(_card(page, image_id)).to_have_attribute("data-status", "COMPLETED")
        _card(page, image_id).scroll_into_view_if_needed()  # the pictures load lazily
        expect(_card(page, image_id).locator("img")).to_have_js_property("complete", True)
        # (complete is also true for a broken picture: the display link must really have served the image)
        assert _card(page, image_id).locator("img").evaluate("img => img.naturalWidth") > 0
    _assert_boxes_drawn_on_the_picture(_card(page, photo), "face")
    _assert_boxes_drawn_on_the_picture(_card(page, text), "text")
    for progress in page.locator('[data-testid="upload-item"] progress').all():
        expect(progress).to_have_attribute("value", "100")
    _screenshot(page, "web.png")

    # When they open the photograph
    _card(page, photo).get_by_test_id("card-open").click()
    detail = page.get_by_test_id("image-detail")
    expect(detail).to_be_visible()
    # Then the detail lists its labels with confidence and its face, with captioned boxes
    expect(detail.get_by_test_id("detail-labels").locator("li").first).to_contain_text("%")
    expect(detail.get_by_test_id("detail-faces")).to_contain_text("Face 1")
    expect(detail.locator("#detail-figure g.box-face text").first).to_have_text("Face 1")
    page.screenshot(path=str(ARTIFACTS / "web-detail.png"))
    # When they re-analyse it, adding moderation to what it was analysed for
    page.get_by_test_id("reanalyze-button").click()
    form = page.get_by_test_id("reanalyze-form")
    expect(form.locator('input[value="faces"]')).to_be_checked()  # the features it has are pre-selected
    form.locator('input[value="moderation"]').check()
    form.get_by_test_id("reanalyze-run").click()
    # Then the detail shows it being analysed (the page asks again after a second at the earliest), then
    # completed with the new feature merged into the result
    expect(detail).to_have_attribute("data-status", "PENDING")
    expect(detail).to_have_attribute("data-status", "COMPLETED", timeout=ANALYSIS_TIMEOUT_MS)
    result = client.wait_for(photo)
    assert {"labels", "text", "faces", "moderation"} <= set(result["features"]) <= set(result["results"])
    page.locator("#detail-close").click()
    expect(detail).to_be_hidden()

    # When they search for a label only the photograph has, at a confidence it meets
    label, confidence = _label_only_in(client.wait_for(photo), client.wait_for(text))
    page.get_by_test_id("search-label").fill(label)
    page.get_by_test_id("search-confidence").fill(str(5 * math.floor(confidence / 5)))
    page.get_by_test_id("search-button").click()
    # Then only the photograph is listed
    expect(page.get_by_test_id("gallery-summary")).to_contain_text(f"labelled “{label}”")
    expect(_card(page, photo)).to_be_visible()
    expect(_card(page, text)).to_have_count(0)

    # When they list all images again (the listing brings summaries) and open the printed text
    with page.expect_response(lambda response: "/images?" in response.url and "label=" not in response.url) as listed:
        page.locator("#search-clear").click()
    assert all("results" not in item for item in listed.value.json()["items"])
    with page.expect_response(lambda response: response.url.endswith(f"/images/{text}")):
        _card(page, text).get_by_test_id("card-open").click()
    # Then the detail shows its full result, fetched for it: the lines of text it found
    expect(detail.get_by_test_id("detail-text").locator("li").first).to_contain_text("%")
    # When they delete it
    page.get_by_test_id("delete-button").click()
    page.get_by_test_id("delete-confirm").click()
    # Then its card is gone, the photograph stays, and the API no longer knows the image
    expect(_card(page, text)).to_have_count(0)
    expect(_card(page, photo)).to_be_visible()
    expect(uploads.filter(has_text="printed-text.png")).to_contain_text("Deleted")
    assert client.call("GET", f"images/{text}").status == 404
    _screenshot(page, "web-after-delete.png")


def test_a_slow_earlier_listing_does_not_mix_into_the_results_of_a_later_search(
    page: Page, client: AppClient, photos: dict[str, bytes]
) -> None:
    # Given the demo user has an image, and the listing the page asks for at sign-in answers slowly
    image_id = client.upload("slow-listing.jpg", photos["cat.jpg"], "image/jpeg", ["labels"])
    client.wait_for(image_id)
    held: list[Route] = []
    page.route(
        "**/images?*", lambda route: held.append(route) if "label=" not in route.request.url else route.continue_()
    )
    try:
        _sign_in(page, *_credentials(client))
        expect(page.locator("#app-view")).to_be_visible()
        for _ in range(200):  # until the page has sent its first listing
            if held:
                break
            page.wait_for_timeout(50)
        assert len(held) == 1
        # When they search for a label no image has before that listing answers, and then it answers
        page.get_by_test_id("search-label").fill("no-such-label-anywhere")
        page.get_by_test_id("search-button").click()
        expect(page.get_by_test_id("gallery-summary")).to_contain_text("No images labelled")
        with page.expect_response(lambda response: response.request.url == held[0].request.url):
            held[0].continue_()
        page.wait_for_timeout(1500)  # time for the page to render what that listing brought (the bug did)
        # Then the gallery still shows the search's (empty) answer, not the earlier listing's images
        expect(page.get_by_test_id("image-card")).to_have_count(0)
        expect(page.get_by_test_id("gallery-summary")).to_contain_text("No images labelled")
    finally:
        client.call("DELETE", f"images/{image_id}")


def test_on_a_phone_the_signed_in_page_fits_the_screen_width(page: Page, client: AppClient) -> None:
    # Given a phone-sized screen
    page.set_viewport_size({"width": 375, "height": 740})
    # When the demo user signs in
    _sign_in(page, *_credentials(client))
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.get_by_test_id("gallery-summary")).not_to_be_empty()
    # Then nothing scrolls sideways and the upload and search controls are on screen at full width
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for control in ("dropzone", "search-button", "search-label"):
        box = page.get_by_test_id(control).bounding_box()
        assert box is not None, control
        assert box["x"] >= 0, control
        assert box["x"] + box["width"] <= 375, control


HOSTILE = '<img src=x onerror="window.injected=1"><script>window.injected=2</script>'


def test_result_text_is_shown_as_text_never_parsed_as_html(page: Page) -> None:
    # Given a result whose filename, labels, detected text, emotions, moderation and celebrity fields are HTML
    result = {
        "imageId": "hostile",
        "status": "COMPLETED",
        "createdAt": "2026-01-01T00:00:00Z",
        "filename": HOSTILE,
        "features": ["labels", "text", "faces", "moderation", "celebrities"],
        "image": {"format": HOSTILE, "width": 100, "height": 100, "sizeBytes": 10},
        "results": {
            "labels": [
                {
                    "name": HOSTILE,
                    "confidence": 99,
                    "parents": [HOSTILE],
                    "instances": [
                        {"boundingBox": {"left": 0.1, "top": 0.1, "width": 0.5, "height": 0.5}, "confidence": 99}
                    ],
                }
            ],
            "text": {
                "lines": [
                    {"text": HOSTILE, "confidence": 90, "boundingBox": {"left": 0, "top": 0, "width": 1, "height": 0.1}}
                ]
            },
            "faces": [
                {
                    "confidence": 99,
                    "emotions": [{"type": HOSTILE, "confidence": 90}],
                    "boundingBox": {"left": 0.2, "top": 0.2, "width": 0.2, "height": 0.2},
                }
            ],
            "moderation": {"unsafe": False, "labels": [{"name": HOSTILE, "parentName": HOSTILE, "confidence": 80}]},
            "celebrities": {"celebrities": [{"name": HOSTILE, "confidence": 99, "urls": ["javascript:alert(1)"]}]},
        },
    }
    # When the page's own renderers build the card, the picture with captions and the detail lists
    page.evaluate(
        """async (result) => {
            const render = await import("./lib/render.js");
            const host = document.createElement("div");
            host.id = "hostile-host";
            host.append(
                render.card(result, { url: "", revealed: true, onOpen() {}, onReveal() {} }),
                render.figure(result, { captions: true, revealed: true }),
                ...render.detailInfo(result),
            );
            document.body.append(host);
        }""",
        result,
    )
    host = page.locator("#hostile-host")
    # Then the HTML shows up as text, no element or script came out of it, and links stay http(s)
    expect(host).to_contain_text("<img src=x")
    assert host.locator("script").count() == 0
    assert host.locator("img[onerror]").count() == 0
    assert page.evaluate("window.injected") is None
    for href in host.locator("a").evaluate_all("links => links.map((a) => a.href)"):
        assert href.startswith(("https://", "http://")), href


def _assert_boxes_drawn_on_the_picture(card: Locator, kind: str) -> None:
    """At least one box of ``kind`` is rendered with a size, inside the picture's rectangle."""
    picture = card.locator("img").bounding_box()
    rects = card.locator(f"g.box-{kind} rect")
    assert picture is not None
    assert rects.count() >= 1, kind
    for rect in rects.all():
        box = rect.bounding_box()
        assert box is not None
        assert box["width"] > 0, (kind, box)
        assert box["height"] > 0, (kind, box)
        assert picture["x"] - 1 <= box["x"] <= box["x"] + box["width"] <= picture["x"] + picture["width"] + 1
        assert picture["y"] - 1 <= box["y"] <= box["y"] + box["height"] <= picture["y"] + picture["height"] + 1


def _label_only_in(document: dict[str, Any], other: dict[str, Any]) -> tuple[str, float]:
    """The most confident label of ``document`` that ``other`` does not have."""
    others = {label["name"].lower() for label in other["results"].get("labels", [])}
    mine = [label for label in document["results"]["labels"] if label["name"].lower() not in others]
    assert mine, "the photograph has no label of its own"
    return mine[0]["name"], float(mine[0]["confidence"])
