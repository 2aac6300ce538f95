"""Calibration, conformal sets, risk–coverage and OOD scores on a real trained model's outputs
(a bag model trained on TREC questions; scored on TREC's validation / test texts and on texts
of other data sets)."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.decisions.calibration import (
    T_BOUNDS,
    calibration_figures,
    expected_calibration_error,
    fit_bias_temperature,
    fit_label_temperatures,
    fit_temperature,
    multilabel_calibration_figures,
    plot_reliability,
    reliability_bins,
    sigmoid_at,
    softmax_at,
)
from embedlab.decisions.conformal import (
    ConformalSets,
    check_coverage,
    plot_risk_coverage,
    risk_coverage,
    set_figures,
)
from embedlab.decisions.ood import OodDetector
from embedlab.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def trec_outputs():
    """Logits of a fastText-style model trained on 3,000 TREC training questions (random 32-d
    vectors), on 2,000 other training questions (calibration), on the remaining 452 training
    questions (exchangeable with the calibration ones) and on the 500 test questions."""
    from embedlab.config import RunConfig
    from embedlab.data import load_dataset
    from embedlab.training.run import fit

    full = load_dataset("trec", "train")
    order = np.random.default_rng(0).permutation(len(full.texts))
    train, cal, rest = (full.subset(order[:3000]), full.subset(order[3000:5000]),
                       full.subset(order[5000:]))
    test = load_dataset("trec", "test")
    cfg = RunConfig.from_dict({"model": {"name": "fasttext"}, "embeddings": {"dim": 32},
                               "training": {"epochs": 8, "progress": False, "seed": 0}})
    predictor = fit(cfg, train, None, sorted(set(full.labels))).predictor

    def out(data):
        enc = predictor.encode_arrays(data.texts)
        index = {c: i for i, c in enumerate(predictor.classes)}
        return (predictor._logits(enc, 256), np.array([index[y] for y in data.labels]),
                enc.known, enc.lengths)

    return predictor, out(cal), out(test), out(rest)


def test_temperature_lowers_nll_and_keeps_every_argmax(trec_outputs):
    _, (zc, yc, _, _), (zt, yt, _, _), _ = trec_outputs
    # an over-confident copy of the same model: logits × 4
    hot = zt * 4
    t = fit_temperature(zc * 4, yc)
    assert t == pytest.approx(4 * fit_temperature(zc, yc), rel=0.02)
    before, after = calibration_figures(softmax_at(hot), yt), calibration_figures(softmax_at(hot, t), yt)
    assert after["log_loss"] < before["log_loss"]
    assert after["ece"] < before["ece"]
    assert (softmax_at(hot, t).argmax(1) == softmax_at(hot).argmax(1)).all()


def test_bias_corrected_temperature_gives_back_a_class_the_model_under_calls(trec_outputs):
    """A copy of the real model that under-calls one class (its logit 3 lower, a prior it
    learned badly): BCTS, fitted on the calibration questions, finds that class's offset and
    gives back most of the test accuracy and log loss lost; temperature scaling alone cannot
    (it never changes an arg-max)."""
    _, (zc, yc, _, _), (zt, yt, _, _), _ = trec_outputs
    k = int(np.bincount(yc).argmax())
    shifted_c, shifted_t = zc.copy(), zt.copy()
    shifted_c[:, k] -= 3.0
    shifted_t[:, k] -= 3.0
    t, b = fit_bias_temperature(shifted_c, yc)
    assert abs(b.sum()) < 1e-6 and b[k] == b.max()
    acc = {name: (z.argmax(1) == yt).mean() for name, z in
           (("model", zt), ("shifted", shifted_t), ("bcts", shifted_t / t + b))}
    assert acc["shifted"] < acc["model"] - 0.05
    assert acc["bcts"] > acc["model"] - 0.01
    loss = {name: calibration_figures(p, yt)["log_loss"] for name, p in (
        ("temperature", softmax_at(shifted_t, fit_temperature(shifted_c, yc))),
        ("bcts", softmax_at(shifted_t / t + b)))}
    assert loss["bcts"] < loss["temperature"] - 0.1


def test_bias_corrected_temperature_keeps_the_offsets_of_a_few_texts_small(trec_outputs):
    """Offsets weigh less on fewer texts: fitted on 12 questions (too few of any class for an
    offset of its own: each needs 5) they correct nothing of a 3-logit shift of one class, on
    200 some of it, on 2,000 most. A class the validation split lacks keeps offset 0 instead of
    being pushed down for being absent (unprotected, its offset is −4 and its test recall falls
    from 0.72 to 0.02); the other offsets still take some of its texts (recall 0.65)."""
    _, (zc, yc, _, _), (zt, yt, _, _), _ = trec_outputs
    k = int(np.bincount(yc).argmax())
    shifted = zc.copy()
    shifted[:, k] -= 3.0
    others = np.arange(zc.shape[1]) != k

    def correction(n: int) -> float:  # in raw logits, against the other classes' mean
        t, b = fit_bias_temperature(shifted[:n], yc[:n])
        return float((b[k] - b[others].mean()) * t)

    assert correction(12) == 0 < correction(200) < correction(2000)
    t, none = fit_bias_temperature(zc[:8], yc[:8])  # no class has 5 texts: the temperature alone
    assert not none.any() and t == pytest.approx(fit_temperature(zc[:8], yc[:8]), rel=1e-2)
    assert correction(2000) > 2.0
    t, own = fit_bias_temperature(zc, yc)
    assert np.abs(own * t).max() < correction(2000) / 2
    kept = yc != k  # a validation split without class k
    t, b = fit_bias_temperature(zc[kept], yc[kept])
    assert b[k] == 0 and abs(b[others].sum()) < 1e-9
    recall = [((z.argmax(1) == k) & (yt == k)).sum() / (yt == k).sum() for z in (zt, zt / t + b)]
    assert recall[1] >= recall[0] - 0.1


def test_ece_is_zero_for_perfectly_calibrated_bins_and_large_for_overconfidence():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, 20000)
    y = (rng.uniform(size=p.size) < p).astype(int)  # class 1 is right with probability p
    probs = np.stack([1 - p, p], 1)
    target = np.where(y == 1, 1, 0)
    assert expected_calibration_error(probs, target) < 0.02
    over = np.stack([np.zeros_like(p), np.ones_like(p)], 1)
    assert expected_calibration_error(over, target) > 0.2
    assert sum(b["count"] for b in reliability_bins(probs, target)) == p.size


def test_label_temperatures_fit_each_label(trec_outputs):
    _, (zc, yc, _, _), _, _ = trec_outputs
    y = np.eye(zc.shape[1])[yc]
    scale = np.linspace(0.5, 4, zc.shape[1])
    temps = fit_label_temperatures(zc * scale, y)
    assert temps.shape == (zc.shape[1],)
    # a label whose logits were scaled up needs a larger temperature than one scaled down
    assert temps[-1] > temps[0]
    before = multilabel_calibration_figures(sigmoid_at(zc * scale), y)
    after = multilabel_calibration_figures(sigmoid_at(zc * scale, temps), y)
    assert after["log_loss"] <= before["log_loss"]


def test_conformal_sets_reach_the_asked_coverage(trec_outputs):
    _, (zc, yc, _, _), _, (zt, yt, _, _) = trec_outputs
    t = fit_temperature(zc, yc)
    for coverage in (0.8, 0.9, 0.95):
        sets = ConformalSets.fit(softmax_at(zc, t), yc, coverage)
        got = set_figures(sets.sets(softmax_at(zt, t)), yt)
        assert got["coverage"] >= coverage - 0.03, (coverage, got)
        assert 0 <= got["empty"] <= 1 and got["mean_size"] >= 1 - got["empty"]
    small = ConformalSets.fit(softmax_at(zc, t), yc, 0.8).sets(softmax_at(zt, t)).sum(1).mean()
    large = ConformalSets.fit(softmax_at(zc, t), yc, 0.95).sets(softmax_at(zt, t)).sum(1).mean()
    assert large > small


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, "0.9"])
def test_coverage_outside_the_open_interval_is_one_line_error(bad):
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        check_coverage(bad)


def test_coverage_needing_more_texts_than_calibration_has():
    probs = np.full((10, 3), 1 / 3)
    with pytest.raises(DataError, match="needs at least 99 calibration texts; the validation split has 10"):
        ConformalSets.fit(probs, np.zeros(10, int), 0.99)


def test_risk_coverage_curve_and_plot(trec_outputs, tmp_path):
    _, _, (zt, yt, _, _), _ = trec_outputs
    curve = risk_coverage(softmax_at(zt), yt)
    risk = np.asarray(curve["risk"])
    # answering only the most confident texts makes fewer errors than answering all of them
    assert risk[len(risk) // 5] < risk[-1]
    assert curve["coverage"][-1] == 1.0
    png = plot_risk_coverage(curve, tmp_path / "rc.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rel = plot_reliability(reliability_bins(softmax_at(zt), yt), None, tmp_path / "rel.png")
    assert rel.stat().st_size > 1000


def test_ood_detector_flags_few_questions_and_many_other_texts(trec_outputs):
    from embedlab.data import load_dataset

    predictor, (zc, _, kc, lc), (zt, _, kt, lt), _ = trec_outputs
    det = OodDetector.fit(zc, kc, lc)
    from sklearn.metrics import roc_auc_score

    in_flagged = det.flags(zt, kt, lt).mean()
    assert in_flagged <= 0.10
    news = load_dataset("ag_news_sample", "train").texts[:300]
    enc = predictor.encode_arrays(news)
    zn = predictor._logits(enc, 256)
    assert det.flags(zn, enc.known, enc.lengths).mean() > 3 * in_flagged
    scores = np.r_[det.score(zt, kt, lt), det.score(zn, enc.known, enc.lengths)]
    assert roc_auc_score(np.r_[np.zeros(len(zt)), np.ones(len(zn))], scores) > 0.8
    again = OodDetector.from_dict(det.to_dict())
    assert np.array_equal(again.score(zt, kt, lt), det.score(zt, kt, lt))


def test_ood_detector_refuses_too_few_texts_and_bad_rate(trec_outputs):
    _, (zc, _, kc, lc), _, _ = trec_outputs
    with pytest.raises(DataError, match="at least 20"):
        OodDetector.fit(zc[:5], kc[:5], lc[:5])
    with pytest.raises(DataError, match="strictly between 0 and 1"):
        OodDetector.fit(zc, kc, lc, alpha=1.0)
    with pytest.raises(DataError, match="malformed"):
        OodDetector.from_dict({"alpha": 0.05})


def test_multilabel_decisions_calibrate_each_label_and_flag_other_texts(trec_outputs):
    """The same model's logits read as six independent labels (one-hot truth)."""
    from embedlab.data import load_dataset
    from embedlab.decisions.fitted import Decisions, fit_multilabel_decisions

    predictor, (zc, yc, kc, lc), (zt, yt, kt, lt), _ = trec_outputs
    y = np.eye(zc.shape[1])[yc]
    dec = fit_multilabel_decisions(zc, y, kc, lc)
    assert dec.multilabel and len(dec.label_temperatures) == zc.shape[1]
    assert dec.figures["after"]["log_loss"] <= dec.figures["before"]["log_loss"]
    probs = dec.probabilities(zt)
    assert probs.shape == zt.shape and not np.allclose(probs.sum(1), 1)  # independent labels
    score, flagged = dec.ood_scores(zt, kt, lt)
    assert flagged.mean() <= 0.10
    news = load_dataset("ag_news_sample", "train").texts[:300]
    enc = predictor.encode_arrays(news)
    assert dec.ood_scores(predictor._logits(enc, 256), enc.known, enc.lengths)[1].mean() > 3 * flagged.mean()
    with pytest.raises(DataError, match="prediction sets with a coverage are for single-label runs"):
        dec.set_threshold(0.9)
    again = Decisions.from_dict(dec.to_dict())
    assert np.array_equal(again.probabilities(zt), probs) and again.ood.multilabel


def test_a_label_without_positives_in_validation_keeps_temperature_one():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 2))
    y = np.zeros((200, 2))
    y[:, 1] = (logits[:, 1] + rng.normal(scale=0.5, size=200)) > 0  # a learnable label
    temps = fit_label_temperatures(logits, y)
    assert temps[0] == 1.0  # all negative: its NLL would push T to the lower bound
    assert temps[1] != 1.0 and T_BOUNDS[0] < temps[1] < T_BOUNDS[1]


def test_nine_calibration_texts_are_enough_for_ninety_percent_sets():
    probs = np.full((9, 2), 0.5)
    assert ConformalSets.fit(probs, np.zeros(9, int), 0.9).n_calibration == 9
    with pytest.raises(DataError, match="needs at least 9 calibration texts; the validation split has 8"):
        ConformalSets.fit(probs[:8], np.zeros(8, int), 0.9)


def test_calibration_log_loss_is_scikit_learns():
    """The figures' log loss (computed directly, as scikit-learn computes it: the true class's
    probability clipped to [eps, 1 - eps]) equals ``sklearn.metrics.log_loss``, a certain wrong
    answer (probability 0) included."""
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(3)
    probs = softmax_at(rng.normal(size=(50, 4)) * 3)
    y = rng.integers(0, 4, size=50)
    probs[0] = [1.0, 0.0, 0.0, 0.0]
    y[0] = 2
    got = calibration_figures(probs, y)["log_loss"]
    assert got == pytest.approx(log_loss(y, probs, labels=[0, 1, 2, 3]), rel=1e-12)
    assert got > 36 / 50  # the clipped zero: -log(eps) ≈ 36 over 50 rows


def test_bcts_conformal_scores_are_cross_fitted(trec_outputs):
    """Under bcts each validation text's conformal score comes from the temperature and offsets
    fitted without its fold (the sets' threshold is not made on texts that also fitted the
    offsets): the stored scores are those out-of-fold scores, on the whole less certain than
    the in-sample ones, and the sets built from them cover the exchangeable questions."""
    from embedlab.decisions.fitted import CONFORMAL_FOLDS, fit_decisions

    _, (zc, yc, kc, lc), _, (zr, yr, _, _) = trec_outputs
    z, y = zc[:300], yc[:300]
    dec = fit_decisions(z, y, kc[:300], lc[:300])
    order = np.random.default_rng(0).permutation(300)
    expected = np.empty(300)
    for fold in range(CONFORMAL_FOLDS):
        held = order[fold::CONFORMAL_FOLDS]
        t, b = fit_bias_temperature(z[np.setdiff1d(order, held)], y[np.setdiff1d(order, held)])
        expected[held] = 1 - softmax_at(z[held] / t + b)[np.arange(len(held)), y[held]]
    assert np.allclose(dec.conformal_scores, np.sort(expected))
    in_sample = 1 - dec.probabilities(z)[np.arange(300), y]
    assert np.mean(dec.conformal_scores) > np.mean(in_sample)
    sets = dec.probabilities(zr) >= dec.set_threshold(0.9)
    assert set_figures(sets, yr)["coverage"] >= 0.87
