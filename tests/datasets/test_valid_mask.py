"""Scanned-pixel / valid-pixel mask end to end (issue 14 item 5): from the reader to the
normalisation statistics, the clustering, cluster spectra, NMF, abundances and run.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sigma.datasets import SEMDataset
from sigma.synthetic import make_phantom
from sigma.utils import normalisation as norm


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """An H5OINA phantom whose first two rows and last column were not scanned (NaN there)."""
    from sigma.io.h5oina import write_h5oina

    ph = make_phantom((24, 32), counts_per_pixel=200, n_channels=512, energy_scale=0.04, seed=2)
    mask = np.ones((24, 32), bool)
    mask[:2] = False
    mask[:, -1] = False
    p = tmp_path_factory.mktemp("scan") / "scan.h5oina"
    write_h5oina(p, ph.spectra.astype(np.int32), energy_scale=0.04, elements=("Si", "Fe", "Ca", "Al"),
                 scan_mask=mask, bse_image=ph.nav_img)
    return p, ph, mask


@pytest.mark.parametrize("lazy", [False, True])
def test_reader_mask_reaches_the_dataset_and_the_statistics(scan, lazy):
    p, ph, mask = scan
    ds = SEMDataset(p, lazy=lazy)
    np.testing.assert_array_equal(ds.valid_mask, mask)
    assert ds.n_invalid == int((~mask).sum())
    # the sum spectrum is that of the scanned pixels (it was all zeros lazily with one NaN)
    np.testing.assert_allclose(ds.sum_spectrum(), ph.spectra[mask].sum(0), rtol=1e-9)
    f = ds.normalisation([norm.neighbour_averaging, norm.zscore])
    assert np.isfinite(f).all() and not f[~mask].any()
    inside = f[mask]
    np.testing.assert_allclose(inside.mean(0), 0, atol=1e-5)  # statistics of the valid pixels
    np.testing.assert_allclose(inside.std(0), 1, rtol=1e-4)
    ds.rebin_signal((2, 2))
    binned = mask.reshape(12, 2, 16, 2).all(axis=(1, 3))
    np.testing.assert_array_equal(ds.valid_mask, binned)


def test_one_nan_pixel_does_not_empty_the_lazy_sum_spectrum():
    ph = make_phantom((8, 10), n_channels=256, energy_scale=0.08, seed=4)
    x = ph.spectra.astype(np.float32)
    x[3, 4, 7] = np.nan
    sig = ph.to_signal()
    sig.data = x
    eager = SEMDataset(sig)
    lazy = SEMDataset(sig.as_lazy())
    keep = np.ones((8, 10), bool)
    keep[3, 4] = False
    for ds in (eager, lazy):
        s = ds.sum_spectrum()
        assert s.sum() > 0 and np.isfinite(s).all()
        np.testing.assert_allclose(s, x[keep].sum(0), rtol=1e-6)
        assert ds.n_invalid == 1


def test_excluded_pixels_are_never_clustered_nor_unmixed(scan):
    from sigma.src.segmentation import PixelSegmenter

    p, ph, mask = scan
    ds = SEMDataset(p)
    f = ds.normalisation([norm.zscore])
    latent = f.reshape(-1, f.shape[-1])[:, :2]
    ps = PixelSegmenter(latent, ds, "GaussianMixture", {"n_components": 4, "random_state": 0})
    assert (ps.labels[~mask] == -1).all() and (ps.labels[mask] >= 0).all()
    assert ps.excluded_count == int((~mask).sum())
    from sigma.plot import cluster_label

    assert cluster_label(ps, -1) == "excluded (-1)"
    # excluded pixels are not data: the latent views leave them out (they formed a clump)
    assert (ps.excluded_mask == ~mask).all()
    from sigma.gui._latent import shown_points
    from sigma.plot import plot_latent

    assert len(shown_points(ps, 1.0)) == int(mask.sum())
    ax = plot_latent(ps)
    assert len(ax.collections[0].get_offsets()) == int(mask.sum())
    assert all("excluded" not in t.get_text() for t in ax.get_legend().get_texts())
    spectra = ps.get_cluster_spectra("mean")
    assert np.isfinite(spectra).all()  # a NaN pixel made its cluster's mean spectrum NaN
    lab = ps.labels
    for row, cid in zip(spectra, ps.cluster_ids, strict=True):
        np.testing.assert_allclose(row, ph.spectra[lab == cid].mean(0), rtol=1e-9)
    w, comps = ps.get_unmixed_spectra_profile(n_components=2, method_args={"init": "nndsvd"})
    ab = ps.abundance_maps()
    assert np.isfinite(ab).all() and not ab[~mask].any()


def test_run_json_and_report_say_how_many_pixels_were_excluded(scan, tmp_path):
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.runner import run_batch

    p, ph, mask = scan
    cfg = validate_config({"preprocess": {"bin": [1, 1]}, "clustering": {"method_args": {"n_components": 3}},
                           "latent": {"method": "umap"}, "nmf": {"n_components": 2}})
    (res,) = run_batch([p], cfg, tmp_path / "out", progress=False)
    assert res.ok, res.error
    rec = json.loads((res.out_dir / "run.json").read_text())
    n = int((~mask).sum())
    assert rec["dataset"]["excluded_pixels"] == n and rec["results"]["excluded_pixels"] == n
    labels = np.load(res.out_dir / "labels.npy")
    assert (labels[~mask] == -1).all()
    report = (res.out_dir / "report.html").read_text()
    assert f"<td>{n}</td>" in report
    # label -1 holds only excluded pixels here (a Gaussian mixture leaves no noise): the
    # report names them so, not "noise"
    assert "excluded (-1)" in report and "noise (-1)" not in report


def test_a_map_without_any_valid_pixel_is_refused_clearly():
    from sigma._errors import SigmaValueError
    from sigma.src.segmentation import PixelSegmenter

    ph = make_phantom((4, 5), n_channels=256, energy_scale=0.08, seed=1)
    sig = ph.to_signal()
    sig.data = np.zeros_like(ph.spectra)
    ds = SEMDataset(sig)
    ds.set_feature_list(["Fe_Ka", "Si_Ka"])
    f = ds.normalisation([norm.zscore])
    assert ds.n_invalid == 20 and not f.any()
    with pytest.raises(SigmaValueError, match="'dataset' parameter must be a map with pixels that were scanned"):
        PixelSegmenter(f.reshape(-1, 2), ds, "Kmeans", {"n_clusters": 2})


def test_the_log_says_why_pixels_are_excluded(caplog):
    """Pixels with no counts (every faint map has some), NaN pixels and unscanned ones are
    counted apart: 'excluded' alone read as if a twelfth of a faint TEM film were dropped."""
    import logging

    sig = make_phantom((6, 8), counts_per_pixel=200, n_channels=256, energy_scale=0.04, seed=3).to_signal()
    sig.data = sig.data.astype(np.float32)
    sig.data[0, :3] = 0  # three pixels with no counts
    sig.data[1, 0, 5] = np.nan  # one NaN value
    with caplog.at_level(logging.INFO, logger="sigma"):
        ds = SEMDataset(sig)
        ds.rebin_signal((2, 2))
        ds.sum_spectrum()
    msg = [r.getMessage() for r in caplog.records if "pixels excluded" in r.getMessage()]
    assert msg and "4 of 48 pixels excluded: 3 with no counts, 1 holding NaN or inf, 0 outside the scan" in msg[-1]
    # on the 2x2 grid, the pixel with two empty pixels and two counted ones stays in
    assert ds.valid_mask[0, 1] and not ds.valid_mask[0, 0]


def test_empty_pixels_are_told_from_bad_ones():
    """``empty_mask``: scanned, finite pixels without a count (labelled by 'auto'), not the NaN
    or unscanned ones; on a binned grid, a pixel whose four pixels hold no count."""
    sig = make_phantom((6, 8), counts_per_pixel=200, n_channels=256, energy_scale=0.04, seed=3).to_signal()
    sig.data = sig.data.astype(np.float32)
    sig.data[0, :3] = 0  # three pixels with no counts
    sig.data[0:2, 6:8] = 0  # a whole 2x2 bin with no counts
    sig.data[1, 0, 5] = np.nan  # one NaN value
    ds = SEMDataset(sig)
    assert ds.empty_mask.sum() == 7 and not ds.empty_mask[1, 0]
    assert not (ds.empty_mask & ds.valid_mask).any()
    ds.rebin_signal((2, 2))
    assert ds.empty_mask.tolist()[0] == [False, False, False, True]
    # the bin holding the NaN pixel and two empty ones is bad, not empty
    assert not ds.empty_mask[0, 0] and not ds.valid_mask[0, 0]
