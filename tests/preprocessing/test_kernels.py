"""Binning, spectrum normalisation, line maps and feature normalisations against hand computations."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

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


# --------------------------------------------------------------------------- issue 14 item 9
def test_rebin_keeps_signed_counts_signed():
    x = np.full((2, 2, 3), -1, np.int16)
    b = rebin_cube(x, (2, 2))
    assert b.dtype == np.int32 and (b == -4).all()  # it wrapped to 4294967292
    lazy = rebin_cube(da.from_array(x, chunks=(1, 2, 3)), (2, 2)).compute()
    assert lazy.dtype == np.int32 and (lazy == -4).all()


def test_normalise_spectra_on_channel_chunked_dask_sums_to_one(cube):
    lazy = da.from_array(cube, chunks=(4, 5, 32))  # two chunks along the channels
    y = normalise_spectra(lazy).compute()
    np.testing.assert_allclose(y.sum(-1), 1, rtol=1e-5)  # it gave 2 (each chunk summed to 1)
    np.testing.assert_array_equal(y, normalise_spectra(cube))


def test_bin_image_and_binned_axis_follow_hyperspy_rebin():
    import hyperspy.api as hs

    from sigma.preprocessing.binning import binned_axis

    img = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    s = hs.signals.Signal2D(img)
    for ax in s.axes_manager.signal_axes:
        ax.scale, ax.offset = 0.5, 3.0
    ref = s.rebin(scale=(3, 2), crop=True)  # x by 3, y by 2
    np.testing.assert_array_equal(bin_image(img, (2, 3)), ref.data)
    ry, rx = ref.axes_manager.signal_axes[1], ref.axes_manager.signal_axes[0]
    assert binned_axis(0.5, 3.0, 2) == (ry.scale, ry.offset)
    assert binned_axis(0.5, 3.0, 3) == (rx.scale, rx.offset)


# --------------------------------------------------------------------------- properties
INT_DTYPES = [np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32, np.int64]


@st.composite
def _cubes(draw, dtypes=INT_DTYPES):
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    h, w, c = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 6))
    info = np.iinfo(dtype)
    # 64-bit counts are bounded by 2**40 (a bin of 16 of them still fits; real counts are far smaller)
    lo, hi = (max(int(info.min), -2**40), min(int(info.max), 2**40)) if dtype.itemsize == 8 else (
        int(info.min), int(info.max))
    values = st.integers(lo, hi)
    flat = draw(st.lists(values, min_size=h * w * c, max_size=h * w * c))
    return np.array(flat, dtype=dtype).reshape(h, w, c)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=_cubes(), fy=st.integers(1, 4), fx=st.integers(1, 4), lazy_rows=st.integers(1, 5))
def test_binning_conserves_counts_for_any_shape_factor_and_integer_dtype(x, fy, fx, lazy_rows):
    """Counts over the binned area are conserved exactly (the partial edge block is dropped),
    every bin is the sum of its own block, signed stays signed, and lazy equals eager."""
    from sigma.preprocessing.cubepass import summarise_cube

    assume(fy <= x.shape[0] and fx <= x.shape[1])
    h, w = (x.shape[0] // fy) * fy, (x.shape[1] // fx) * fx
    b = rebin_cube(x, (fy, fx))
    kept = x[:h, :w].astype(object)
    assert b.shape == (h // fy, w // fx, x.shape[2])
    assert b.dtype.kind == x.dtype.kind
    assert int(b.astype(object).sum()) == int(kept.sum())
    ref = kept.reshape(h // fy, fy, w // fx, fx, -1).sum(axis=(1, 3))
    assert (b.astype(object) == ref).all()
    lazy = rebin_cube(da.from_array(x, chunks=(lazy_rows, -1, -1)), (fy, fx)).compute()
    assert (lazy.astype(object) == ref).all()
    s = summarise_cube(x, bin_size=(fy, fx))  # the fused kernel bins exactly too
    assert (s.binned.astype(object) == ref).all()


@st.composite
def _float_cubes(draw, channels=(2, 12)):
    """Poisson counts (float32) with some NaN, inf, all-zero and negative pixels."""
    h, w, c = draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(*channels))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.poisson(draw(st.sampled_from([0.3, 3.0])), size=(h, w, c)).astype(np.float32)
    for _ in range(draw(st.integers(0, 4))):
        i, j = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        kind = draw(st.sampled_from(["nan", "zero", "neg", "inf"]))
        if kind in ("nan", "inf"):
            x[i, j, draw(st.integers(0, c - 1))] = np.nan if kind == "nan" else np.inf
        elif kind == "zero":
            x[i, j] = 0
        else:
            x[i, j] = -np.abs(x[i, j]) - 1
    return x


def _reference_summary(x, windows, valid_in):
    finite = np.isfinite(x)
    clean = np.where(finite, x, 0).astype(np.float64)
    tot = clean.sum(-1)
    bad = ~finite.all(-1)
    valid = ~bad & (tot > 0) & valid_in
    spec = clean[valid].sum(0)
    wins = {(lo, hi): clean[..., lo:hi].sum(-1) for lo, hi in windows}
    return tot, bad, valid, spec, wins


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=_float_cubes(), rows=st.integers(1, 7), data=st.data())
def test_one_pass_lazy_equals_eager_with_nan_zero_and_negative_pixels(x, rows, data):
    """Totals, finite flags, valid mask, sum spectrum and window sums equal a plain NumPy
    reference for any chunking; one NaN pixel never empties the sum spectrum."""
    from sigma.preprocessing.cubepass import summarise_cube

    c = x.shape[2]
    lo = data.draw(st.integers(0, c - 2))
    windows = [(lo, data.draw(st.integers(lo + 1, c))), (0, c)]
    valid_in = np.array(data.draw(st.lists(st.booleans(), min_size=x.shape[0] * x.shape[1],
                                           max_size=x.shape[0] * x.shape[1]))).reshape(x.shape[:2])
    tot, bad, valid, spec, wins = _reference_summary(x, windows, valid_in)
    for cube in (x, da.from_array(x, chunks=(rows, -1, -1))):
        s = summarise_cube(cube, windows, valid=valid_in, progress=False)
        np.testing.assert_allclose(s.totals, tot, rtol=1e-6)
        np.testing.assert_array_equal(s.bad, bad)
        np.testing.assert_array_equal(s.valid, valid)
        np.testing.assert_allclose(s.spectrum, spec, rtol=1e-6)
        assert np.isfinite(s.spectrum).all()
        for key, ref in wins.items():
            np.testing.assert_allclose(s.windows[key], ref, rtol=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=_float_cubes(channels=(64, 64)), rows=st.integers(1, 7), fy=st.integers(1, 3), fx=st.integers(1, 3))
def test_dataset_lazy_equals_eager_on_cubes_with_bad_pixels(x, rows, fy, fx):
    import hyperspy.api as hs

    from sigma.datasets import SEMDataset

    assume(fy <= x.shape[0] and fx <= x.shape[1])
    sig = hs.signals.Signal1D(x)  # 0-6.4 keV
    sig.axes_manager.signal_axes[0].scale = 0.1
    sig.axes_manager.signal_axes[0].units = "keV"
    sig.metadata.set_item("Sample.xray_lines", ["Al_Ka", "Ca_Ka"])
    eager = SEMDataset(sig)
    lazy_sig = sig.as_lazy()
    lazy_sig.data = lazy_sig.data.rechunk((rows, -1, -1))
    lazy = SEMDataset(lazy_sig)
    assert lazy.lazy and not eager.lazy
    out = []
    for ds in (eager, lazy):
        ds.rebin_signal((fy, fx))
        ds.peak_intensity_normalisation()
        out.append((ds.normalisation(["zscore"]), ds.valid_mask, ds.sum_spectrum()))
    np.testing.assert_allclose(out[0][0], out[1][0], atol=1e-5)
    np.testing.assert_array_equal(out[0][1], out[1][1])
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=1e-6)
    assert not out[0][0][~out[0][1]].any()  # invalid pixels are 0
