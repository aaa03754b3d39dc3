"""The final labels of ``n_components='auto'``: which phase a boundary pixel goes to (the
area rule of bulk maps), and pixels without a count, labelled rather than left out."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.clustering.auto_k import boundary_exponent, find_phases


def _two_phase_boundary(seed=0):
    """Phase A (1000 counts per pixel) left of phase B (350): columns 19-21 hold 60, 35 and 20 %
    of A by area, so column 20 is B's by area (a boundary pixel's counts are area times rate)
    but A's by counts (35 % x 1000 against 65 % x 350: 61 % of them)."""
    rng = np.random.default_rng(seed)
    a, b = rng.dirichlet(np.ones(16) * 3), rng.dirichlet(np.ones(16) * 3)
    area = np.ones((40, 40))
    area[:, 19], area[:, 20], area[:, 21], area[:, 22:] = 0.6, 0.35, 0.2, 0.0
    mean = area[..., None] * 1000 * a + (1 - area[..., None]) * 350 * b
    y = rng.poisson(mean).astype(np.float32)
    truth = (area < 0.5).astype(int)
    start = (truth * 3 + rng.integers(0, 3, truth.shape)).astype(np.int32)
    return y, start, truth


@pytest.mark.parametrize("seed", [0, 1])
def test_a_bulk_boundary_pixel_goes_to_the_phase_covering_most_of_it(seed):
    y, start, truth = _two_phase_boundary(seed)
    area_rule = find_phases(y, start, intensity=0.0, boundary=boundary_exponent(False))
    counts_rule = find_phases(y, start, intensity=0.0, boundary=0.0)
    for res in (area_rule, counts_rule):
        assert res.evidence.n_components == 2
    a = area_rule.labels[5:-5, 5].max()  # the label of A's interior (labels are ordered by area)
    # column 20: 35 % of A by area, 61 % of its counts
    assert np.mean(area_rule.labels[:, 20] != a) >= 0.9
    assert np.mean(counts_rule.labels[:, 20] == counts_rule.labels[5:-5, 5].max()) >= 0.9
    # column 19 (60 % of A) stays A's under both rules
    assert np.mean(area_rule.labels[:, 19] == a) >= 0.9
    assert (area_rule.labels == np.where(truth == 0, a, 1 - a)).mean() > 0.97


def test_the_boundary_exponent_is_checked():
    y, start, _ = _two_phase_boundary()
    with pytest.raises(SigmaValueError, match="'boundary' parameter"):
        find_phases(y, start, boundary=5.0)
    assert boundary_exponent(False) == -1.0 and boundary_exponent(True) == 0.0


def test_pixels_without_counts_are_labelled_from_their_neighbours():
    """A film of 1 count per pixel with particles of 60: a third of the film pixels hold no
    count. Left out of the start labels, ``fill`` labels them (film, by their neighbours and
    their count rate) instead of leaving holes (-1) across the film."""
    rng = np.random.default_rng(4)
    film, part = rng.dirichlet(np.ones(12) * 4), rng.dirichlet(np.ones(12) * 4)
    yy, xx = np.mgrid[:40, :40]
    truth = (((yy - 12) ** 2 + (xx - 12) ** 2) <= 25) | (((yy - 28) ** 2 + (xx - 26) ** 2) <= 36)
    truth = truth.astype(int)
    y = rng.poisson(np.where(truth == 1, 60.0, 1.0)[..., None] * np.stack([film, part])[truth])
    y = y.astype(np.float32)
    empty = y.sum(-1) == 0
    assert empty.mean() > 0.2
    start = np.where(empty, -1, truth * 2 + rng.integers(0, 2, truth.shape)).astype(np.int32)
    left_out = find_phases(y, start)
    filled = find_phases(y, start, fill=empty)
    assert (left_out.labels[empty] == -1).all()
    assert (filled.labels >= 0).all()
    film_label = filled.labels[0, 39]
    assert (filled.labels[empty & (truth == 0)] == film_label).mean() > 0.99
    np.testing.assert_array_equal(filled.labels[truth == 1] != film_label, True)
    with pytest.raises(SigmaValueError, match="'fill' parameter"):
        find_phases(y, start, fill=empty[:10])


def test_the_segmenter_labels_the_empty_pixels_of_a_faint_tem_film():
    """Through the dataset: the empty pixels stay out of the features (``valid_mask``) but get a
    label, and are not counted as excluded."""
    from sigma.clustering import PixelSegmenter
    from sigma.datasets import TEMDataset
    from sigma.synthetic.family import make_particle_phantom

    ph = make_particle_phantom((64, 64), counts_per_pixel=5, n_channels=1024, energy_scale=0.02,
                               energy_offset=-0.2, seed=2)
    ds = TEMDataset(ph.to_signal())
    ds.rebin_signal((2, 2))
    x = ds.normalisation(["neighbour_averaging", "zscore"])
    empty = ds.empty_mask
    assert empty.sum() >= 20 and not (empty & ds.valid_mask).any()
    ps = PixelSegmenter(x.reshape(-1, x.shape[-1]), ds, "GaussianMixture", {"n_components": "auto"})
    assert (ps.labels >= 0).all() and ps.excluded_count == 0
    film = np.bincount(ps.labels[ds.valid_mask]).argmax()
    assert (ps.labels[empty] == film).mean() > 0.9


def test_empty_pixels_next_to_a_bright_phase_stay_out():
    """A block of pixels without a count beside a phase of 40 counts per pixel was never
    measured (no such phase leaves a pixel empty): it stays -1, as on Hitachi_TM3030Plus.bcf."""
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(12) * 4)
    y = rng.poisson(40.0 * np.broadcast_to(p, (30, 30, 12))).astype(np.float32)
    y[10:, :] = 0
    empty = y.sum(-1) == 0
    start = np.where(empty, -1, rng.integers(0, 3, (30, 30))).astype(np.int32)
    res = find_phases(y, start, intensity=0.0, fill=empty)
    assert (res.labels[empty] == -1).all() and (res.labels[~empty] >= 0).all()
