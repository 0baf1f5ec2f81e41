"""The ``tts-serve`` web page in headless Chromium: type, click Speak, hear (decoded) audio.

Uses the system Chromium (Debian ``chromium``; ``scripts/setup.sh --system-packages`` installs it)
through Playwright's ``executable_path``: Playwright's own browser download needs the internet.
``$TTS_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the [dev] extra)")

from serve_support import build_served_voice, running  # noqa: E402

from tts.serve.app import ServeSettings, create_app  # noqa: E402
from tts.serve.voice import load_synthesizers  # noqa: E402
from tts.serve.workers import SynthesisPool  # noqa: E402


def _chromium() -> str | None:
    for name in (os.environ.get("TTS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium installed (apt-get install chromium, or scripts/setup.sh --system-packages)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthesisPool]:
    voice = build_served_voice(tmp_path_factory.mktemp("page-voice"))
    p = SynthesisPool(load_synthesizers(Path(voice), workers=1, threads=1), max_queue=4)
    yield p
    p.close()


def test_speak_button_plays_streamed_audio(browser: object, pool: SynthesisPool) -> None:
    with running(create_app(pool)) as url:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(url + "/")
        page.wait_for_function("document.querySelectorAll('#speaker option').length === 2")
        page.select_option("#speaker", "bob")
        page.fill("#text", "Testing the page. It streams as it speaks.")
        page.click("#speak")
        page.wait_for_function("window.ttsState.done || window.ttsState.error", timeout=30_000)
        state = page.evaluate("window.ttsState")
        assert state["error"] is None and state["done"]
        assert state["samples"] > 22050 // 2 and state["peak"] > 0.01  # decoded, not silent
        link = page.locator("#download")
        assert link.is_visible() and link.get_attribute("href").startswith("blob:")
        page.close()


def test_page_shows_an_error_and_needs_the_key(browser: object, pool: SynthesisPool) -> None:
    with running(create_app(pool, ServeSettings(api_key="k3y"))) as url:
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(url + "/")  # the page loads without the key; its API calls need it
        page.fill("#text", "Hello.")
        page.click("#speak")
        page.wait_for_function("window.ttsState.error !== null", timeout=30_000)
        assert "API key" in page.evaluate("window.ttsState.error")
        page.fill("#key", "k3y")
        page.click("#speak")
        page.wait_for_function("window.ttsState.done || window.ttsState.error", timeout=30_000)
        assert page.evaluate("window.ttsState.done") and page.evaluate("window.ttsState.peak") > 0.01
        page.close()
