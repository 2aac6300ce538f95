"""What an experiment report shows a user: the command line's overrides in every format,
published numbers marked not comparable once settings changed, p-values withheld below
MIN_PAIRS pairs, terminal tables whose numbers never break, and an HTML page with sortable
tables that fits a 420 px phone screen (headless Chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from rich.console import Console

from embedlab.experiments.report import MIN_PAIRS, build_report, comparison_table, console_table
from embedlab.experiments.report.tables import fit_columns, paired_table, summary_table
from tiny_configs import BAG_BASE

pytestmark = pytest.mark.slow  # whole experiments (8 + 4 tiny runs)

GRID = {"name": "pool", "base": BAG_BASE,
        "grid": {"model.params.pooling": ["mean", "sum"], "embeddings.dim": [8, 12]},
        "reference": "pooling=mean,dim=8",
        "published": {"pooling=mean,dim=8": 0.913, "pooling=sum,dim=12": 0.901},
        "published_source": "a made-up paper"}


def _cli(capsys, *args: str) -> tuple[int, str]:
    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code, capsys.readouterr().out


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("grid") / "pool.yaml"
    path.write_text(yaml.safe_dump(GRID, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def changed(grid_file, tmp_path_factory) -> tuple[Path, str]:
    """2 seeds, epochs and data limit changed on the command line: (folder, terminal output)."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("exp") / "changed"
    buf = io.StringIO()  # the CLI's console prints to sys.stdout (80 columns: not a terminal)
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as e:
        from embedlab.cli import main

        main(["experiment", "run", str(grid_file), "--seeds", "2", "--out", str(out),
              "--set", "training.epochs=1", "--set", "data.limit=200", "--set", "training.threads=1"])
    assert e.value.code == 0
    return out, buf.getvalue()


def test_overrides_appear_in_every_format_and_published_numbers_are_marked(changed):
    out, terminal = changed
    folder = out / "report"
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    for text in (md, page, terminal):
        assert "training.epochs=1" in text and "data.limit=200" in text
        assert "NOT comparable" in text
    assert data["overrides"] == {"training.epochs": 1, "data.limit": 200, "training.threads": 1}
    assert data["published_comparable"] is False and "training.epochs=1" in data["published_note"]
    assert data["base"]["training"]["epochs"] == 1 and data["base"]["data"]["limit"] == 200
    # the published number is not printed as a peer of ours
    assert "published (not comparable)" in md and "(0.913)" in md
    assert not re.search(r"\|\s*0\.913\s*\|", md)
    # the manifest records them for the next report
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["grid"]["overrides"]["data.limit"] == 200


def test_p_values_are_withheld_below_the_minimum_number_of_pairs(changed):
    out, terminal = changed
    folder = out / "report"
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert data["min_pairs_for_p"] == MIN_PAIRS == 5
    assert data["comparison"] and all(r["n"] == 2 and r["p_value"] is None and "withheld" in r["p_note"]
                                      for r in data["comparison"])
    md = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    for text in (md, page, terminal):
        assert "withheld (n=2)" in text
    assert "p-values are withheld below 5 pairs" in md


def test_grid_factors_are_columns_and_each_run_has_a_row_with_links(changed):
    out, _ = changed
    md = (out / "report" / "report.md").read_text(encoding="utf-8")
    header = next(ln for ln in md.splitlines() if ln.startswith("| pooling | dim |"))
    assert "accuracy mean ± sd" in header
    runs = [ln for ln in md.splitlines() if "](../runs/" in ln]
    assert len(runs) == 8
    for line in runs:
        for href in re.findall(r"\]\((\.\./runs/[^)]+)\)", line):
            assert (out / "report" / href.replace("%3D", "=").replace("%2C", ",")).exists(), href


@pytest.mark.parametrize("width", [110, 80])
def test_terminal_tables_never_split_a_number(changed, width):
    report = build_report(changed[0])
    for fitted, table in ((console_table(report), summary_table(report)),
                          (comparison_table(report), paired_table(report))):
        console = Console(width=width, record=True)
        console.print(fitted)
        text = console.export_text()
        assert "…" not in text
        assert max(len(ln) for ln in text.splitlines()) <= width
        kept, dropped = fit_columns(table, width)
        assert len(kept.head) >= 3 and not set(dropped) & {"cell", kept.head[1]}
        lines = [ln for ln in text.splitlines() if ln.startswith("│")]
        for row in kept.rows:
            line = next(ln for ln in lines if ln.split("│")[1].split(" (")[0].strip() == row[0].split(" (")[0])
            for cell, numeric in zip(row, kept.numeric):
                if numeric and cell:
                    assert cell in line, (cell, line)
        if width == 80:
            assert "left out at this width" in text


def test_published_numbers_are_peers_when_nothing_changed(grid_file, tmp_path, capsys):
    code, out = _cli(capsys, "experiment", "run", str(grid_file), "--seeds", "1", "--out",
                     str(tmp_path / "asis"), "--set", "training.threads=1")
    assert code == 0 and "changed on the command line: training.threads=1" in out  # a neutral change
    data = json.loads((tmp_path / "asis" / "report" / "report.json").read_text(encoding="utf-8"))
    assert data["published_comparable"] is True and data["published_note"] is None
    md = (tmp_path / "asis" / "report" / "report.md").read_text(encoding="utf-8")
    assert "published accuracy" in md and "| 0.913 |" in md and "NOT comparable" not in md


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def viewport(driver, width: int, url: str) -> None:
    """Load ``url`` with a viewport ``width`` CSS pixels wide (the window frame added)."""
    driver.set_window_size(width, 900)
    driver.get(url)
    frame = width - driver.execute_script("return window.innerWidth")
    driver.set_window_size(width + frame, 900)
    driver.get(url)
    assert driver.execute_script("return window.innerWidth") == width


def test_html_report_sorts_and_fits_a_phone_screen(changed, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url = (changed[0] / "report" / "report.html").as_uri()
    for width in (1280, 420):
        viewport(chromium, width, url)
        # the page never scrolls sideways: wide tables scroll inside their own box
        assert chromium.execute_script("return document.documentElement.scrollWidth") <= width
        boxes = chromium.find_elements(By.CSS_SELECTOR, "div.scroll > table.sortable")
        assert len(boxes) == 3
    runs = chromium.find_elements(By.CSS_SELECTOR, "table.sortable")[-1]
    heads = runs.find_elements(By.TAG_NAME, "th")
    col = [h.text for h in heads].index("accuracy")

    def column() -> list[float]:
        return [float(r.find_elements(By.TAG_NAME, "td")[col].text)
                for r in runs.find_elements(By.CSS_SELECTOR, "tbody tr")]

    heads[col].click()
    assert column() == sorted(column()) and heads[col].get_attribute("aria-sort") == "ascending"
    heads[col].click()
    assert column() == sorted(column(), reverse=True)
    heads[col].send_keys(Keys.ENTER)  # the keyboard sorts too
    assert column() == sorted(column())
    # no network: nothing but the page itself and data: images
    srcs = chromium.execute_script("return [...document.querySelectorAll('[src]')].map(e => e.src)")
    assert srcs and all(s.startswith("data:") for s in srcs)


@pytest.mark.parametrize("seeds", [4, 5])
def test_p_value_is_the_paired_t_test_from_the_minimum_number_of_pairs_on(seeds):
    from scipy import stats

    from embedlab.experiments import parse_grid
    from embedlab.experiments.report.statistics import RunRecord, _paired

    grid = parse_grid(GRID, "grid")
    ref, cell = "pooling=mean,dim=8", "pooling=sum,dim=8"
    rng = np.random.default_rng(seeds)
    a = rng.uniform(0.80, 0.85, size=seeds)
    b = a + rng.uniform(0.0, 0.02, size=seeds)

    def record(name: str, seed: int, acc: float) -> RunRecord:
        values = {"accuracy": acc, "macro_f1": acc, "weighted_f1": acc, "train_seconds": 1.0}
        return RunRecord(name, seed, None, "test", values, [], [[1]], ["x"], [], f"runs/{name}/seed-{seed}")

    records = [record(ref, s, a[s]) for s in range(seeds)] + [record(cell, s, b[s]) for s in range(seeds)]
    row = next(r for r in _paired(grid, records, ref) if r["cell"] == cell)
    if seeds < MIN_PAIRS:
        assert row["p_value"] is None and row["p_note"] == f"withheld: {seeds} pairs (needs ≥ {MIN_PAIRS})"
    else:
        assert row["p_value"] == pytest.approx(stats.ttest_rel(b, a).pvalue) and row["p_note"] is None


def test_an_experiment_recorded_before_overrides_were_kept_says_so(changed, tmp_path):
    from embedlab.experiments.report import write_report

    old = tmp_path / "old"
    shutil.copytree(changed[0], old)
    manifest = json.loads((old / "manifest.json").read_text(encoding="utf-8"))
    del manifest["grid"]["overrides"], manifest["grid"]["source"]
    manifest["grid"]["published"] = {"a cell": 0.9}  # a number from a paper, say
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    write_report(old)
    md = (old / "report" / "report.md").read_text(encoding="utf-8")
    assert "what the command line changed was not recorded" in md and "as written" not in md
    data = json.loads((old / "report" / "report.json").read_text(encoding="utf-8"))
    assert data["overrides"] is None
    # published numbers not known to be comparable are never shown as if they were
    assert "may not be comparable" in md and "published (not comparable)" in md
