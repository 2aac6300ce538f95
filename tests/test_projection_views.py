"""`embeddings plot` as a user sees it: PNG labels that neither overlap nor get clipped, the
explained variance on the PCA axes, and the HTML page's colour groups, zoom and neighbour search
in headless Chromium."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from embedlab.embeddings import Vectors, plot_projection_html
from embedlab.embeddings.projection import projection, projection_figure
from embedlab.embeddings.vectors import from_arrays


def crowded() -> Vectors:
    """40 words in 4 tight clusters (a crowded plot: labels would overlap if placed naively)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 3
    vecs = np.concatenate([c + rng.normal(scale=0.15, size=(10, 16)) for c in centres])
    words = [f"{name}{i}" for name in ("alpha", "beta", "gamma", "delta") for i in range(10)]
    return Vectors(from_arrays(words, vecs.astype(np.float32)), name="crowded")


def test_png_labels_do_not_overlap_and_axes_give_the_explained_variance(tmp_path):
    v = crowded()
    p = projection(v, v.words)
    assert p.explained is not None and 0.5 < sum(p.explained) <= 1.0
    # the four clusters are found as the colour groups
    assert sorted(np.bincount(p.groups).tolist()) == [10, 10, 10, 10]
    assert len({tuple(p.groups[i:i + 10]) for i in range(0, 40, 10)}) == 4
    assert all(len(set(p.groups[i:i + 10])) == 1 for i in range(0, 40, 10))
    fig = projection_figure(p, "t")
    ax = fig.axes[0]
    assert ax.get_xlabel() == f"PC1 ({p.explained[0]:.1%} of the variance)"
    renderer = fig.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_text() in v.words]
    assert sorted(t.get_text() for t in texts) == sorted(v.words)
    from matplotlib.text import Text

    fig.canvas.draw()
    boxes = [Text.get_window_extent(t, renderer) for t in texts]  # the text, not its leader line
    overlaps = [(texts[i].get_text(), texts[j].get_text()) for i in range(len(boxes))
                for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]
    assert not overlaps
    # the PNG is saved with a tight bounding box: a label past the axes widens the image
    from embedlab.embeddings import plot_projection

    out = plot_projection(v, v.words, out=tmp_path / "p.png")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_tsne_axes_say_distances_are_not_variance():
    v = crowded()
    p = projection(v, v.words[:12], method="tsne", groups=0)
    assert p.explained is None and set(p.groups) == {0}
    assert p.axis_labels() == ("t-SNE 1", "t-SNE 2")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.mark.slow
def test_html_view_has_groups_zoom_and_neighbour_search(tmp_path):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    v = crowded()
    page = plot_projection_html(v, v.words, out=tmp_path / "p.html")
    text = page.read_text(encoding="utf-8")
    assert "http" not in text  # nothing from the network
    p = projection(v, v.words)
    sims = p.similarity[v.words.index("beta3")].copy()
    sims[v.words.index("beta3")] = -1
    expected = v.words[int(np.argmax(sims))]

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        d.set_window_size(1280, 900)  # the plot at its full 800 px: labels placed apart, as in the PNG
        d.get(page.as_uri())
        boxes = d.execute_script(
            "return [...document.querySelectorAll('text.label')].map(t => {"
            " const b = t.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })")
        overlapping = [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
                       if min(boxes[i][2], boxes[j][2]) - max(boxes[i][0], boxes[j][0]) > 1
                       and min(boxes[i][3], boxes[j][3]) - max(boxes[i][1], boxes[j][1]) > 1]
        assert len(boxes) == 40 and not overlapping
        d.set_window_size(420, 900)
        d.get(page.as_uri())
        assert d.execute_script("return document.documentElement.scrollWidth") <= d.execute_script(
            "return window.innerWidth")
        legend = d.find_elements(By.CSS_SELECTOR, "#legend input[type=checkbox]")
        assert len(legend) == 4
        box = d.find_element(By.ID, "search")
        box.send_keys("beta3", Keys.ENTER)
        items = d.find_elements(By.CSS_SELECTOR, "#neighbours li")
        assert len(items) == 8 and items[0].find_element(By.TAG_NAME, "b").text == expected
        assert len(d.find_elements(By.CSS_SELECTOR, "circle.nb")) == 8
        assert len(d.find_elements(By.CSS_SELECTOR, "line.link")) == 8
        width = lambda: float(d.execute_script(  # noqa: E731
            "return document.getElementById('plot').getAttribute('viewBox')").split()[2])
        before = width()
        d.find_element(By.ID, "zoom-in").click()
        assert width() < before
        d.find_element(By.ID, "reset").click()
        assert width() == 800
        # hiding a colour group hides its points
        legend[0].click()
        hidden = d.execute_script(
            "return [...document.querySelectorAll('#points circle')].filter(c => c.style.display === 'none').length")
        assert hidden == 10
    finally:
        d.quit()
