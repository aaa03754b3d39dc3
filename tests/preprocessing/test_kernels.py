"""Binning, spectrum normalisation, line maps and feature normalisations against hand computations."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.preprocessing import (
    bin_image,
    feature_maps,
    line_windows,
    neighbour_averaging,
    normalise_spectra,
    rebin_cube,
    softmax,
    zscore,
)
from sigma.preprocessing.normalisation import apply_chain
from sigma.xray import fwhm, line_energy


def _no_compute(dsk, keys, **kwargs):
    raise AssertionError("a lazy kernel computed its input")


@pytest.fixture
def cube():
    rng = np.random.default_rng(0)
    return rng.poisson(3, size=(12, 10, 64)).astype(np.uint16)


def test_rebin_conserves_counts_and_sums_blocks(cube):
    b = rebin_cube(cube, (3, 2))
    assert b.shape == (4, 5, 64) and b.dtype == np.uint32
    assert b.sum(dtype=np.int64) == cube.sum(dtype=np.int64)
    np.testing.assert_array_equal(b[1, 2], cube[3:6, 4:6].sum(axis=(0, 1)))


def test_rebin_uint8_goes_to_uint16_without_overflow():
    x = np.full((4, 4, 3), 255, np.uint8)
    b = rebin_cube(x, (2, 2))
    assert b.dtype == np.uint16 and (b == 1020).all()


def test_rebin_trims_partial_blocks(cube, caplog):
    b = rebin_cube(cube, (5, 3))
    assert b.shape == (2, 3, 64)
    assert b.sum(dtype=np.int64) == cube[:10, :9].sum(dtype=np.int64)
    assert "dropping 2 row(s) and 1 column(s)" in caplog.text


def test_rebin_dask_is_lazy_and_equal(cube):
    lazy = da.from_array(cube, chunks=(5, 10, 64))
    with dask.config.set(scheduler=_no_compute):
        b = rebin_cube(lazy, (3, 2))
    assert isinstance(b, da.Array)
    np.testing.assert_array_equal(b.compute(scheduler="threads"), rebin_cube(cube, (3, 2)))


@pytest.mark.parametrize("size", [(0, 2), (2,), (2.5, 2), (13, 1), "ab"])
def test_rebin_bad_size(cube, size):
    with pytest.raises(SigmaValueError, match=r"The 'size' parameter must be"):
        rebin_cube(cube, size)


def test_bin_image_matches_cube_binning(cube):
    img = cube.sum(axis=-1).astype(np.float32)
    np.testing.assert_allclose(bin_image(img, (3, 2)), rebin_cube(cube, (3, 2)).sum(-1))


def test_normalise_spectra_sums_to_one_and_zero_pixels(cube):
    x = cube.copy()
    x[0, 0] = 0
    y = normalise_spectra(x)
    assert y.dtype == np.float32
    sums = y.sum(-1)
    assert sums[0, 0] == 0
    np.testing.assert_allclose(sums.ravel()[1:], 1, rtol=1e-5)
    np.testing.assert_array_equal(x, np.where(True, x, 0))  # input untouched
    assert x[0, 0].sum() == 0 and x[1, 1].sum() == cube[1, 1].sum()


def test_normalise_spectra_nan_pixels_become_zero():
    x = np.ones((2, 2, 4), np.float32)
    x[1, 0] = np.nan
    y = normalise_spectra(x)
    assert np.isfinite(y).all() and y[1, 0].sum() == 0 and y[0, 0, 0] == pytest.approx(0.25)
    lazy = normalise_spectra(da.from_array(x, chunks=(1, 2, 4)))
    np.testing.assert_array_equal(lazy.compute(), y)


def test_line_windows_follow_fwhm_model():
    scale, offset = 0.01, -0.47
    (w,) = line_windows(["Si_Ka"], scale, offset, 2048, fwhm_mnka=130)
    e, f = line_energy("Si_Ka"), float(fwhm(line_energy("Si_Ka"), 130))
    assert w.lo == round((e - f - offset) / scale) and w.hi == round((e + f - offset) / scale)
    (w2,) = line_windows(["Si_Ka"], scale, offset, 2048, fwhm_mnka=160)
    assert w2.hi - w2.lo > w.hi - w.lo


def test_feature_maps_hand_computation():
    x = np.zeros((2, 3, 200), np.uint16)
    x[..., 100:120] = 1
    x[0, 0, 150] = 7
    (w,) = line_windows(["Fe_Ka"], 0.0641, 0.0, 200)  # Fe Ka at channel ~99.9
    expected = np.zeros((2, 3), np.float32)
    for i in range(2):
        for j in range(3):
            expected[i, j] = x[i, j, w.lo : w.hi].sum()
    np.testing.assert_array_equal(feature_maps(x, [w])[..., 0], expected)


def test_feature_maps_background_subtraction_removes_flat_background():
    x = np.full((3, 3, 1000), 5.0, np.float32)
    (w,) = line_windows(["Ca_Ka"], 0.01, 0.0, 1000, background=True)
    x[..., w.lo : w.hi] += 2.0
    out = feature_maps(x, [w])[..., 0]
    np.testing.assert_allclose(out, 2.0 * (w.hi - w.lo), rtol=1e-5)


def test_feature_maps_dask_equal_numpy(cube):
    ws = line_windows(["O_Ka", "Si_Ka"], 0.05, 0.0, 64)
    lazy = da.from_array(cube, chunks=(4, 10, 32))
    with dask.config.set(scheduler=_no_compute):
        m = feature_maps(lazy, ws)
    np.testing.assert_array_equal(m.compute(scheduler="threads"), feature_maps(cube, ws))


def test_unknown_and_out_of_range_lines():
    with pytest.raises(SigmaValueError, match=r"'xray_line' parameter must be .*Got 'Qq_Ka'"):
        line_windows(["Qq_Ka"], 0.01, 0, 2048)
    with pytest.raises(SigmaValueError, match=r"'feature_list' .* inside the energy axis .*Got 'Pb_Ka'"):
        line_windows(["Pb_Ka"], 0.01, 0, 2048)


def _neighbour_reference(x):
    h, w, _ = x.shape
    out = np.zeros_like(x, dtype=np.float64)
    for i in range(h):
        for j in range(w):
            out[i, j] = x[max(0, i - 1) : i + 2, max(0, j - 1) : j + 2].mean(axis=(0, 1))
    return out


def test_neighbour_averaging_matches_reference_with_borders():
    x = np.random.default_rng(1).normal(size=(7, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(neighbour_averaging(x), _neighbour_reference(x), rtol=1e-5, atol=1e-6)
    assert neighbour_averaging(x) is not x


def test_zscore_constant_feature_is_zero_not_nan():
    x = np.random.default_rng(2).normal(3, 2, size=(6, 4, 2)).astype(np.float32)
    x[..., 1] = 4.0
    z = zscore(x)
    assert np.isfinite(z).all() and (z[..., 1] == 0).all()
    assert z[..., 0].mean() == pytest.approx(0, abs=1e-6) and z[..., 0].std() == pytest.approx(1, abs=1e-5)


def test_zscore_with_pooled_statistics_of_several_maps():
    from sigma.preprocessing.normalisation import pooled_mean_std

    rng = np.random.default_rng(3)
    maps = [rng.normal(m, s, (h, w, 3)).astype(np.float32)
            for m, s, h, w in ((0, 1, 4, 5), (10, 3, 7, 2), (-2, 0.5, 1, 9))]  # fmt: skip
    flat = np.concatenate([m.reshape(-1, 3) for m in maps]).astype(np.float64)
    mean, std = pooled_mean_std(maps)
    np.testing.assert_allclose(mean, flat.mean(0), rtol=1e-10)
    np.testing.assert_allclose(std, flat.std(0), rtol=1e-10)
    z = np.concatenate([zscore(m, mean, std).reshape(-1, 3) for m in maps])
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, rtol=1e-5)
    np.testing.assert_allclose(zscore(maps[0], *pooled_mean_std(maps[:1])), zscore(maps[0]), rtol=1e-6)
    with pytest.raises(SigmaValueError, match="'mean' parameter must be mean and std of shape"):
        zscore(maps[0], mean[:2], std[:2])


def test_softmax_is_stable_and_sums_to_one():
    x = np.array([[[1e4, 1e4 - 1, -1e4]]], np.float32)
    s = softmax(x)
    assert np.isfinite(s).all() and s.sum() == pytest.approx(1)
    assert s[0, 0, 0] / s[0, 0, 1] == pytest.approx(np.e, rel=1e-5)


def test_chain_accepts_names_and_rejects_unknown():
    x = np.random.default_rng(3).random((4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(apply_chain(x, ["neighbour_averaging", zscore]), zscore(neighbour_averaging(x)))
    with pytest.raises(SigmaValueError, match="'normalisation' parameter must be a function or one of"):
        apply_chain(x, ["whiten"])


def test_a_line_whose_window_crosses_the_axis_start_is_clipped_with_a_log_message(caplog):
    """Be Kα (0.103 keV) on an axis cropped at 0.1 keV: the part of its window on the axis is
    integrated (sigma run once crashed here on phantoms with beryl)."""
    import logging

    with caplog.at_level(logging.INFO, logger="sigma.preprocessing.features"):
        (w,) = line_windows(["Be_Ka"], 0.01, 0.1, 1990)
    assert w.lo == 0 and 2 <= w.hi <= 6
    assert "Be_Ka" in caplog.text and "clipped" in caplog.text
    cube = np.ones((1, 1, 1990), np.uint16)
    assert feature_maps(cube, [w])[0, 0, 0] == w.hi - w.lo
    # a line whose centre is off the axis is still an error
    with pytest.raises(SigmaValueError, match="inside the energy axis"):
        line_windows(["Be_Ka"], 0.01, 0.11, 1990)
