"""Explanations on tiny models trained on a planted-keyword set.

Each text is 5-10 random filler words with ONE keyword inserted at a random position; the keyword
alone decides the label. A model that learnt the task relies on the keyword, so a faithful
attribution method must rank it first. Threshold (stated once, used everywhere): the keyword is
the top-ranked token for at least 80 % of the 30 held-out texts, while a random ranking puts it
first for at most 40 % (its expectation is about 1/8).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from embedlab.errors import ConfigError, DataError
from embedlab.estimator import TextClassifier
from embedlab.explain import Explanation, faithfulness
from embedlab.explain.explainer import available_methods
from embedlab.explain.model_view import ModelView
from embedlab.explain.render_html import explanations_from_html, render_html, render_html_page
from embedlab.explain.spans import token_spans
from embedlab.text.preprocess import Preprocessor

FILLER = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
          "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi",
          "chi", "psi", "omega"]
KEYS = {"sports": "football", "science": "physics", "money": "banking"}
THRESHOLD = 0.8
RANDOM_CEILING = 0.4
#: model params and learning rate per family (fasttext averages ~9 vectors: it needs a larger lr)
FAMILIES = {
    "cnn": ({}, 1e-2),
    "bag": ({"pooling": "mean"}, 1e-2),
    "rnn": ({}, 1e-2),
    "fasttext": ({}, 1e-1),
}


def planted(n: int, seed: int) -> tuple[list[str], list[str], list[int]]:
    r = random.Random(seed)
    texts, labels, where = [], [], []
    for _ in range(n):
        label = r.choice(sorted(KEYS))
        words = r.sample(FILLER, r.randint(5, 10))
        at = r.randrange(len(words) + 1)
        words.insert(at, KEYS[label])
        texts.append(" ".join(words))
        labels.append(label)
        where.append(at)
    return texts, labels, where


TRAIN = planted(400, 0)
HELD_OUT = planted(30, 1)


@pytest.fixture(scope="module")
def trained() -> dict[str, TextClassifier]:
    torch.set_num_threads(1)
    out = {}
    for family, (params, lr) in FAMILIES.items():
        clf = TextClassifier(model=family, model_params=params, epochs=6, lr=lr,
                             embedding_dim=16, embeddings=None, val_size=0, seed=0)
        out[family] = clf.fit(TRAIN[0], TRAIN[1])
        assert (clf.predict(HELD_OUT[0]) == np.array(HELD_OUT[1])).mean() == 1.0, family
    return out


@pytest.fixture(scope="module")
def linear_bag() -> TextClassifier:
    clf = TextClassifier(model="bag", model_params={"pooling": "mean", "hidden": []}, epochs=6,
                         lr=3e-2, embedding_dim=16, embeddings=None, val_size=0)
    return clf.fit(TRAIN[0], TRAIN[1])


@pytest.fixture(scope="module")
def bigram_fasttext() -> TextClassifier:
    clf = TextClassifier(model="fasttext", model_params={"ngrams": 2, "buckets": 5000},
                         epochs=6, lr=1e-1, embedding_dim=16, embeddings=None, val_size=0)
    return clf.fit(TRAIN[0], TRAIN[1])


def keyword_first(explanations: list[Explanation]) -> float:
    return float(np.mean([e.top_tokens(1)[0].token == KEYS[label]
                          for e, label in zip(explanations, HELD_OUT[1])]))


CASES = [(f, m) for f, ms in {"cnn": ["ig", "ngrams", "lime", "occlusion"],
                               "bag": ["ig", "lime", "occlusion"],
                               "rnn": ["ig", "lime", "occlusion"],
                               "fasttext": ["exact", "ig", "lime", "occlusion"]}.items()
         for m in ms]


@pytest.mark.parametrize(("family", "method"), CASES)
def test_every_method_ranks_the_planted_keyword_first(trained, family, method):
    settings = {"num_samples": 150} if method == "lime" else {}
    explanations = trained[family].explain(HELD_OUT[0], method=method, **settings)
    assert keyword_first(explanations) >= THRESHOLD


def test_auto_is_the_benchmark_choice(trained):
    """benchmarks/explain.py (RESULTS.md) measured these as each family's best."""
    expected = {"cnn": "ig", "rnn": "ig", "bag": "occlusion", "fasttext": "exact"}
    for family, method in expected.items():
        [e] = trained[family].explain(["alpha football beta"])
        assert e.method == method
        assert e.top_tokens(1)[0].token == "football"


def test_random_ranking_does_not(trained):
    rng = np.random.default_rng(0)
    hits = []
    for text, label in zip(HELD_OUT[0], HELD_OUT[1]):
        words = text.split()
        hits.append(words[int(rng.integers(len(words)))] == KEYS[label])
    assert np.mean(hits) <= RANDOM_CEILING


def test_attention_weights_peak_at_or_after_the_keyword(trained):
    """A left-to-right GRU carries the keyword into every later state, so attention may look at
    any of them: the peak is never before the keyword. It is not an attribution, and says so."""
    explanations = trained["rnn"].explain(HELD_OUT[0], method="attention")
    for e in explanations:
        weights = np.array(e.scores)
        assert weights.sum() == pytest.approx(1.0, abs=1e-5) and (weights >= 0).all()
        assert e.score_kind == "attention"
    peaks = [int(np.argmax(e.scores)) >= at for e, at in zip(explanations, HELD_OUT[2])]
    assert np.mean(peaks) >= THRESHOLD
    assert "not an attribution" in render_html(explanations[0])
    from rich.console import Console

    from embedlab.explain import render_terminal

    console = Console(record=True, width=100)
    render_terminal(explanations[0], console)
    assert "attention weights, not an attribution" in console.export_text()


def test_exact_contributions_plus_bias_equal_the_logit(trained, linear_bag, bigram_fasttext):
    for clf in (trained["fasttext"], linear_bag, bigram_fasttext):
        predictor = clf.predictor_
        for e in predictor.explain(HELD_OUT[0][:10], method="exact"):
            logit = predictor.predict_logits([e.text])[0, predictor.classes.index(e.explained)]
            assert sum(e.scores) + e.base == pytest.approx(float(logit), abs=1e-4)
    grams = bigram_fasttext.explain(["alpha football beta"], method="exact")[0].ngrams
    assert [g.text for g in grams] == ["alpha football", "football beta"]


def test_ig_attributions_sum_to_the_logit_change_within_delta(trained, bigram_fasttext):
    for clf in [*trained.values(), bigram_fasttext]:
        predictor = clf.predictor_
        view = ModelView(predictor)
        for e in predictor.explain(HELD_OUT[0][:5], method="ig", n_steps=64):
            c = predictor.classes.index(e.explained)
            ids = view.pad([view.prepare(e.text).ids])
            logit = float(predictor.model(ids)[0, c].detach())
            gap = logit - e.base
            assert sum(e.scores) - gap == pytest.approx(e.delta, abs=1e-4)
            assert abs(e.delta) <= 0.05 * abs(gap) + 1e-3


@pytest.mark.parametrize("family", ["bag", "fasttext"])
def test_per_token_path_equals_the_pooled_forward(trained, bigram_fasttext, family):
    for model in (trained[family].predictor_.model, bigram_fasttext.predictor_.model):
        ids = torch.tensor([[5, 6, 7, 8, 0, 0], [9, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
        with torch.no_grad():
            torch.testing.assert_close(model(ids), model.forward_embedded(model.embed(ids), ids),
                                       atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("options", [{}, {"punctuation": "remove"}, {"punctuation": "keep"},
                                     {"remove_stopwords": True, "remove_parentheses": True}])
def test_spans_map_tokens_back_to_the_original_text(options):
    pre = Preprocessor(**options)
    texts = ["What is the capital of PERU? Peru, peru!",
             "The the THE (Reuters) cat&amp;dog said: \"don't\" 3.5%",
             "ΟΔΟΣ café — naïve İstanbul!! 東京 tokyo",
             "  spaced\tout \n words  "]
    for text in texts:
        tokens = pre(text).split()
        spans = token_spans(text, tokens, pre.config)
        assert len(spans) == len(tokens)
        last = 0
        for token, (a, b) in zip(tokens, spans):
            # in order, never empty; "İ" lower-cases to "i" + a combining dot, two tokens that
            # share the one original character
            assert (a >= last or text[a:b] == "İ") and b > a
            if "&" not in text[a:b] and "İ" not in text[a:b]:
                assert pre(text[a:b]).split() == [token]
            last = b
    text = "Peru, PERU and peru"
    pre = Preprocessor(**{**options, "punctuation": "remove"})
    spans = token_spans(text, pre(text).split(), pre.config)
    peru = [text[a:b] for (a, b), t in zip(spans, pre(text).split()) if t == "peru"]
    assert peru == ["Peru", "PERU", "peru"]


def test_lime_on_tokens_that_share_a_character(trained):
    [e] = trained["cnn"].explain(["İstanbul Football, alpha"], method="lime", num_samples=100)
    assert [t.token for t in e.tokens][:3] == ["i", "\u0307", "stanbul"]
    assert e.top_tokens(1)[0].token == "football" and e.tokens[1].score == 0.0


def test_explanation_json_and_html_round_trip(trained):
    e1, e2 = trained["cnn"].explain(["Alpha BETA, football & <!--<script> gamma </script>", HELD_OUT[0][0]],
                                    method="ngrams")
    assert Explanation.from_json(e1.to_json()) == e1
    assert Explanation.from_dict(json.loads(json.dumps(e2.to_dict()))) == e2
    page = render_html_page([e1, e2])
    assert explanations_from_html(page) == [e1, e2]
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert page.count("<script") == 2 and 'type="application/json"' in page
    for name in trained["cnn"].predictor_.classes:
        assert f">{name}</span>" in page  # one probability bar per class
    assert "Alpha</span>" in page and "BETA</span>" in page  # original spelling highlighted
    with pytest.raises(DataError):
        Explanation.from_json('{"format": "something else"}')


def test_bad_input_is_one_clear_error(trained):
    cnn = trained["cnn"].predictor_
    with pytest.raises(DataError, match="empty text"):
        cnn.explain(["   "])
    with pytest.raises(DataError, match=r"empty text \(text 1\)"):
        cnn.explain(["ok football", ""], method="occlusion")
    with pytest.raises(ConfigError, match="it can do: ig, lime, occlusion, ngrams"):
        cnn.explain(["football"], method="attention")
    with pytest.raises(DataError, match="unknown target class 'nope'.*money, science, sports"):
        cnn.explain(["football"], target="nope")
    with pytest.raises(ConfigError, match="has no setting 'n_steps'"):
        cnn.explain(["football"], method="occlusion", n_steps=3)
    [e] = cnn.explain(["zzz qqq"], method="occlusion")
    assert e.status == "no_known_words" and "no known word" in e.notes[0]


def test_missing_extra_names_it(trained, monkeypatch):
    monkeypatch.setitem(sys.modules, "captum.attr", None)
    monkeypatch.setitem(sys.modules, "lime.lime_text", None)
    with pytest.raises(ConfigError, match=r"embedlab\[explain\]"):
        trained["cnn"].explain(["football"], method="ig")
    with pytest.raises(ConfigError, match=r"embedlab\[explain\]"):
        trained["cnn"].explain(["football"], method="lime")


def test_target_explains_another_class(trained):
    [e] = trained["fasttext"].explain(["alpha football beta"], method="exact", target="money")
    assert e.predicted == "sports" and e.explained == "money"
    assert min(e.tokens, key=lambda t: t.score).token == "football"  # evidence against money


def test_long_text_is_cut_and_says_so():
    clf = TextClassifier(model="cnn", epochs=3, lr=1e-2, embedding_dim=8, embeddings=None,
                         max_length=6, val_size=0).fit(TRAIN[0][:200], TRAIN[1][:200])
    text = "alpha beta gamma delta epsilon zeta football eta theta"
    [e] = clf.explain([text], method="occlusion")
    assert [t.status for t in e.tokens][6:] == ["cut", "cut", "cut"]
    assert all(t.score == 0 for t in e.tokens[6:]) and "text cut" in e.notes[0]


def test_methods_come_from_the_model_class_and_unknown_ones_suggest(trained):
    for family, clf in trained.items():
        view = ModelView(clf.predictor_)
        assert view.family == family
        assert available_methods(view) == clf.predictor_.model.explanation_methods()
    with pytest.raises(ConfigError, match=r"unknown method 'oclusion' \(did you mean "
                                          r"'occlusion'\?\); known: auto, ig"):
        trained["cnn"].explain(["alpha football"], method="oclusion")
    with pytest.raises(ConfigError, match="method 'attention' is not available for this cnn "
                                          "model; it can do: ig, lime, occlusion, ngrams"):
        trained["cnn"].explain(["alpha football"], method="attention")


def test_faithfulness_table_on_a_tiny_run(trained, tmp_path):
    report = faithfulness(trained["cnn"].predictor_, HELD_OUT[0][:12],
                          settings={"lime": {"num_samples": 100}}, data="planted")
    names = [r.method for r in report.rows]
    assert names == [*available_methods(ModelView(trained["cnn"].predictor_)), "random"]
    floor = report.row("random")
    for m in ("ig", "ngrams", "occlusion", "lime"):
        row = report.row(m)
        assert set(row.comprehensiveness) == {"5", "10", "20", "50"}
        assert row.aopc_comprehensiveness > floor.aopc_comprehensiveness + 0.2
        assert row.aopc_sufficiency < floor.aopc_sufficiency
        assert row.curve[0] == pytest.approx(floor.curve[0])
    data = json.loads(report.write_json(tmp_path / "f.json").read_text())
    assert data["format"] == "embedlab-faithfulness-v1" and len(data["rows"]) == len(names)
    assert report.plot(tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_global_explanation_finds_the_keywords(trained):
    from embedlab.explain import global_explanation

    for family in ("cnn", "fasttext"):
        g = global_explanation(trained[family].predictor_, HELD_OUT[0], top=3)
        for cls, keyword in KEYS.items():
            assert keyword in g.classes[cls][0][0]
    assert g.method == "exact"
    g = global_explanation(trained["cnn"].predictor_, HELD_OUT[0], top=3)
    assert set(g.widths) == {"1", "2", "3"}
    assert g.widths["1"][0][0] in KEYS.values()


def test_pngs_of_each_kind(trained, tmp_path):
    from embedlab.explain.render_png import render_png

    kinds = {"cnn": "ngrams", "rnn": "attention", "fasttext": "exact"}
    for family, method in kinds.items():
        [e] = trained[family].explain(["Alpha beta football, gamma!"], method=method)
        path = render_png(e, tmp_path / f"{family}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_cli_end_to_end(trained, tmp_path):
    run = trained["cnn"].save(tmp_path / "run")
    table = tmp_path / "texts.csv"
    table.write_text("text\n\"Alpha, football beta\"\n\"\"\nphysics gamma\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "embedlab", "explain", str(run)]
    one = subprocess.run([*cmd, "What about FOOTBALL, alpha?", "--method", "ngrams",
                          "--png", str(tmp_path / "f.png"), "--html", str(tmp_path / "f.html"),
                          "--json", str(tmp_path / "f.json")],
                         check=False, capture_output=True, text=True, timeout=120)
    assert one.returncode == 0, one.stderr
    assert "predicted sports" in one.stdout and "FOOTBALL" in one.stdout
    saved = Explanation.from_json((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert saved.method == "ngrams" and explanations_from_html(
        (tmp_path / "f.html").read_text(encoding="utf-8")) == [saved]
    assert (tmp_path / "f.png").stat().st_size > 5000

    from typer.testing import CliRunner

    from embedlab.cli import app

    runner = CliRunner()
    out = tmp_path / "why.jsonl"
    res = runner.invoke(app, ["explain", str(run), "--file", str(table), "--out", str(out),
                              "--html", str(tmp_path / "batch.html"), "--method", "occlusion",
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "batch.html").read_text(encoding="utf-8")
    assert [e.text for e in explanations_from_html(page)] == ["Alpha, football beta",
                                                               "physics gamma"]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r.get("status") for r in rows] == ["ok", "empty", "ok"]
    assert rows[0]["tokens"][2]["token"] == "football" and rows[0]["id"] == 1

    for args, message in [
        (["", "--html", str(tmp_path / "no.html")], "empty text"),
        (["football", "--method", "attention"], "it can do"),
        (["football", "--target", "nope"], "unknown target class"),
        (["football", "--html", str(tmp_path / "no.html"), "--json", str(table / "x.json")],
         "cannot be written"),
        (["--file", str(table), "--out", str(out)], "already exists"),
        (["--file", str(table), "--out", str(tmp_path / "x.jsonl"), "--png", "x.png"],
         "are for one text"),
        (["--global", "--file", str(table), "--target", "sport"], "--target is for single texts"),
    ]:
        res = runner.invoke(app, ["explain", str(run), *args])
        assert res.exit_code == 1 and message in res.output, res.output
        assert len([line for line in res.output.splitlines() if line.strip()]) == 1
    assert not (tmp_path / "no.html").exists()

    res = runner.invoke(app, ["explain", str(run), "--faithfulness", "--file", str(table),
                              "--compare", "occlusion", "--out", str(tmp_path / "faith.json"),
                              "--png", str(tmp_path / "curves.png"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "occlusion" in res.output and "random" in res.output
    assert json.loads((tmp_path / "faith.json").read_text())["skipped"] == 1

    res = runner.invoke(app, ["explain", str(run), "--global", "--file", str(table),
                              "--out", str(tmp_path / "global.json"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "most-chosen n-grams" in res.output
    assert json.loads((tmp_path / "global.json").read_text())["texts"] == 2


def test_data_set_explanations_skip_empty_texts_and_refuse_all_empty(trained):
    from embedlab.explain import global_explanation

    cnn = trained["cnn"].predictor_
    for run, doing in ((lambda ts: global_explanation(cnn, ts), "explain"),
                       (lambda ts: faithfulness(cnn, ts, methods=["occlusion"]), "measure")):
        with pytest.raises(DataError, match=f"no text to {doing}: every text is empty"):
            run(["", "  ", "\t"])
    assert faithfulness(cnn, ["", *HELD_OUT[0][:3]], methods=["occlusion"]).skipped == 1
    assert global_explanation(cnn, ["", " ", *HELD_OUT[0][:3]]).skipped == 2


# ----- what people see: ranked lists, colours in every terminal, attention, --global --------------
def _made(scores: list[float], kind: str = "attribution") -> Explanation:
    """An explanation with given token scores (the renderers' input, as a method returns it)."""
    from embedlab.explain.explanation import TokenScore

    words = [f"w{i}" for i in range(len(scores))]
    text, tokens = " ".join(words), []
    for i, (w, s) in enumerate(zip(words, scores)):
        start = sum(len(x) + 1 for x in words[:i])
        tokens.append(TokenScore(w, start, start + len(w), "known", s))
    return Explanation(text=text, predicted="a", explained="a", probability=0.7,
                       probabilities={"a": 0.7, "b": 0.3},
                       method="attention" if kind == "attention" else "ig", settings={},
                       tokens=tokens, score_kind=kind)  # type: ignore[arg-type]


def test_ranked_lists_keep_the_strongest_evidence_against(trained):
    """Explaining 'science' for a football text: the keyword is the strongest evidence AGAINST
    it; every ranked list (terminal, HTML) lists it first, with its minus sign."""
    from rich.console import Console

    from embedlab.explain.render_terminal import render_terminal

    [e] = trained["cnn"].explain(["alpha football beta gamma delta epsilon zeta eta theta iota "
                                  "kappa lambda"], method="occlusion", target="science")
    strongest = max(e.seen, key=lambda t: abs(t.score))
    assert strongest.token == "football" and strongest.score < 0
    assert e.top_tokens(1) == [strongest] and len(e.top_tokens(10)) == 10
    # the positive-first order would have cut it from a 10-item list of 12 tokens
    assert sorted(e.seen, key=lambda t: -t.score)[:10].count(strongest) == 0
    console = Console(record=True, width=120, color_system=None)
    render_terminal(e, console, top=10)
    ranked = console.export_text().split("ranked by |score|")[1].splitlines()
    assert ranked[2].split()[:3] == ["1", "football", f"{strongest.score:+.4f}"]
    html = render_html(e)
    first = html.split("top tokens by |score|")[1].split("<li>")[1]
    assert "football" in first and f"{strongest.score:+.4f}" in first


_RENDER = """
import sys
from rich.console import Console
from embedlab.explain.explanation import Explanation
from embedlab.explain.render_terminal import coloured_text
e = Explanation.from_json(sys.stdin.read())
console = Console(color_system=sys.argv[1], force_terminal=True, width=200)
console.print(coloured_text(e, console.color_system), end="")
"""


def _ansi(e: Explanation, system: str) -> dict[str, str]:
    """Each token's SGR codes as a terminal with this colour system receives them (a fresh
    process per system: Rich caches a style's codes for the first system it renders for)."""
    import re

    out = subprocess.run([sys.executable, "-c", _RENDER, system], input=e.to_json(),
                         capture_output=True, text=True, check=True, timeout=60).stdout
    codes: dict[str, str] = {}
    for m in re.finditer(r"(?:\x1b\[([0-9;]*)m)?(w\d+)", out):
        codes[m.group(2)] = m.group(1) or ""
    return codes


@pytest.mark.parametrize("system", ["standard", "256", "truecolor"])
def test_terminal_colours_keep_the_sign_and_fade_near_zero(system):
    """Strong and weak evidence for (red) and against (blue) stay distinguishable in 16, 256
    and 16.7 M colours; a token under a tenth of the largest |score| gets no colour at all (no
    near-white box on a dark theme)."""
    e = _made([1.0, 0.3, 0.02, -0.03, -0.3, -1.0])
    codes = _ansi(e, system)
    assert codes["w2"] == "" and codes["w3"] == ""  # near zero: plain text
    if system == "standard":
        assert codes["w0"].endswith(";41") and codes["w5"].endswith(";44")  # white on red / blue
        assert codes["w1"] == "1;91" and codes["w4"] == "1;94"  # weak: red / blue letters
        assert not any("38;" in c or "48;" in c for c in codes.values())
        return
    marker = "48;5;" if system == "256" else "48;2;"
    assert all(marker in codes[w] for w in ("w0", "w1", "w4", "w5"))
    if system == "truecolor":
        for w in ("w0", "w1", "w4", "w5"):
            r, g, b = (int(x) for x in codes[w].split("48;2;")[1].split(";")[:3])
            assert min(r, g, b) < 200  # a real tint, not near-white
            assert (r > b) == (w in ("w0", "w1"))  # red for, blue against
    else:
        from rich.color import EIGHT_BIT_PALETTE

        for w in ("w0", "w1", "w4", "w5"):
            r, g, b = EIGHT_BIT_PALETTE[int(codes[w].split("48;5;")[1].split(";")[0])]
            assert len({r, g, b}) > 1 and min(r, g, b) < 200  # not a grey, not near-white
            assert (r > b) == (w in ("w0", "w1"))


@pytest.mark.slow
def test_the_cli_colours_a_16_colour_terminal(trained, tmp_path):
    run = trained["cnn"].save(tmp_path / "run")
    env = {**os.environ, "TERM": "xterm", "FORCE_COLOR": "1", "COLUMNS": "120"}
    env.pop("COLORTERM", None)
    env.pop("NO_COLOR", None)
    res = subprocess.run([sys.executable, "-m", "embedlab", "explain", str(run),
                          "alpha football beta", "--method", "occlusion", "--target", "science"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert "\x1b[1;97;44mfootball" in res.stdout  # strong evidence against: white on blue
    assert "48;5;" not in res.stdout and "48;2;" not in res.stdout


def test_attention_is_coloured_relative_to_the_uniform_weight():
    """Nearly uniform attention shows no colour (it used to be scaled to its maximum, so it
    looked strong); a peak at 4x the uniform weight gets the full colour; the legend says so."""
    import re

    def coloured(e: Explanation) -> list[str]:
        spans = re.findall(r'<span title="(w\d+):[^"]*" style="([^"]*)"', render_html(e))
        assert len(spans) == len(e.tokens)
        return [w for w, style in spans if "background" in style]

    flat = _made([0.26, 0.25, 0.25, 0.24], kind="attention")
    assert coloured(flat) == [] and "uniform weight 1/4" in render_html(flat)
    peaked = _made([0.04] * 10 + [0.6], kind="attention")
    assert coloured(peaked) == ["w10"]
    assert "background:rgb(123,50,148)" in render_html(peaked)  # 0.6 > 4/11: full colour


def test_global_view_is_per_occurrence_frequency_aware_and_drawn(trained, tmp_path):
    from typer.testing import CliRunner

    from embedlab.cli import app
    from embedlab.explain import global_explanation

    g = global_explanation(trained["fasttext"].predictor_, HELD_OUT[0], top=5, min_count=3)
    for cls, terms in g.classes.items():
        assert terms[0][0] == KEYS[cls]
        assert all(n >= 3 for _, _, n, _ in terms)
        means = [abs(m) for _, m, _, _ in terms]
        assert means == sorted(means, reverse=True)
    assert sum(g.predicted.values()) == g.texts == len(HELD_OUT[0])
    assert "mean contribution" in g.caption()
    rare = global_explanation(trained["fasttext"].predictor_, HELD_OUT[0], top=50, min_count=31)
    assert all(terms == [] for terms in rare.classes.values())  # nobody seen 31 times in 30 texts

    run = trained["cnn"].save(tmp_path / "run")
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(HELD_OUT[0]) + "\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["explain", str(run), "--global", "--file", str(texts),
                              "--min-count", "2", "--png", str(tmp_path / "g.png"),
                              "--html", str(tmp_path / "g.html"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "g.png").stat().st_size > 10_000
    page = (tmp_path / "g.html").read_text(encoding="utf-8")
    assert page.count('class="embedlab-global-class"') == len(KEYS)
    assert all(k in page for k in KEYS.values()) and "https://" not in page
    res = runner.invoke(app, ["explain", str(run), "--faithfulness", "--file", str(texts),
                              "--html", str(tmp_path / "f.html")])
    assert res.exit_code == 1 and "not --html" in res.output


def test_explanations_explain_the_class_predict_answers_under_the_runs_offsets():
    """A run's per-class logit offsets (decisions.json's class_bias: bcts's, by default) can
    move the predicted class; the class an explanation explains by default is the one predict
    answers, and exact contributions plus the base still give the model's own logit."""
    clf = TextClassifier(model="fasttext", epochs=4, lr=1e-1, embedding_dim=16, embeddings=None,
                         val_size=0.2, seed=0).fit(TRAIN[0], TRAIN[1])
    predictor = clf.predictor_
    assert predictor.decisions is not None and predictor.decisions.class_bias is not None
    texts = HELD_OUT[0][:8]
    favoured = predictor.classes[0]
    offsets = [20.0 if c == favoured else 0.0 for c in predictor.classes]
    predictor.decisions.class_bias = offsets  # a run whose offsets move every prediction
    assert [p.label for p in predictor.predict(texts)] == [favoured] * len(texts)
    for text, e in zip(texts, predictor.explain(texts, method="exact"), strict=True):
        assert e.predicted == e.explained == favoured
        logit = predictor.predict_logits([text])[0, 0]
        assert sum(e.scores) + e.base == pytest.approx(float(logit), abs=1e-4)
