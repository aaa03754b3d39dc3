"""Phases split off again by count splitting (sigma.clustering._split)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter
from sklearn.metrics import adjusted_rand_score

from sigma.clustering import _count_model as cm
from sigma.clustering._split import split_phases


def _run(counts, start, lab, seed=0):
    """``split_phases`` on one label (everything merged), count-rate band as in find_phases."""
    h, w, b = counts.shape
    yx = counts.reshape(h * w, b).astype(np.float32)
    rate_of = lambda v: cm.with_rate_band(v, 0.3, 3.0)  # noqa: E731
    y = rate_of(yx)
    k = int(lab.max()) + 1
    sums, n = cm.spectra_from_labels(y, lab, k)
    valid = np.ones((h, w), bool)
    decisions = []
    out = split_phases(y, yx, rate_of, start, lab, cm.log_spectra(sums), cm.log_weights(n), None, valid, 1.0,
                       True, 3, decisions, seed)
    return out[0], decisions


def _grains(size=48):
    """Host phase 0 with two 10x10 grains of phase 1."""
    truth = np.zeros((size, size), np.int32)
    truth[6:16, 8:18] = 1
    truth[28:38, 26:36] = 1
    return truth


def test_a_look_alike_phase_joined_to_its_host_is_split_off_again():
    rng = np.random.default_rng(0)
    a = rng.dirichlet(np.ones(16) * 5)
    b = a.copy()
    b[:4] *= 1.6  # a look-alike: four bands of sixteen 60 % stronger
    b /= b.sum()
    truth = _grains()
    counts = rng.poisson(60 * np.stack([a, b])[truth])
    start = truth.copy()
    start[:, 24:][truth[:, 24:] == 0] = 2  # the host in two start clusters, the grains in one
    lab, decisions = _run(counts, start, np.zeros_like(truth))
    assert len(np.unique(lab)) == 2
    assert adjusted_rand_score(truth.ravel(), lab.ravel()) > 0.8
    (d,) = decisions
    assert d["step"] == "split" and d["G"] > d["critical"] and d["rho"] > 0.25 and d["nats_per_pixel"] >= 1.0
    assert 150 <= d["pixels"] <= 260 and d["parent_pixels"] == truth.size


def test_one_phase_split_along_its_own_noise_stays_one_phase():
    """The start clusters are chosen from the (lightly smoothed) counts, as a latent-space
    clusterer on neighbour-averaged features does: on the counts that chose them they pass the
    test of a new phase (``G`` 2.5-3.4 times the critical value); on the held-out half
    they are one phase."""
    from scipy.stats import chi2

    from sigma.clustering._phase_steps import _new_phase

    rng = np.random.default_rng(1)
    a = rng.dirichlet(np.ones(16) * 5)
    crit = chi2.isf(1e-6, 15)
    for seed in range(3):
        counts = rng.poisson(60 * a, size=(48, 48, 16))
        frac = uniform_filter(counts[..., :4].sum(-1) / counts.sum(-1), 2)
        start = (frac > np.quantile(frac, 0.8)).astype(np.int32) + (frac > np.quantile(frac, 0.95))
        x = counts.reshape(-1, 16).astype(np.float32)
        for s in (1, 2):
            m = (start == s).ravel()
            assert cm.two_sample_g(x[m].sum(0), x[~m].sum(0)) > 2 * crit
        y = cm.with_rate_band(x, 0.3, 3.0)
        assert _new_phase(y, cm.log_spectra(y.sum(0, keepdims=True)), np.zeros((48, 48), int),
                          [start == 1, start == 2])[0] is not None  # candidates on the same counts
        lab, decisions = _run(counts, start, np.zeros((48, 48), np.int32), seed)
        assert decisions == [] and np.all(lab == 0)
