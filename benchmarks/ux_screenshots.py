"""The README's pictures under docs/images/, made the way a user sees them: an experiment run from
the command line with overrides, its report.html in headless Chromium at 1280 and 420 px, the
report's metrics plot, and `embeddings plot` (PNG, and the HTML page after searching "queen").

Usage (Debian's chromium and chromium-driver installed; the data mirror; glove-6b-50d)::

    EMBEDLAB_DATA_MIRROR=../shared/data python benchmarks/ux_screenshots.py [--work DIR]

Takes about a minute on 2 cores (12 tiny runs). The numbers in the pictures are those runs'.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"
WORDS = ("king queen man woman prince princess boy girl father mother son daughter uncle aunt "
         "paris france berlin germany rome italy madrid spain london england tokyo japan "
         "apple banana orange grape mango cherry car truck bus train bicycle plane").split()


def embedlab(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "embedlab", *args], check=True)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", f"--user-data-dir={tempfile.mkdtemp()}"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                            options=opts)


def shoot(driver, url: str, width: int, out: Path, height: int, before=None) -> None:
    """A screenshot of the top ``height`` CSS pixels of ``url`` in a viewport ``width`` wide."""
    driver.set_window_size(width, height)
    driver.get(url)
    frame = width - driver.execute_script("return window.innerWidth")
    driver.set_window_size(width + frame, height)
    driver.get(url)
    if before is not None:
        before(driver)
        time.sleep(0.3)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    driver.save_screenshot(str(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.mkdtemp(prefix="embedlab-ux-")))
    args = ap.parse_args()
    exp = args.work / "flax"
    embedlab("experiment", "run", "--builtin", "tutorial-flax-pooling", "--seeds", "2",
             "--set", "training.epochs=2", "--set", "data.limit=8000", "--set", "training.threads=1",
             "--out", str(exp))
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(exp / "report" / "metrics.png", DOCS / "experiment-metrics.png")
    page = args.work / "projection.html"
    embedlab("embeddings", "plot", "glove-6b-50d", *WORDS, "--out", str(DOCS / "embeddings-plot.png"),
             "--html", str(page), "--overwrite")

    def search(driver) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        driver.find_element(By.ID, "search").send_keys("queen", Keys.ENTER)

    d = browser()
    try:
        report = (exp / "report" / "report.html").as_uri()
        shoot(d, report, 1280, DOCS / "experiment-report.png", 800)
        shoot(d, report, 420, DOCS / "experiment-report-420px.png", 900)
        shoot(d, page.as_uri(), 1100, DOCS / "embeddings-page.png", 960, before=search)
    finally:
        d.quit()
    print(f"wrote {', '.join(sorted(p.name for p in DOCS.glob('*.png')))} to {DOCS}")


if __name__ == "__main__":
    main()
