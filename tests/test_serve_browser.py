"""The web page in a real browser: Debian's headless Chromium driven by selenium against
`embedlab serve` running in a subprocess on a free loopback port. The browser resolves no host
but 127.0.0.1 (the network is off for it), so everything the page and /docs show is local."""

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
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
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
    best = max(explained["tokens"], key=lambda t: abs(t["score"]))  # ranked by |score|
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


def _classify(browser, server: str, text: str, width: int | None = None) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if width is not None:  # the viewport of a phone-sized window (headless windows have a minimum)
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    wait = WebDriverWait(browser, 30)
    browser.get(server + "/")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#examples button"))
    box = browser.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ranked li"))


def test_clicking_a_class_explains_it_and_ngrams_are_listed(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 30)
    text = "Oil prices climb and stocks fall as investors sell shares of the bank"
    _classify(browser, server, text)
    explanation = browser.find_element(By.ID, "explanation")
    predicted = browser.find_element(By.ID, "label").text
    assert explanation.get_attribute("data-explained") == predicted
    other = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")[-1]  # the least probable class
    target = other.get_attribute("data-label")
    other.click()
    wait.until(lambda d: explanation.get_attribute("data-explained") == target)
    wait.until(lambda d: explanation.get_attribute("aria-busy") == "false")
    assert browser.find_element(By.ID, "explain-title").text.lower() == f"why not {target}?".lower()
    assert "explained" in other.get_attribute("class")
    api = httpx.post(f"{server}/v1/models/ag-news/explain", json={"text": text, "target": target},
                     timeout=60).json()
    assert api["explained"] == target
    best = max(api["tokens"], key=lambda t: abs(t["score"]))
    first = browser.find_element(By.CSS_SELECTOR, "#ranked li .w").text
    assert first == text[best["start"]:best["end"]]
    assert "logit" in browser.find_element(By.ID, "units").text  # ig: what the scores measure
    # the page's colour rule is explain/colours.py's: no colour under a tenth of the largest |score|
    from embedlab.explain import Explanation
    from embedlab.explain.colours import strengths, tint

    tokens = browser.find_elements(By.CSS_SELECTOR, "#highlight .tok")
    expected = [tint(a) is not None for a in strengths(Explanation.from_dict(api))]
    assert ["background" in (t.get_attribute("style") or "") for t in tokens] == expected
    assert True in expected and False in expected
    assert "unknown word" in browser.find_element(By.ID, "legend").text
    # the method's n-grams (cnn: the windows the filters' max-pool chose), for the same class
    Select(browser.find_element(By.ID, "method")).select_by_value("ngrams")
    wait.until(lambda d: d.find_element(By.ID, "ngrams-box").is_displayed())
    wait.until(lambda d: explanation.get_attribute("aria-busy") == "false")
    grams = browser.find_elements(By.CSS_SELECTOR, "#ngrams li")
    api = httpx.post(f"{server}/v1/models/ag-news/explain",
                     json={"text": text, "target": target, "method": "ngrams"}, timeout=60).json()
    assert len(grams) == min(10, len(api["ngrams"])) > 0
    top = max(api["ngrams"], key=lambda g: abs(g["score"]))
    assert grams[0].find_element(By.CSS_SELECTOR, ".w").text == text[top["start"]:top["end"]]
    assert explanation.get_attribute("data-explained") == target
    # back to the predicted class
    browser.find_element(By.ID, "explain-predicted").click()
    wait.until(lambda d: explanation.get_attribute("data-explained") == predicted)
    browser.save_screenshot(str(tmp_path / "why-not.png"))


def test_page_fits_a_420px_screen_and_long_texts_scroll(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    long = " ".join(["Stocks fall as oil prices climb and investors sell shares."] * 60)
    try:
        _classify(browser, server, "placeholder", width=420)
        browser.execute_script("document.getElementById('text').value = arguments[0]", long)
        browser.find_element(By.ID, "submit").click()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "cut-note").is_displayed())
        size = browser.execute_script(
            "const h = document.querySelector('header'); const box = document.getElementById('highlight');"
            "return [document.documentElement.scrollWidth, window.innerWidth, h.scrollWidth,"
            " h.clientWidth, box.scrollHeight, box.clientHeight];")
        assert size[1] == 420 and size[0] <= 420 and size[2] <= size[3], size
        assert size[4] > size[5] > 0  # the highlight box is capped and scrolls
        note = browser.find_element(By.ID, "cut-note")
        verdict = browser.find_element(By.ID, "label")
        assert "first 400 of 660 tokens" in note.text  # 60 × (10 words and a full stop)
        assert 0 < note.location["y"] - verdict.location["y"] < 80  # beside the verdict
        browser.save_screenshot(str(tmp_path / "page-420.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_api_docs_render_with_the_network_off(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/docs")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"))
    paths = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")]
    assert "/v1/models/{name}/explain" in paths
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)")
    assert loaded and all(u.startswith(server + "/") for u in loaded), loaded


def test_page_shows_the_prediction_set_the_ood_banner_and_calibration(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    candidates = ["Wall Street stocks fall as oil prices climb and investors sell shares",
                  "lol this is so cute i cant even", "What is the boiling point of water ?",
                  "my cat sat on the mat and purred"]
    api = httpx.post(f"{server}/v1/models/ag-news/predict",
                     json={"texts": candidates, "coverage": 0.9}, timeout=60).json()["predictions"]
    flagged = [t for t, p in zip(candidates, api, strict=True) if p["status"] == "out_of_distribution"]
    assert api[0]["status"] == "ok" and flagged, api  # the news text is in, some other text is out
    for text, expect_banner in ((candidates[0], False), (flagged[0], True)):
        _classify(browser, server, text)
        wait.until(lambda d: d.find_element(By.ID, "set").is_displayed())
        p = api[candidates.index(text)]
        shown = browser.find_element(By.ID, "set").text
        assert "90.0% coverage" in shown and all(c in shown for c in p["prediction_set"])
        in_set = [b.get_attribute("data-label")
                  for b in browser.find_elements(By.CSS_SELECTOR, "#bars .bar.in-set")]
        assert sorted(in_set) == sorted(p["prediction_set"])
        status = browser.find_element(By.ID, "status")
        assert status.is_displayed() == expect_banner
        if expect_banner:
            assert "Unlike the training data" in status.text
            browser.save_screenshot(str(tmp_path / "ood.png"))
    calibration = browser.find_element(By.ID, "card-calibration").text
    assert "temperature" in calibration and "ECE on test" in calibration
    assert "a logit offset per class, fitted with the temperature" in calibration  # bcts
    assert "flags 5.0% of validation texts" in calibration


@pytest.fixture(scope="module")
def multilabel_server(tmp_path_factory, embedlab_server):
    cfg = RunConfig.from_dict({
        "data": {"dataset": "goemotions", "limit": 1500},
        "embeddings": {"dim": 16, "source": None},
        "training": {"epochs": 2, "progress": False, "seed": 0},
    })
    out: Path = tmp_path_factory.mktemp("page-ml") / "emotions"
    train_run(cfg, out)
    with embedlab_server(str(out)) as base:
        yield base


def test_page_shows_a_multilabel_set_with_every_label_and_its_threshold(multilabel_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = "Thank you so much, I love it! But I am a little sad it ended"
    api = httpx.post(f"{multilabel_server}/v1/models/emotions/predict", json={"texts": [text]},
                     timeout=60).json()["predictions"][0]
    browser.get(multilabel_server + "/")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_elements(By.ID, "card-accuracy"))
    browser.find_element(By.ID, "text").send_keys(text)
    browser.find_element(By.ID, "submit").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#bars .bar")) == len(api["probabilities"]))
    assert browser.find_element(By.ID, "label").text == " + ".join(api["labels"])
    in_set = [b.get_attribute("data-label") for b in browser.find_elements(By.CSS_SELECTOR, "#bars .bar.in-set")]
    assert sorted(in_set) == sorted(api["labels"])
    cuts = browser.find_elements(By.CSS_SELECTOR, "#bars .bar .cut")
    assert len(cuts) == len(api["thresholds"])
    assert "threshold" in browser.find_element(By.ID, "bars-title").text.lower()
    card = browser.find_element(By.ID, "card").text
    assert "subset accuracy" in card and "micro F1" in card and "one per label" in card
