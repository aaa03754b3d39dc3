"""Tests of the synthetic phantom generator: physics, statistics, ground truth and files."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.synthetic import (
    DEFAULT_SEM_PHASES,
    Phantom,
    energy_axis,
    formula_to_weight_fractions,
    ground_truth_ari,
    make_phantom,
    mean_atomic_number,
    phase_map,
    phase_spectrum,
    spectral_angle,
    write_large_phantom,
)
from sigma.xray import fwhm, line_energy

SCALE, OFFSET = 0.01, -0.47


@pytest.fixture(scope="module")
def sem() -> Phantom:
    return make_phantom((48, 64), counts_per_pixel=100, seed=3)


@pytest.fixture(scope="module")
def tem() -> Phantom:
    return make_phantom((24, 32), kind="TEM", counts_per_pixel=50, seed=1)


def _channel(e: float) -> int:
    return int(round((e - OFFSET) / SCALE))


# ---------------------------------------------------------------- shapes, dtypes, ground truth


def test_shapes_and_dtypes(sem):
    h, w, c, p = 48, 64, 2048, 5
    assert sem.spectra.shape == (h, w, c) and sem.spectra.dtype == np.uint16
    assert sem.labels.shape == (h, w) and np.issubdtype(sem.labels.dtype, np.integer)
    assert sem.abundances.shape == (h, w, p) and sem.abundances.dtype == np.float32
    assert sem.phase_spectra.shape == (p, c) and sem.phase_spectra.dtype == np.float64
    assert sem.nav_img.shape == (h, w) and sem.nav_img.dtype == np.float32
    assert sem.energy_axis.shape == (c,)
    assert sem.energy_axis[0] == pytest.approx(-0.47) and sem.energy_axis[1] - sem.energy_axis[
        0
    ] == pytest.approx(0.01)
    assert sem.phase_names == list(DEFAULT_SEM_PHASES)
    assert sem.beam_energy == 20.0 and sem.kind == "SEM" and sem.fwhm_mnka == 130.0
    assert set(sem.elements) == {"Si", "O", "Na", "Al", "Fe", "Ca", "C", "Ti"}
    assert len(sem.xray_lines) == len(sem.elements)
    assert "Si_Ka" in sem.xray_lines and "Fe_Ka" in sem.xray_lines
    np.testing.assert_allclose(sem.phase_spectra.sum(axis=1), 1.0, rtol=1e-12)
    assert all(abs(sum(c.values()) - 1) < 1e-12 for c in sem.compositions)


@pytest.mark.parametrize("shape,seed", [((48, 64), 3), ((5, 6), 0), ((3, 4), 7), ((200, 40), 11)])
def test_every_phase_present_and_coherent(shape, seed):
    lab = phase_map(shape, 5, seed=seed)
    assert sorted(np.unique(lab).tolist()) == [0, 1, 2, 3, 4]
    if min(shape) >= 40:  # spatially coherent: most 4-neighbours share the label
        same = np.mean(lab[1:] == lab[:-1]) + np.mean(lab[:, 1:] == lab[:, :-1])
        assert same / 2 > 0.85


def test_abundances_sum_to_one_and_boundaries_mix():
    ph = make_phantom((40, 50), n_channels=256, energy_scale=0.08, boundary_width=2, seed=5)
    np.testing.assert_allclose(ph.abundances.sum(axis=-1), 1.0, atol=1e-6)
    mixed = ph.abundances.max(axis=-1) < 1.0
    assert 0.02 < mixed.mean() < 0.8
    # pixels with no other phase within 2 pixels stay pure
    from scipy.ndimage import maximum_filter, minimum_filter

    uniform = maximum_filter(ph.labels, size=5, mode="nearest") == minimum_filter(
        ph.labels, size=5, mode="nearest"
    )
    assert not mixed[uniform].any()
    assert mixed[~uniform].all()
    pure = make_phantom((10, 12), n_channels=64, energy_scale=0.3)
    assert set(np.unique(pure.abundances).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(pure.abundances.argmax(-1), pure.labels)


def test_nav_image_follows_mean_atomic_number(sem):
    zbar = [mean_atomic_number(c) for c in sem.compositions]
    for p, z in enumerate(zbar):
        assert sem.nav_img[sem.labels == p].mean() == pytest.approx(z, abs=0.2)
    resid = sem.nav_img - np.take(zbar, sem.labels)
    assert resid.std() == pytest.approx(0.02 * max(zbar), rel=0.1)


# ---------------------------------------------------------------- counts statistics


def test_mean_counts_per_pixel_is_poisson(sem):
    tot = sem.spectra.sum(axis=-1, dtype=np.int64)
    n = tot.size
    assert abs(tot.mean() - 100) < 4 * np.sqrt(100 / n)
    assert tot.var() == pytest.approx(100, rel=0.1)
    low = make_phantom((40, 40), n_channels=512, energy_scale=0.04, counts_per_pixel=25)
    assert abs(low.spectra.sum(-1).mean() - 25) < 4 * np.sqrt(25 / 1600)


def test_counts_follow_the_phase_spectrum(sem):
    """Sum of the counts of a pure phase agrees with its spectrum (G-test on channels)."""
    from scipy.stats import chi2

    for p in range(len(sem.phase_names)):
        obs = sem.spectra[sem.labels == p].sum(axis=0, dtype=np.int64).astype(float)
        exp = sem.phase_spectra[p] * obs.sum()
        keep = exp > 5
        o, e = obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()
        g = 2 * np.sum(np.where(o > 0, o * np.log(np.where(o > 0, o, 1) / e), 0.0))
        assert chi2.sf(g, keep.sum() - 1) > 1e-4, sem.phase_names[p]
        assert spectral_angle(obs, sem.phase_spectra[p]) < 5.0  # Poisson noise only


def test_mixed_pixels_expected_counts():
    ph = make_phantom((30, 30), n_channels=128, energy_scale=0.16, boundary_width=1, seed=2)
    mixed = ph.abundances.max(-1) < 1
    obs = ph.spectra[mixed].sum(0, dtype=np.int64)
    exp = ph.expected[mixed].sum(0)
    assert np.abs(obs - exp)[exp > 50].max() < 5 * np.sqrt(exp[exp > 50].max())


def test_determinism_by_seed():
    a = make_phantom((12, 10), n_channels=128, energy_scale=0.16, seed=4, boundary_width=1)
    b = make_phantom((12, 10), n_channels=128, energy_scale=0.16, seed=4, boundary_width=1)
    c = make_phantom((12, 10), n_channels=128, energy_scale=0.16, seed=5, boundary_width=1)
    np.testing.assert_array_equal(a.spectra, b.spectra)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.nav_img, b.nav_img)
    assert not np.array_equal(a.spectra, c.spectra)


def test_dtype_choice_and_overflow():
    f = make_phantom((4, 5), n_channels=64, energy_scale=0.3, dtype=np.float32)
    assert f.spectra.dtype == np.float32
    with pytest.raises(SigmaValueError, match="'dtype' parameter"):
        make_phantom((4, 5), n_channels=64, energy_scale=0.3, counts_per_pixel=5000, dtype=np.uint8)


# ---------------------------------------------------------------- physics of the spectra


def test_strongest_peaks_at_line_energies(sem):
    quartz = sem.spectra[sem.labels == 0].sum(0)
    hi = sem.energy_axis > 1.0
    top = np.flatnonzero(hi)[np.argmax(quartz[hi])]
    assert abs(sem.energy_axis[top] - 1.740) <= SCALE
    magnetite = sem.phase_spectra[sem.phase_names.index("magnetite")]
    top = np.flatnonzero(hi)[np.argmax(magnetite[hi])]
    assert abs(sem.energy_axis[top] - line_energy("Fe_Ka")) <= SCALE
    calcite = sem.phase_spectra[sem.phase_names.index("calcite")]
    assert abs(sem.energy_axis[np.argmax(calcite[hi]) + np.flatnonzero(hi)[0]] - 3.692) <= SCALE
    # elements absent from a phase give no peak: no Fe in quartz
    fe = _channel(6.404)
    assert sem.phase_spectra[0][fe] < 3 * sem.phase_spectra[0][fe - 30]


def test_background_rolls_off_at_low_energy():
    ax = energy_axis()
    s = phase_spectrum("SiO2", ax, zero_peak=False)
    assert s[(ax > 0.02) & (ax < 0.15)].max() < 1e-3 * s.max()
    assert np.all(s[ax <= 0] == 0)
    assert s[_channel(3.0)] > 0  # continuum between lines
    z = phase_spectrum("SiO2", ax)
    assert abs(ax[np.argmax(z[ax < 0.15])]) <= SCALE  # the zero-energy peak


@pytest.mark.parametrize("e0", [5.0, 7.0, 12.0])
def test_no_characteristic_line_above_beam_energy(e0):
    ax = energy_axis()
    lines = phase_spectrum(
        {"Fe": 0.5, "Pt": 0.5}, ax, beam_energy=e0, background=False, zero_peak=False
    )
    fw = float(fwhm(e0))
    assert lines[ax > e0 + 3 * fw].sum() < 1e-9
    full = phase_spectrum({"Fe": 0.5, "Pt": 0.5}, ax, beam_energy=e0)
    assert full[ax > e0 + 3 * fw].sum() < 1e-9
    fe_ka = _channel(6.404)
    if e0 < 7.112:  # Fe K edge not excited
        assert lines[fe_ka - 5 : fe_ka + 6].max() < 1e-6
    else:
        assert lines[fe_ka] == pytest.approx(lines[fe_ka - 10 : fe_ka + 11].max())


@pytest.mark.parametrize("line,fw_mnka", [("O_Ka", 130.0), ("Fe_Ka", 130.0), ("Fe_Ka", 160.0)])
def test_line_width_matches_detector_fwhm(line, fw_mnka):
    el, e = line.split("_")[0], line_energy(line)
    ax = energy_axis(4096, 0.005, -0.2)
    s = phase_spectrum({el: 1.0}, ax, fwhm_mnka=fw_mnka, background=False, zero_peak=False)
    win = np.abs(ax - e) < 0.25
    w = s[win] / s[win].sum()
    mu = np.sum(w * ax[win])
    var = np.sum(w * (ax[win] - mu) ** 2) - 0.005**2 / 12
    assert mu == pytest.approx(e, abs=1e-3)
    assert 2 * np.sqrt(2 * np.log(2)) * np.sqrt(var) == pytest.approx(
        float(fwhm(e, fw_mnka)), rel=0.01
    )


def test_tem_default(tem):
    assert tem.kind == "TEM" and tem.beam_energy == 200.0
    assert "Cu" in tem.elements and "Cu_Ka" in tem.xray_lines and "Pt_La" in tem.xray_lines
    cu = _channel(line_energy("Cu_Ka"))
    for p, spec in enumerate(tem.phase_spectra):  # Cu grid line in every phase
        assert spec[cu] > 5 * spec[cu - 40], tem.phase_names[p]
    s = tem.to_signal()
    assert type(s).__name__ == "EDSTEMSpectrum"
    assert s.metadata.Acquisition_instrument.TEM.beam_energy == 200.0
    assert s.original_metadata.phantom.nav_image_name == "HAADF"
    np.testing.assert_array_equal(s.metadata.Signal.sigma_nav_image, tem.nav_img)


def test_formula_weight_fractions():
    wf = formula_to_weight_fractions("Fe3O4")
    assert wf["Fe"] == pytest.approx(0.7236, abs=1e-3)
    assert sum(formula_to_weight_fractions("NaAlSi3O8").values()) == pytest.approx(1.0)
    assert mean_atomic_number("SiO2") == pytest.approx(10.80, abs=0.01)


def test_custom_phases():
    ph = make_phantom(
        (10, 12),
        phases={"a": "Cu", "b": {"Fe": 2, "Ni": 2}},
        n_channels=256,
        energy_scale=0.05,
        energy_offset=0.0,
    )
    assert ph.phase_names == ["a", "b"] and ph.compositions[1] == {"Fe": 0.5, "Ni": 0.5}
    assert ph.elements == ["Cu", "Fe", "Ni"]


# ---------------------------------------------------------------- signal and files


def test_to_signal_metadata_and_axes(sem):
    s = sem.to_signal()
    assert type(s).__name__ == "EDSSEMSpectrum"
    assert s.data is sem.spectra
    names = [ax.name for ax in s.axes_manager._axes]
    assert names == ["y", "x", "Energy"]
    e = s.axes_manager.signal_axes[0]
    assert (e.units, e.scale, e.offset, e.size) == ("keV", 0.01, -0.47, 2048)
    assert s.axes_manager.navigation_shape == (64, 48)
    assert s.axes_manager["x"].units == "µm" and s.axes_manager["x"].scale == 0.1
    md = s.metadata
    assert md.Acquisition_instrument.SEM.beam_energy == 20.0
    assert md.Acquisition_instrument.SEM.Detector.EDS.energy_resolution_MnKa == 130.0
    assert list(md.Sample.xray_lines) == sem.xray_lines
    assert set(md.Sample.elements) == set(sem.elements)
    np.testing.assert_array_equal(md.Signal.sigma_nav_image, sem.nav_img)
    np.testing.assert_array_equal(s.original_metadata.phantom.labels, sem.labels)
    lazy = sem.to_signal(lazy=True)
    assert lazy._lazy and lazy.data.chunks[1] == (64,)
    np.testing.assert_array_equal(lazy.data[:2].compute(), sem.spectra[:2])


@pytest.mark.parametrize("compression", [None, "lzf"])
def test_hspy_round_trip(tmp_path, compression):
    import hyperspy.api as hs
    from rsciio.hspy import file_reader

    ph = make_phantom((12, 10), n_channels=256, energy_scale=0.08, seed=9)
    path = ph.save_hspy(tmp_path / "ph.hspy", compression=compression)
    s = hs.load(path)
    np.testing.assert_array_equal(s.data, ph.spectra)
    assert s.data.dtype == np.uint16
    assert s.metadata.Signal.signal_type == "EDS_SEM"
    np.testing.assert_array_equal(s.metadata.Signal.sigma_nav_image, ph.nav_img)
    raw = file_reader(str(path))[0]
    np.testing.assert_array_equal(raw["metadata"]["Signal"]["sigma_nav_image"], ph.nav_img)
    np.testing.assert_array_equal(raw["original_metadata"]["phantom"]["labels"], ph.labels)
    with pytest.raises(SigmaValueError, match="'overwrite' parameter"):
        ph.save_hspy(path)
    ph.save_hspy(path, overwrite=True)
    with pytest.raises(SigmaValueError, match="'path' parameter"):
        ph.save_hspy(tmp_path / "ph.h5")


def test_sigma_hspy_reader_finds_nav_image(tmp_path):
    from sigma.io.hspy import read_hspy

    ph = make_phantom((8, 6), n_channels=128, energy_scale=0.16, seed=2)
    raw = read_hspy(ph.save_hspy(tmp_path / "ph.hspy"))
    np.testing.assert_array_equal(raw.data, ph.spectra)
    np.testing.assert_array_equal(raw.nav_images["BSE"], ph.nav_img)
    assert raw.beam_energy == 20.0 and raw.energy_scale == pytest.approx(0.16)


@pytest.mark.parametrize(("kind", "title"), [("SEM", "BSE"), ("TEM", "HAADF")])
@pytest.mark.parametrize("suffix", [".hspy", ".zspy"])
def test_nav_image_comes_back_with_its_name(tmp_path, kind, title, suffix):
    from sigma.datasets import SEMDataset, TEMDataset
    from sigma.io import load

    ph = make_phantom((6, 5), kind=kind, n_channels=256, energy_scale=0.05, seed=4)
    s = ph.to_signal()
    assert s.metadata.Signal.sigma_nav_image_title == title == ph.nav_name
    path = tmp_path / f"ph{suffix}"
    s.save(path)
    raw = load(path)
    assert list(raw.nav_images) == [title]
    np.testing.assert_array_equal(raw.nav_images[title], ph.nav_img)
    dataset = TEMDataset if kind == "TEM" else SEMDataset
    for source in (path, s):  # a file, and the signal in memory
        ds = dataset(source)
        assert ds.nav_img.metadata.General.title == title
        np.testing.assert_array_equal(ds.nav_img.data, ph.nav_img)


@pytest.mark.parametrize(("kind", "title"), [("SEM", "BSE"), ("TEM", "HAADF")])
def test_nav_image_name_of_files_written_without_it(tmp_path, kind, title):
    """Files written before ``sigma_nav_image_title`` existed: the name follows the signal type."""
    from sigma.io import load

    ph = make_phantom((6, 5), kind=kind, n_channels=256, energy_scale=0.05, seed=4)
    s = ph.to_signal()
    del s.metadata.Signal.sigma_nav_image_title
    s.save(tmp_path / "old.hspy")
    raw = load(tmp_path / "old.hspy")
    assert list(raw.nav_images) == [title]
    np.testing.assert_array_equal(raw.nav_images[title], ph.nav_img)


def test_nav_image_keeps_a_stored_name(tmp_path):
    from sigma.datasets import TEMDataset

    ph = make_phantom((6, 5), kind="TEM", n_channels=256, energy_scale=0.05, seed=4)
    s = ph.to_signal()
    s.metadata.Signal.sigma_nav_image_title = "ADF"
    s.save(tmp_path / "adf.hspy")
    assert TEMDataset(tmp_path / "adf.hspy").nav_img.metadata.General.title == "ADF"


def test_save_h5oina(tmp_path):
    try:
        from sigma.io.h5oina import read_h5oina
    except ImportError:
        pytest.skip("sigma.io.h5oina is not written yet")
    ph = make_phantom((6, 7), n_channels=128, energy_scale=0.16)
    raw = read_h5oina(ph.save_h5oina(tmp_path / "ph.h5oina"))
    np.testing.assert_array_equal(raw.data, ph.spectra)
    np.testing.assert_allclose(raw.nav_images["BSE"], ph.nav_img)
    big = tmp_path / "big.h5oina"
    write_large_phantom(big, (6, 7), 128, format="h5oina", energy_scale=0.16, rows_per_block=4)
    raw = read_h5oina(big)
    np.testing.assert_array_equal(raw.data, ph.spectra)
    assert raw.energy_scale == pytest.approx(0.16) and raw.data.shape == (6, 7, 128)


# ---------------------------------------------------------------- large writer


def test_large_writer_matches_make_phantom(tmp_path):
    import hyperspy.api as hs

    kw = {"n_channels": 128, "energy_scale": 0.16, "boundary_width": 1, "seed": 6}
    ref = make_phantom((17, 9), **kw)
    for rpb in (1, 4, 17):
        p = tmp_path / f"big{rpb}.hspy"
        gt = write_large_phantom(
            p, (17, 9), rows_per_block=rpb, energy_scale=0.16, n_channels=128,
            boundary_width=1, seed=6,
        )  # fmt: skip
        np.testing.assert_array_equal(hs.load(p).data, ref.spectra)
        np.testing.assert_array_equal(gt.labels, ref.labels)
        np.testing.assert_array_equal(gt.spectra.compute(), ref.spectra)


def test_large_writer_memory_is_bounded(tmp_path):
    shape, c = (96, 64), 1024
    cube_bytes = shape[0] * shape[1] * c * 2  # 12.6 MB
    write_large_phantom(tmp_path / "warm.hspy", (8, 8), c, rows_per_block=4)
    tracemalloc.start()
    try:
        write_large_phantom(
            tmp_path / "big.hspy", shape, c, rows_per_block=4, num_workers=2, compression="lzf"
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.35 * cube_bytes, peak


def test_large_writer_errors(tmp_path):
    with pytest.raises(SigmaValueError, match="'format' parameter"):
        write_large_phantom(tmp_path / "a.hspy", (4, 4), 64, format="bcf")
    with pytest.raises(SigmaValueError, match="'path' parameter"):
        write_large_phantom(tmp_path / "a.hspy", (4, 4), 64, format="h5oina")
    with pytest.raises(SigmaValueError, match="'rows_per_block' parameter"):
        write_large_phantom(tmp_path / "a.hspy", (4, 4), 64, rows_per_block=0)
    with pytest.raises(SigmaValueError, match="'kwargs' parameter"):
        write_large_phantom(tmp_path / "a.hspy", (4, 4), 64, colour="red")


# ---------------------------------------------------------------- metrics and errors


def test_ground_truth_ari_and_spectral_angle(sem):
    assert ground_truth_ari(sem.labels, sem) == 1.0
    perm = (sem.labels + 2) % 5
    assert ground_truth_ari(perm, sem.labels) == 1.0
    noisy = sem.labels.copy()
    noisy[:5] = -1
    assert ground_truth_ari(noisy, sem) == 1.0
    assert ground_truth_ari(noisy, sem, ignore_noise=False) < 1.0
    rnd = np.random.default_rng(0).integers(0, 5, sem.labels.shape)
    assert abs(ground_truth_ari(rnd, sem)) < 0.02
    assert spectral_angle([1.0, 0.0], [1.0, 1.0]) == pytest.approx(45.0)
    ang = spectral_angle(sem.phase_spectra, sem.phase_spectra[0])
    assert ang.shape == (5,) and ang[0] == pytest.approx(0.0, abs=1e-6) and ang[1:].min() > 5
    with pytest.raises(SigmaValueError, match="'labels_pred' parameter"):
        ground_truth_ari(np.zeros(3), sem)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"kind": "XRF"}, "kind"),
        ({"counts_per_pixel": 0}, "counts_per_pixel"),
        ({"counts_per_pixel": float("nan")}, "counts_per_pixel"),
        ({"shape": (0, 5)}, "shape"),
        ({"shape": (2, 2)}, "shape"),
        ({"shape": "big"}, "shape"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"phases": {"x": "SiO2(OH)"}}, "formula"),
        ({"phases": {"x": {"Qq": 1.0}}}, "element"),
        ({"phases": {"x": {"Fe": -1.0}}}, "composition"),
        ({"phases": {}}, "phases"),
        ({"boundary_width": -1}, "boundary_width"),
        ({"beam_energy": -5}, "beam_energy"),
        ({"fwhm_mnka": 0}, "fwhm_mnka"),
        ({"n_channels": 1}, "n_channels"),
        ({"energy_scale": 0}, "energy_scale"),
        ({"dtype": "U3"}, "dtype"),
    ],
)
def test_errors_name_the_parameter(kwargs, name):
    kw = {"shape": (6, 6), "n_channels": 64, "energy_scale": 0.3, **kwargs}
    with pytest.raises(SigmaValueError, match=f"'{name}' parameter"):
        make_phantom(**kw)
