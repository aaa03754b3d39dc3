"""Spectral reassignment of pixels (refine='spectra') and its use by PixelSegmenter."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.clustering import PixelSegmenter
from sigma.clustering.refine import reassign_by_spectra
from sigma.synthetic.metrics import ground_truth_ari


def _two_phases(counts=40, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.zeros((30, 40), int)
    truth[:, 20:] = 1
    truth[10:20, 5:12] = 1
    spectra = np.array([[6.0, 2.0, 1.0, 1.0], [1.0, 1.0, 2.0, 6.0]])
    spectra /= spectra.sum(1, keepdims=True)
    return truth, rng.poisson(spectra[truth] * counts).astype(np.uint16)


def test_blurred_boundaries_are_restored():
    from scipy.ndimage import uniform_filter

    truth, counts = _two_phases()
    # labels of 5x5-averaged data: the boundaries move and the small island shrinks
    blurred = (uniform_filter(truth.astype(float), 5) > 0.7).astype(int)
    assert (blurred != truth).sum() > 40
    new, proba = reassign_by_spectra(counts, blurred)
    assert (new != truth).sum() <= 2
    assert proba.shape == (30, 40, 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(-1), 1.0, rtol=1e-5)
    assert (proba.argmax(-1) == new).all()


def test_potts_prior_removes_isolated_errors_at_low_counts():
    truth, counts = _two_phases(counts=3, seed=1)
    alone, _ = reassign_by_spectra(counts, truth, smoothness=0)
    smooth, _ = reassign_by_spectra(counts, truth, smoothness=1.0)
    assert (alone != truth).sum() > 3 * max(1, (smooth != truth).sum())


def test_noise_stays_noise_and_does_not_vote():
    truth, counts = _two_phases()
    start = truth.copy()
    start[0, 0] = start[29, 39] = -1
    new, _ = reassign_by_spectra(counts, start)
    assert new[0, 0] == -1 and new[29, 39] == -1
    assert (new[start >= 0] == truth[start >= 0]).mean() > 0.99


def test_dask_cube_gives_the_same_result():
    da = pytest.importorskip("dask.array")
    truth, counts = _two_phases()
    a, pa = reassign_by_spectra(counts, truth)
    b, pb = reassign_by_spectra(da.from_array(counts, chunks=(7, 40, 4)), truth)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(pa, pb, rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": np.zeros(5, int)}, r"'labels' parameter must be an \(H, W\) array"),
        ({"counts": np.zeros((3, 3, 2))}, r"'counts' parameter must be an \(H, W, C\) cube on the labels' grid"),
        ({"iterations": -1}, "'iterations' parameter must be an int >= 0"),
        ({"smoothness": -0.5}, "'smoothness' parameter must be a number >= 0"),
        ({"labels": -np.ones((30, 40), int)}, "'labels' parameter must be at least one cluster"),
    ],
)
def test_bad_input(kwargs, match):
    truth, counts = _two_phases()
    args = {"counts": counts, "labels": truth, **kwargs}
    with pytest.raises(SigmaValueError, match=match):
        reassign_by_spectra(args.pop("counts"), args.pop("labels"), **args)


# --------------------------------------------------------------------------- segmenter
@pytest.fixture(scope="module")
def phantom_ds():
    from sigma.datasets import SEMDataset
    from sigma.synthetic import make_phantom

    ph = make_phantom((48, 64), counts_per_pixel=60, seed=4)
    ds = SEMDataset(ph.to_signal())
    ds.peak_intensity_normalisation()
    ds.set_feature_list([x for x in ph.xray_lines if x != "C_Ka"])
    ds.normalisation(["neighbour_averaging", "zscore"])
    return ph, ds


def test_segmenter_refine_sharpens_the_phase_map(phantom_ds, tmp_path):
    ph, ds = phantom_ds
    x = ds.normalised_elemental_data.reshape(-1, len(ds.feature_list))
    args = {"n_components": 5, "random_state": 0}
    plain = PixelSegmenter(x, ds, "GaussianMixture", args)
    sharp = PixelSegmenter(x, ds, "GaussianMixture", args, refine="spectra")
    before, after = ground_truth_ari(plain.labels, ph), ground_truth_ari(sharp.labels, ph)
    assert after > before + 0.05 and after > 0.95, (before, after)
    # derived state agrees with the refined labels
    assert sharp.counts.sum() == 48 * 64
    assert (sharp.prob_map.argmax(-1) == sharp.labels).all()
    np.testing.assert_allclose(sharp.prob_map.sum(-1), 1.0, rtol=1e-5)
    # the state file keeps the choice and the refined labels
    path = sharp.save_state(tmp_path / "state.npz")
    back = PixelSegmenter.from_saved_state(path, dataset=ds)
    assert back.refine == "spectra" and back.refine_args == {}
    np.testing.assert_array_equal(back.labels, sharp.labels)


def test_segmenter_refine_without_probabilities_and_bad_arguments(phantom_ds):
    ph, ds = phantom_ds
    x = ds.normalised_elemental_data.reshape(-1, len(ds.feature_list))
    km = PixelSegmenter(x, ds, "Kmeans", {"n_clusters": 5, "random_state": 0, "n_init": 3},
                        refine="spectra", refine_args={"smoothness": 0.5})  # fmt: skip
    assert km.prob_map is None and ground_truth_ari(km.labels, ph) > 0.9
    with pytest.raises(SigmaValueError, match="'refine' parameter must be None or 'spectra'. Got 'yes'"):
        PixelSegmenter(x, ds, "Kmeans", {"n_clusters": 2}, refine="yes")
    with pytest.raises(SigmaValueError, match="'refine_args' parameter must be keys among"):
        PixelSegmenter(x, ds, "Kmeans", {"n_clusters": 2}, refine="spectra", refine_args={"beta": 1})


def test_row_blocks_follow_dask_chunks():
    da = pytest.importorskip("dask.array")
    from sigma.clustering.refine import _row_blocks

    cube = da.zeros((30, 40, 100), chunks=(7, 40, 100), dtype=np.uint16)
    blocks = _row_blocks(cube, target_bytes=40 * 100 * 4 * 10)  # about 10 rows
    assert blocks == [(0, 14), (14, 28), (28, 30)]  # whole chunks of 7 rows
    assert _row_blocks(np.zeros((30, 40, 100)), target_bytes=40 * 100 * 4 * 10) == [(0, 10), (10, 20), (20, 30)]
