"""Phases split off again by count splitting (sigma.clustering._split)."""

from __future__ import annotations

import numpy as np
from _split_maps import (  # this folder: pytest puts it on sys.path
    _film_and_phase,
    _particle_counts,
    _particles,
    _run,
)
from scipy.ndimage import uniform_filter
from sklearn.metrics import adjusted_rand_score

from sigma.clustering import _count_model as cm


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


def test_small_particles_of_two_phases_in_one_label_are_split_by_their_pieces():
    """Particles 2-3 pixels in radius at 30 counts a particle pixel (few interior pixels; most
    of each is rim shared with the film) of two phases (four bands of sixteen three times as
    strong), all in one label. Over seeds 0-3 of this map, a two-spectrum fit of the label's
    pixels splits 2 (seeds 0 and 3): it cuts rims from centres. The particles' summed counts,
    grouped in two on one half of the counts and tested on the other, split seeds 1 and 3 (and
    the fit still splits seed 0): 3 of 4."""
    for seed in (1, 3):
        rng = np.random.default_rng(seed)
        film, a = rng.dirichlet(np.ones(16) * 4, size=2)
        b = a.copy()
        b[:4] *= 3.0
        spectra = np.stack([film, a, b / b.sum()])
        truth = _particles([2, 2.5, 3] * 4, [1, 2] * 6, seed=seed)
        counts = _particle_counts(truth, spectra, rng, particle=30.0)
        lab = (truth > 0).astype(np.int32)
        out, decisions = _run(counts, lab, lab)
        (d,) = [d for d in decisions if d["step"] == "split"]
        assert d["seed"] == "pieces" and d["G"] > d["critical"] and d["nats_per_pixel"] >= 1.0
        assert len(np.unique(out)) == 3
        assert {int(np.bincount(out[truth == p]).argmax()) for p in range(3)} == {0, 1, 2}
        assert adjusted_rand_score(truth.ravel(), out.ravel()) > 0.8


def test_particles_of_one_phase_stay_one_phase():
    """Ten particles of one phase in one label: their pieces grouped in two on one half of the
    counts are one spectrum on the other half, and nothing is split."""
    rng = np.random.default_rng(4)
    spectra = rng.dirichlet(np.ones(16) * 4, size=2)
    for seed in range(3):
        truth = _particles([2.5, 3, 2, 2.5, 3, 2, 2.5, 3, 2, 3], [1] * 10, seed=seed)
        counts = _particle_counts(truth, spectra, rng)
        lab = (truth > 0).astype(np.int32)
        out, decisions = _run(counts, lab, lab, seed)
        assert [d for d in decisions if d["step"] == "split"] == []
        assert np.array_equal(out, lab)


def test_a_seed_whose_label_spectrum_is_its_own_is_not_called_a_mixture_of_it():
    """One label holds thin rings of phase 1 (round cores of phase 3, a label of their own)
    and discs of phase 2. The rings have no interior pixel, so the label's spectrum is the
    discs' own; the discs are no mixture of the *rest* of the label (the rings) and the film,
    and are split off."""
    rng = np.random.default_rng(7)
    film, ring, disc, core = rng.dirichlet(np.ones(16) * 4, size=4)
    size = 72
    truth = np.zeros((size, size), np.int32)
    yy, xx = np.mgrid[:size, :size]
    for cy, cx in ((12, 12), (12, 58), (58, 12), (58, 58)):
        d2 = (yy - cy) ** 2 + (xx - cx) ** 2
        truth[d2 <= 36] = 1
        truth[d2 <= 16] = 3
    for cy, cx in ((36, 20), (36, 52), (20, 36), (52, 36)):
        truth[(yy - cy) ** 2 + (xx - cx) ** 2 <= 16] = 2
    counts = _particle_counts(truth, np.stack([film, ring, disc, core]), rng, particle=40.0)
    lab = np.where(truth == 3, 2, np.minimum(truth, 1)).astype(np.int32)
    out, decisions = _run(counts, np.zeros_like(lab), lab)  # no start cluster seeds a split
    assert [d.get("seed") for d in decisions if d["step"] == "split"] == ["pieces"]
    assert len(np.unique(out)) == 4
    assert {int(np.bincount(out[truth == p]).argmax()) for p in range(4)} == {0, 1, 2, 3}


def _strip_map(rng, blocks, width=20):
    """Rows of pixels, ``blocks``: a list of ``(rows, spectrum, counts)``; returns the counts
    ``(N, B)``, their two halves (binomial thinning) and the row index of every pixel."""
    y = np.concatenate([rng.poisson(c * p, (r * width, len(p))) for r, p, c in blocks]).astype(np.float64)
    y1 = rng.binomial(y.astype(np.int64), 0.5).astype(np.float64)
    rows = np.repeat(np.arange(sum(r for r, _, _ in blocks)), width)
    return y1, y - y1, rows.reshape(-1, width)


def test_the_residual_contrast_of_a_mixture_with_other_shares_is_standard_normal():
    """A seed that holds less film than the rest of its label (thicker particles of the same
    phase) is no new phase, although no convex mixture of the rest and the film gives it: its
    residual along the direction the choosing half shows, tested on the other half, is
    standard normal (300 draws: mean and spread, and none above the bar)."""
    from sigma.clustering._split import RESIDUAL_MIN_Z, _residual_contrast

    rng = np.random.default_rng(12)
    film, a = _film_and_phase(rng)
    zs = []
    for _ in range(300):
        y1, y2, rows = _strip_map(rng, [(1, 0.9 * a + 0.1 * film, 40.0), (3, 0.6 * a + 0.4 * film, 40.0),
                                        (20, film, 5.0)])
        zs.append(_residual_contrast(y1, y2, rows == 0, [(rows >= 1) & (rows <= 3), rows >= 4])[0])
    zs = np.array(zs)
    assert abs(zs.mean()) < 0.2 and 0.85 < zs.std() < 1.15
    assert zs.max() < RESIDUAL_MIN_Z


def test_a_look_alike_beyond_the_film_is_found_by_its_residual():
    """The seed is a look-alike of the rest of its label (two bands of sixteen twice as strong)
    that holds more film: by its summed counts it is a mixture of the rest and the film
    (``rho`` below :data:`MIXTURE_RATIO`), but its residual beyond every such mixture stands
    out (8 of 10 draws at least above :data:`RESIDUAL_MIN_Z`)."""
    from sigma.clustering._phase_steps import MIXTURE_RATIO
    from sigma.clustering._split import RESIDUAL_MIN_Z, _residual_contrast

    rng = np.random.default_rng(13)
    film, a = _film_and_phase(rng)
    b = a.copy()
    b[-2:] *= 2.0
    b /= b.sum()
    above, rhos = 0, []
    for _ in range(10):
        y1, y2, rows = _strip_map(rng, [(6, 0.5 * b + 0.5 * film, 40.0), (6, 0.8 * a + 0.2 * film, 40.0),
                                        (20, film, 5.0)])
        seed, rest, flm = rows <= 5, (rows >= 6) & (rows <= 11), rows >= 12
        above += _residual_contrast(y1, y2, seed, [rest, flm])[0] > RESIDUAL_MIN_Z
        y = y1 + y2
        p = np.stack([y[m.ravel()].sum(0) / y[m.ravel()].sum() for m in (rest, flm)])
        rhos.append(cm.mixture_ratio(y[seed.ravel()].sum(0), p, p)[0])
    assert above >= 8
    assert np.median(rhos) < MIXTURE_RATIO


def test_look_alike_particles_below_a_nat_a_pixel_are_split_by_their_residual():
    """Twelve particles 4-5 pixels in radius at 40 counts a particle pixel, of two look-alike
    phases (three bands of sixteen 50 % stronger), in one label on a film: the split of their
    pieces carries 0.4-0.5 nats a pixel, below :data:`SPLIT_MIN_NATS`, and was not made; their
    interiors' residual beyond every mixture of the rest of the label and the film splits
    them in 3 of seeds 0-3 (0, 1, 3). Particles of one phase stay one phase (seeds 0-3)."""
    from sigma.clustering._split import PIECE_MIN_Z, RESIDUAL_MIN_Z

    for seed in (0, 1, 3):
        rng = np.random.default_rng(seed)
        film, a = _film_and_phase(rng)
        b = a.copy()
        b[-3:] *= 1.5
        truth = _particles([4, 4.5, 5] * 4, [1, 2] * 6, size=72, seed=seed)
        counts = _particle_counts(truth, np.stack([film, a, b / b.sum()]), rng, particle=40.0)
        lab = (truth > 0).astype(np.int32)
        out, decisions = _run(counts, lab, lab, seed)
        (d,) = [d for d in decisions if d["step"] == "split"]
        assert d["nats_per_pixel"] < 1.0 and d["z"] > RESIDUAL_MIN_Z and d["z_piece"] >= PIECE_MIN_Z
        assert {int(np.bincount(out[truth == p]).argmax()) for p in range(3)} == {0, 1, 2}
        assert adjusted_rand_score(truth.ravel(), out.ravel()) > 0.97
    for seed in range(4):
        rng = np.random.default_rng(seed)
        film, a = _film_and_phase(rng)
        truth = _particles([4, 4.5, 5] * 4, [1] * 12, size=72, seed=seed)
        lab = (truth > 0).astype(np.int32)
        out, decisions = _run(_particle_counts(truth, np.stack([film, a]), rng, particle=40.0), lab, lab, seed)
        assert [d for d in decisions if d["step"] == "split"] == [] and np.array_equal(out, lab)
