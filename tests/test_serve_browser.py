"""The web page in a real browser: Debian's headless Chromium driven by selenium against
`embedlab serve` running in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from embedlab.config import RunConfig
from embedlab.training.run import train_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CLASSES = ["World", "Sports", "Business", "Sci/Tech"]


def _browser_missing() -> bool:
    return not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER))


if _browser_missing() and not os.environ.get("CI"):
    pytest.skip("Debian's chromium and chromium-driver are not installed "
                "(apt-get install chromium chromium-driver; CI installs them)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedlab_server):
    cfg = RunConfig.from_dict({
        "data": {"dataset": "ag_news_sample", "limit": 1200},
        "model": {"name": "cnn"},
        "embeddings": {"dim": 32, "source": None},
        "training": {"epochs": 4, "progress": False, "seed": 2},
    })
    out: Path = tmp_path_factory.mktemp("page") / "ag-news"
    train_run(cfg, out)
    with embedlab_server(str(out)) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,860",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_page_classifies_typed_text_and_shows_the_card(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(server + "/")
    wait.until(lambda d: len(Select(d.find_element(By.ID, "model")).options) == 1)
    assert Select(browser.find_element(By.ID, "model")).first_selected_option.text == "ag-news"
    # the model card beside the form
    wait.until(ec.presence_of_element_located((By.ID, "card-accuracy")))
    card = browser.find_element(By.ID, "card").text
    assert "cnn" in card and "ag_news_sample" in card and "sha256" in card

    text = "Wall Street stocks fall as oil prices climb and investors sell shares"
    box = browser.find_element(By.ID, "text")
    box.send_keys(text)
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#bars .bar")) == len(CLASSES))
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
    assert sorted(b.get_attribute("data-label") for b in bars) == sorted(CLASSES)
    label = browser.find_element(By.ID, "label").text
    assert label == bars[0].get_attribute("data-label")
    widths = [b.find_element(By.CSS_SELECTOR, ".fill").size["width"] for b in bars]
    assert widths == sorted(widths, reverse=True) and widths[0] > 0
    # the text highlighted by its explanation (auto: integrated gradients for a cnn), ranked words
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ranked li"))
    tokens = browser.find_elements(By.CSS_SELECTOR, "#highlight .tok")
    assert [t.text.lower() for t in tokens] == text.lower().split()
    assert any("background" in (t.get_attribute("style") or "") for t in tokens)
    ranked = browser.find_elements(By.CSS_SELECTOR, "#ranked li")
    assert len(ranked) == 10
    explained = httpx.post(f"{server}/v1/models/ag-news/explain", json={"text": text}, timeout=60).json()
    best = max(explained["tokens"], key=lambda t: t["score"])
    assert ranked[0].find_element(By.CSS_SELECTOR, ".w").text == text[best["start"]:best["end"]]
    assert "method ig" in browser.find_element(By.ID, "legend").text
    # the page shows what the API says
    api = httpx.post(f"{server}/v1/models/ag-news/predict", json={"texts": [text]}).json()
    assert api["predictions"][0]["label"] == label
    browser.save_screenshot(str(tmp_path / "page.png"))
    assert (tmp_path / "page.png").stat().st_size > 10_000

    # a text of unknown words: predicted, with the warning that the text did not count
    box.clear()
    box.send_keys("qwxzv blorptang")
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.find_element(By.ID, "status").is_displayed())
    assert "vocabulary" in browser.find_element(By.ID, "status").text
    # a blank text is not sent; the page says what to do
    box.clear()
    box.send_keys("   ")
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert browser.find_element(By.ID, "error").text == "Type a text first."
