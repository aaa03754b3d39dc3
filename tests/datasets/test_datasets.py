"""SEMDataset/TEMDataset/ImageDataset: the tutorial's pre-processing on real files, checked by numbers."""

from __future__ import annotations

import numpy as np
import pytest

from sigma._errors import SigmaFileError, SigmaValueError
from sigma.datasets import NAV_FEATURE
from sigma.utils import normalisation as norm
from sigma.utils.load import IMAGEDataset, ImageDataset, SEMDataset
from sigma.utils.loadtem import TEMDataset

P45 = "bcf/P45_12bit_packed_8bit.bcf"


@pytest.fixture(scope="module")
def p45(real_dir):
    return real_dir / P45


def test_tutorial_preprocessing_chain(p45):
    sem = SEMDataset(p45)
    counts = sem.spectra.data.copy()
    assert sem.feature_list[0] == "Al_Ka" and len(sem.feature_list) == 11
    assert sem.nav_img.data.shape == (75, 100)

    spectra_bin, nav_bin = sem.rebin_signal(size=(3, 3))
    assert spectra_bin.data.shape == (25, 33, 2048)
    assert int(spectra_bin.data.sum()) == int(counts[:, :99].sum())  # one column trimmed
    np.testing.assert_allclose(nav_bin.data[2, 4], sem.nav_img.data[6:9, 12:15].sum(), rtol=1e-6)
    assert spectra_bin.axes_manager[0].scale == pytest.approx(3 * sem.spectra.axes_manager[0].scale)

    sem.peak_intensity_normalisation()
    sums = sem.spectra_bin.data.sum(-1)
    np.testing.assert_allclose(sums[sums > 0], 1, rtol=1e-5)
    assert sem.spectra_raw.data.dtype.kind == "u"  # counts kept

    sem.remove_first_peak(end=0.1)
    assert sem.spectra_bin.axes_manager[-1].offset >= 0.1 - 0.0101
    assert sem.spectra_bin.axes_manager[-1].offset < 0.1 + 0.0101
    assert sem.spectra_raw.data.shape == sem.spectra_bin.data.shape

    data = sem.normalisation([norm.neighbour_averaging, norm.zscore])
    assert data.shape == (25, 33, 11) and data.dtype == np.float32
    np.testing.assert_allclose(data.reshape(-1, 11).mean(0), 0, atol=1e-5)
    # the cell's value is a view of the stored cube (shown as one line in a notebook)
    assert np.shares_memory(sem.normalised_elemental_data, data)
    assert np.array_equal(sem.normalised_elemental_data, data)


def test_feature_maps_equal_exspy_get_lines_intensity(p45):
    import hyperspy.api as hs

    sem = SEMDataset(p45)
    sem.rebin_signal((3, 3))
    sig = hs.load(p45)[-1].rebin(scale=(3, 3, 1), crop=True)
    # the same detector resolution on both sides: ours comes from the .bcf header (126 eV),
    # HyperSpy's reader leaves eXSpy's 130 eV default
    assert sem.fwhm_mnka == pytest.approx(126.0, abs=0.2)
    sig.metadata.set_item("Acquisition_instrument.SEM.Detector.EDS.energy_resolution_MnKa", sem.fwhm_mnka)
    ref = sig.get_lines_intensity(sem.feature_list)
    ours = sem.get_feature_maps()
    for i, line in enumerate(sem.feature_list):
        np.testing.assert_array_equal(ours[..., i], ref[i].data, err_msg=line)
    raw = sem.get_feature_maps(raw_data=True)
    assert raw.shape == (75, 100, 11)


def test_features_are_fractions_after_normalisation(p45):
    sem = SEMDataset(p45)
    sem.rebin_signal((5, 5))
    counts = sem.get_feature_maps()
    total = sem.spectra_bin.data.sum(-1)
    sem.peak_intensity_normalisation()
    frac = sem.get_feature_maps()
    np.testing.assert_allclose(frac, counts / total[..., None], rtol=1e-4, atol=1e-7)


def test_navigator_feature_survives_later_calls(p45):
    sem = SEMDataset(p45)
    sem.rebin_signal((3, 3))
    sem.peak_intensity_normalisation()
    sem.remove_first_peak(end=0.1)
    sem.normalisation([norm.neighbour_averaging, norm.zscore])
    out = sem.get_feature_maps_with_nav_img(normalisation=[norm.neighbour_averaging, norm.zscore])
    assert sem.feature_list[-1] == NAV_FEATURE and out.shape == (25, 33, 12)
    expected = norm.zscore(norm.neighbour_averaging(sem.get_feature_maps()))
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # softmax over every feature: the navigator is not a constant 1.0
    sm = sem.normalisation([norm.zscore, norm.softmax])
    assert sm[..., -1].std() > 0
    sem.set_feature_list(["Si_Ka", "Fe_Ka", NAV_FEATURE])  # re-normalises with the same chain
    assert sem.normalised_elemental_data.shape == (25, 33, 3)
    assert sem.feature_dict == {"Si_Ka": 0, "Fe_Ka": 1, NAV_FEATURE: 2}
    # the string form that upstream rejected works too
    sem.get_feature_maps_with_nav_img(normalisation=["neighbour_averaging", "zscore"])


def test_set_feature_list_errors(p45):
    sem = SEMDataset(p45)
    with pytest.raises(SigmaValueError, match=r"'feature_list' parameter must be X-ray lines .*Got 'Fe_Kz'"):
        sem.set_feature_list(["Si_Ka", "Fe_Kz"])
    with pytest.raises(SigmaValueError, match=r"inside the energy axis .*Got 'U_Ka'"):
        sem.set_feature_list(["U_Ka"])
    with pytest.raises(SigmaValueError, match="at least one X-ray line"):
        sem.set_feature_list([])


def test_rebin_errors(p45):
    sem = SEMDataset(p45)
    with pytest.raises(SigmaValueError, match=r"'size' parameter must be bin factors no larger than the map, which has 75 × 100"):
        sem.rebin_signal((80, 2))
    with pytest.raises(SigmaValueError, match=r"'end' parameter must be an energy in keV below"):
        sem.remove_first_peak(end=50)


def test_lazy_equals_eager(p45):
    eager = SEMDataset(p45)
    lazy = SEMDataset(p45, lazy=True)
    assert lazy.lazy and hasattr(lazy.spectra.data, "dask")
    for ds in (eager, lazy):
        ds.rebin_signal((3, 3))
        ds.peak_intensity_normalisation()
        ds.remove_first_peak(0.1)
        ds.normalisation([norm.neighbour_averaging, norm.zscore])
    assert hasattr(lazy.spectra_bin.data, "dask")
    np.testing.assert_allclose(lazy.normalised_elemental_data, eager.normalised_elemental_data, atol=1e-5)


def test_lines_proposed_when_file_names_no_elements(real_dir):
    sem = SEMDataset(real_dir / "bcf/P45_the_default_job.bcf")
    # the same rock as P45_12bit_packed_8bit.bcf, whose header names these elements
    assert {"Si_Ka", "Al_Ka", "O_Ka", "K_Ka", "Fe_Ka", "Ca_Ka", "Na_Ka"} <= set(sem.feature_list)


def test_lines_near_energy_box(p45):
    sem = SEMDataset(p45)
    names = [n for n, _, _ in sem.lines_near_energy(1.74, 0.02)]
    assert "Si_Ka" in names


def test_tem_from_hspy_and_bcf(real_dir):
    tem = TEMDataset(real_dir / "hspy/core_shell.hspy")
    assert tem.spectra.metadata.Signal.signal_type == "EDS_TEM"
    assert tem.feature_list == ["Fe_Ka", "Pt_La"]
    assert tem.nav_img.data.shape == (64, 64)
    np.testing.assert_allclose(tem.nav_img.data.sum(), 884071.0)  # sum of counts as navigator
    tem2 = TEMDataset(real_dir / "bcf/test_TEM.bcf")
    assert tem2._nav_title == "HAADF"
    tem2.rebin_signal((2, 2))
    tem2.peak_intensity_normalisation()
    tem2.remove_first_peak(0.1)
    assert tem2.normalisation([norm.neighbour_averaging]).shape == (32, 32, 4)


def test_emi_dataset_calibration_from_file(real_dir):
    tem = TEMDataset(real_dir / "emi_ser/16x16-spectrum_image_5x5x4000-not_square.emi")
    ax = tem.spectra.axes_manager.signal_axes[0]
    assert (ax.scale, ax.offset, ax.units) == (0.005, 0.0, "keV")
    assert tem.feature_list == []  # all-zero counts: nothing to propose
    with pytest.raises(SigmaValueError, match=r"at least one X-ray line.*set_feature_list"):
        tem.normalisation([])
    tem.set_feature_list(["Fe_Ka", "Cu_Ka"])
    tem.peak_intensity_normalisation()  # zero-count pixels: defined, finite result
    assert np.isfinite(tem.normalisation([norm.zscore])).all()


def test_hyperspy_signal_in_place_of_path(p45):
    import hyperspy.api as hs

    sig = hs.load(p45)[-1]
    sem = SEMDataset(sig)
    assert sem.spectra.data.shape == (75, 100, 2048)
    assert sem.feature_list == SEMDataset(p45).feature_list


def test_separate_navigation_image(p45, tmp_path):
    import tifffile

    img = np.arange(150 * 200, dtype=np.uint16).reshape(150, 200)
    tifffile.imwrite(tmp_path / "bse.tif", img)
    sem = SEMDataset(p45, nag_file_path=tmp_path / "bse.tif")
    np.testing.assert_allclose(sem.nav_img.data, img.reshape(75, 2, 100, 2).mean(axis=(1, 3)))


def test_energy_calibration_can_be_set_and_fitted(real_dir):
    sem = SEMDataset(real_dir / "bcf/30x30_instructively_packed_16bit_compressed.bcf")
    ax = sem.spectra.axes_manager.signal_axes[0]
    true = (ax.scale, ax.offset)
    sem.set_energy_calibration(true[0] * 1.02, true[1] + 0.05)
    a, b = sem.calibrate_spectra(tolerance=0.3)
    ax = sem.spectra.axes_manager.signal_axes[0]
    assert ax.scale == pytest.approx(true[0], rel=3e-3)
    assert ax.offset == pytest.approx(true[1], abs=0.02)


def test_maps_file_is_refused_by_semdataset(tmp_path):
    from sigma.io.h5oina import write_h5oina

    p = tmp_path / "maps.h5oina"
    write_h5oina(p, None, window_integrals={"Fe Ka1": np.ones((4, 5), np.float32),
                                            "Si Ka1": np.zeros((4, 5), np.float32)})
    with pytest.raises(SigmaFileError, match="holds element maps, not spectra.*ImageDataset"):
        SEMDataset(p)
    ds = ImageDataset(p)
    assert ds.normalisation([norm.zscore]).shape == (4, 5, 2)


def test_h5oina_spectrum_file(tmp_path):
    from sigma.io.h5oina import write_h5oina

    rng = np.random.default_rng(0)
    cube = rng.poisson(2, size=(6, 8, 1024)).astype(np.int32)
    p = tmp_path / "map.h5oina"
    write_h5oina(p, cube, energy_scale=0.01, energy_offset=-0.1, nav_scale=(0.5, 0.5),
                 elements=("Fe", "Si"), bse_image=rng.random((6, 8)).astype(np.float32))
    sem = SEMDataset(p)
    assert sem.spectra.data.shape == (6, 8, 1024)
    assert int(sem.spectra.data.sum()) == int(cube.sum())
    assert set(sem.feature_list) == {"Fe_Ka", "Si_Ka"}
    assert sem._nav_title == "BSE"


def test_image_dataset(tmp_path):
    import tifffile
    from PIL import Image

    rng = np.random.default_rng(4)
    fe = rng.integers(0, 255, (8, 6)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "Fe_Ka.tif", fe)
    Image.fromarray(np.stack([fe] * 3, -1)).save(tmp_path / "Si_Ka.png")
    ds = IMAGEDataset(tmp_path)
    assert ds.feature_list == ["Fe_Ka", "Si_Ka"]
    np.testing.assert_allclose(ds.chemical_maps[..., 1], fe, atol=0.6)  # RGB grey → luminance
    maps, inten = ds.rebin_signal((2, 2))
    assert maps.shape == (4, 3, 2) and maps[..., 0].sum() == fe.sum()
    ds.normalisation([norm.neighbour_averaging, norm.zscore])
    ds.get_feature_maps_with_nav_img([norm.zscore])
    assert ds.feature_list[-1] == NAV_FEATURE and ds.normalised_elemental_data.shape == (4, 3, 3)
    tifffile.imwrite(tmp_path / "bad.tif", np.zeros((3, 3), np.uint8))
    with pytest.raises(SigmaFileError, match=r"bad\.tif' has shape \(3, 3\); expected the shape of the other maps, \(8, 6\)"):
        ImageDataset(tmp_path)


# --------------------------------------------------------------------------- line counts
@pytest.fixture(scope="module")
def weak_phantom():
    from sigma.synthetic import make_phantom

    return make_phantom((24, 32), counts_per_pixel=100, seed=1)


def test_line_counts_are_window_counts_of_the_analysis_grid(weak_phantom):
    from sigma.preprocessing import feature_maps, line_windows

    ds = SEMDataset(weak_phantom.to_signal())
    ds.rebin_signal((2, 2))
    ds.peak_intensity_normalisation()
    c = ds.line_counts(["Si_Ka", "C_Ka"], top_fraction=0.25)
    cube = weak_phantom.spectra.reshape(12, 2, 16, 2, -1).sum((1, 3)).astype(np.float64)
    e = ds.energy_axis_of(ds.spectra_raw)
    wins = line_windows(["Si_Ka", "C_Ka"], float(e[1] - e[0]), float(e[0]), e.size, fwhm_mnka=ds.fwhm_mnka)
    expect = feature_maps(cube, wins).reshape(-1, 2)
    top = np.sort(expect, axis=0)[-48:]  # 25 % of 192 pixels
    np.testing.assert_allclose(c["Si_Ka"]["mean"], expect[:, 0].mean(), rtol=1e-6)
    np.testing.assert_allclose(c["C_Ka"]["top_mean"], top[:, 1].mean(), rtol=1e-6)
    assert ds.weak_lines(20.0) == ["C_Ka"]  # about 12 counts at 400 counts/px; the others > 30
    with pytest.raises(SigmaValueError, match="'top_fraction' parameter must be a share"):
        ds.line_counts(top_fraction=0)


def test_feature_maps_reuse_the_window_sums_of_line_counts(weak_phantom, monkeypatch):
    import sigma.datasets._summary as base

    ds = SEMDataset(weak_phantom.to_signal())
    ds.peak_intensity_normalisation()
    passes, reads = [], []
    real_pass, real_maps = base.summarise_cube, base.feature_maps
    monkeypatch.setattr(base, "summarise_cube",
                        lambda data, wins, **kw: passes.append(len(wins)) or real_pass(data, wins, **kw))
    monkeypatch.setattr(base, "feature_maps",
                        lambda data, wins: reads.append([w.hi - w.lo for w in wins]) or real_maps(data, wins))
    ds.line_counts()  # every line of the file: the one pass reads them all
    before = ds.get_feature_maps(["Si_Ka", "Fe_Ka"])
    n_lines = len(ds.xray_lines)
    assert passes == [n_lines] and reads == []
    ds.set_feature_list(["Si_Ka", "Fe_Ka", "Mg_Ka"])
    after = ds.normalisation([])
    (mg,) = ds._line_windows(["Mg_Ka"])
    assert reads == [[mg.hi - mg.lo]] and passes == [n_lines]  # only Mg_Ka's channels are read
    np.testing.assert_array_equal(after[..., :2], before)
    # cropping keeps the same channels: the cached sums are still those of these channels
    ds.remove_first_peak(0.1)
    np.testing.assert_array_equal(ds.get_feature_maps(["Si_Ka"])[..., 0], before[..., 0])
    assert len(reads) == 1 and len(passes) == 1
