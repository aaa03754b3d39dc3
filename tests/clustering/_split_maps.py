"""Maps for the split tests (tests/clustering/test_split.py, test_seeds.py): particles on a
film, their counts, and ``split_phases`` run on one label."""

from __future__ import annotations

import numpy as np

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


def _particles(radii, phases, size=64, seed=0):
    """Film (0) with round particles of the given radii and phases, placed apart."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((size, size), np.int32)
    yy, xx = np.mgrid[:size, :size]
    taken = np.zeros((size, size), bool)
    for r, p in zip(radii, phases, strict=True):
        for _ in range(500):
            cy, cx = rng.uniform(r + 2, size - r - 2, 2)
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            if not (taken & ((yy - cy) ** 2 + (xx - cx) ** 2 <= (r + 3) ** 2)).any():
                truth[disc] = p
                taken |= disc
                break
    return truth


def _particle_counts(truth, spectra, rng, film=4.0, particle=60.0):
    """Counts of film and bright particles whose edge pixels hold a share of film (blurred)."""
    from scipy.ndimage import gaussian_filter

    onehot = np.eye(len(spectra))[truth]
    frac = np.stack([gaussian_filter(onehot[..., k], 0.7) for k in range(len(spectra))], -1)
    inten = gaussian_filter(np.where(truth > 0, particle, film), 0.7)
    return rng.poisson(inten[..., None] * (frac / frac.sum(-1, keepdims=True)) @ spectra)


def _film_and_phase(rng):
    """A film spectrum (four bands of sixteen, as carbon and the continuum below 1 keV) and a
    phase spectrum."""
    film = np.r_[np.full(4, 5.0), np.full(12, 0.2)]
    return film / film.sum(), rng.dirichlet(np.ones(16) * 4)


def _touching_pairs(n_pairs, r, size, seed):
    """Film (0) with pairs of touching discs of radius ``r``, one of phase 1 and one of phase
    2 in each pair (which is which alternates): every piece holds both phases."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((size, size), np.int32)
    yy, xx = np.mgrid[:size, :size]
    taken = np.zeros((size, size), bool)
    for i in range(n_pairs):
        for _ in range(500):
            c1 = rng.uniform(r + 2, size - 3 * r - 2, 2)
            t = rng.uniform(0, np.pi / 2)
            c2 = c1 + 2 * r * np.array([np.sin(t), np.cos(t)])
            d1, d2 = ((yy - c[0]) ** 2 + (xx - c[1]) ** 2 <= r * r for c in (c1, c2))
            near = [(yy - c[0]) ** 2 + (xx - c[1]) ** 2 <= (r + 3) ** 2 for c in (c1, c2)]
            if not (taken & (near[0] | near[1])).any():
                truth[d1] = 1 + i % 2
                truth[d2 & ~d1] = 2 - i % 2
                taken |= d1 | d2
                break
    return truth
