"""Every real file loads with the shape, energy axis and navigation image its manifest records."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from sigma._errors import SigmaFileError
from sigma.io import load
from sigma.io.ripple import read_emsa_calibration, read_par

SPECTRUM_FILES = [
    "bcf/16x16_12bit_packed_8bit.bcf",
    "bcf/30x30_instructively_packed_16bit_compressed.bcf",
    "bcf/Hitachi_TM3030Plus.bcf",
    "bcf/P45_12bit_packed_8bit.bcf",
    "bcf/P45_12bit_packed_8bit_compressed.bcf",
    "bcf/P45_job_hyperspy.bcf",
    "bcf/P45_the_default_job.bcf",
    "bcf/bcf-edx-ebsd.bcf",
    "bcf/bcf_v2_50x50px.bcf",
    "bcf/test_TEM.bcf",
    "emi_ser/16x16-spectrum_image_5x5x4000-not_square.emi",
    "emi_ser/16x16-line_profile_horizontal_5x128x128_EDS.emi",
    "hspy/bare_core.hspy",
    "hspy/core_shell.hspy",
]


def _eds_entry(entry):
    sigs = [s for s in entry["signals"] if s.get("total_counts") is not None]
    return sigs[0]


@pytest.mark.parametrize("name", SPECTRUM_FILES)
def test_real_file_matches_manifest(real_dir, manifest, name):
    entry = _eds_entry(manifest[name])
    raw = load(real_dir / name)
    shape = tuple(entry["shape"])
    if len(shape) == 2:  # a line scan becomes a map of one row
        shape = (1, *shape)
    assert raw.shape == shape
    assert raw.data.dtype == np.dtype(entry["dtype"])
    e = entry["axes"][-1]
    to_kev = 1e-3 if e["units"] == "eV" else 1.0
    assert raw.energy_scale == pytest.approx(e["scale"] * to_kev)
    assert raw.energy_offset == pytest.approx(e["offset"] * to_kev)
    assert float(np.asarray(raw.data).sum()) == entry["total_counts"]
    nav_axes = entry["axes"][:-1]
    assert raw.nav_scale[-1] == pytest.approx(nav_axes[-1]["scale"])
    if len(nav_axes) == 2:
        assert raw.nav_scale[0] == pytest.approx(nav_axes[0]["scale"])
    assert raw.signal_type == ("EDS_TEM" if entry.get("instrument") in ("TEM", None) and not name.startswith("bcf/")
                               or entry.get("instrument") == "TEM" else "EDS_SEM")
    if entry.get("beam_energy_keV") is not None:
        assert raw.beam_energy == pytest.approx(entry["beam_energy_keV"])
    if entry.get("elements"):
        assert sorted(raw.elements) == sorted(entry["elements"])


@pytest.mark.parametrize("name", [n for n in SPECTRUM_FILES if n.startswith("bcf/")])
def test_bcf_navigation_image_is_the_electron_image(real_dir, manifest, name):
    raw = load(real_dir / name)
    images = [s for s in manifest[name]["signals"] if s.get("total_counts") is None]
    same_grid = [s for s in images if tuple(s["shape"]) == raw.shape[:2]]
    if same_grid:
        first = same_grid[0]["title"]
        assert next(iter(raw.nav_images)) == first
        assert next(iter(raw.nav_images.values())).shape == raw.shape[:2]
    else:  # bcf_v2 holds only an overview of another field of view
        assert raw.nav_images == {} or all(v.shape == raw.shape[:2] for v in raw.nav_images.values())
        assert raw.metadata["other_images"]


def test_emi_without_signal_type_is_recognised_as_eds(real_dir):
    raw = load(real_dir / "emi_ser/16x16-spectrum_image_5x5x4000-not_square.emi")
    assert raw.signal_type == "EDS_TEM"
    assert raw.energy_scale == pytest.approx(0.005)  # 5 eV/ch read from the file, in keV
    assert raw.nav_scale[0] == pytest.approx(-4.258193731308558)
    assert raw.beam_energy == pytest.approx(200.0)


def test_lazy_bcf_is_chunked_along_navigation(real_dir):
    lazy = load(real_dir / "bcf/P45_12bit_packed_8bit.bcf", lazy=True)
    eager = load(real_dir / "bcf/P45_12bit_packed_8bit.bcf")
    assert hasattr(lazy.data, "dask")
    assert lazy.data.chunks[1] == (100,) and lazy.data.chunks[2] == (2048,)
    np.testing.assert_array_equal(lazy.data[10:20].compute(), eager.data[10:20])


def test_ripple_pair_with_emsa_and_par(tmp_path, vendor_dir):
    src = vendor_dir / "ripple_bruker_esprit_demo"
    for ext in (".rpl", ".raw"):
        shutil.copy(src / f"4on3_full{ext}", tmp_path / f"map{ext}")
    (tmp_path / "map.txt").write_text(
        "#FORMAT      : EMSA/MAS Spectral Data File\n#XUNITS      : eV\n"
        "#XPERCHAN    : 10.0\n#OFFSET      : -470.1\n#SPECTRUM    :\n0, 1\n"
    )
    (tmp_path / "map.par").write_text(
        "Map Width: 1638.4 µm\nMap Height: 1228.8 µm\n"
        "Resolution (Width): 4 pixels\nResolution (Height): 3 pixels\n"
    )
    raw = load(tmp_path / "map.raw")
    bcf = load(src / "4on3_full.bcf")
    assert raw.shape == (3, 4, 1024)
    np.testing.assert_array_equal(np.asarray(raw.data), np.asarray(bcf.data))
    assert raw.energy_scale == pytest.approx(0.01) and raw.energy_offset == pytest.approx(-0.4701)
    assert raw.nav_scale == pytest.approx((409.6, 409.6)) and raw.nav_units == "µm"
    assert raw.calibrated


def test_ripple_without_calibration_warns_and_can_be_given(tmp_path, vendor_dir):
    src = vendor_dir / "ripple_bruker_esprit_demo"
    for ext in (".rpl", ".raw"):
        shutil.copy(src / f"4on3_full{ext}", tmp_path / f"m{ext}")
    with pytest.warns(UserWarning, match="has no energy calibration.*set_energy_calibration"):
        raw = load(tmp_path / "m.rpl")
    assert not raw.calibrated
    raw = load(tmp_path / "m.rpl", energy_scale=0.01, energy_offset=-0.47)
    assert raw.calibrated and raw.energy_offset == -0.47


def test_emsa_offset_zero_is_applied(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("#XUNITS : keV\n#XPERCHAN : 0.02\n#OFFSET : 0\n")
    assert read_emsa_calibration(p) == (0.02, 0.0)


def test_par_units_are_converted(tmp_path):
    p = tmp_path / "a.par"
    p.write_text("Map Width = 2 mm\nMap Height = 1 mm\nResolution (Width) = 1000\nResolution (Height) = 500\n"
                 "Energy Range: 20 keV\nNumber Of Channels: 2048\n")
    assert read_par(p) == {"scale_x": 2.0, "scale_y": 2.0, "energy_range": 20.0, "n_channels": 2048}


# ---------------------------------------------------------------- bad input
def test_missing_file_names_path(tmp_path):
    with pytest.raises(SigmaFileError, match=r"File '.*nothere\.bcf' does not exist"):
        load(tmp_path / "nothere.bcf")


def test_unsupported_extension(tmp_path):
    p = tmp_path / "data.xyz"
    p.write_text("hello")
    with pytest.raises(SigmaFileError, match=r"unsupported extension '\.xyz'; expected one of \.bcf"):
        load(p)


@pytest.mark.parametrize("name", ["bcf/P45_12bit_packed_8bit.bcf", "hspy/core_shell.hspy",
                                  "emi_ser/16x16-spectrum_image_5x5x4000-not_square_1.ser"])
def test_truncated_file_is_reported(real_dir, tmp_path, name):
    src = real_dir / name
    dst = tmp_path / src.name
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    with pytest.raises(SigmaFileError, match=rf"File '.*{src.name}' could not be read .*truncated or corrupt"):
        load(dst)


def test_empty_file(tmp_path):
    p = tmp_path / "e.bcf"
    p.write_bytes(b"")
    with pytest.raises(SigmaFileError, match="is empty"):
        load(p)


def test_rpl_without_raw(tmp_path, vendor_dir):
    shutil.copy(vendor_dir / "ripple_bruker_esprit_demo/4on3_full.rpl", tmp_path / "x.rpl")
    with pytest.raises(SigmaFileError, match=r"File '.*x\.raw' was not found next to the header; expected the \.raw"):
        load(tmp_path / "x.rpl")


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.9])
@pytest.mark.parametrize("name", ["bcf/P45_12bit_packed_8bit_compressed.bcf", "bcf/test_TEM.bcf"])
def test_truncated_bcf_never_crashes(real_dir, tmp_path, name, fraction):
    src = real_dir / name
    dst = tmp_path / src.name
    dst.write_bytes(src.read_bytes()[: int(src.stat().st_size * fraction)])
    with pytest.raises(SigmaFileError, match="truncated or corrupt"):
        load(dst)


def test_bcf_detector_resolution_comes_from_its_header(real_dir):
    """P45's header models the peak width as sigma² = SigmaAbs + SigmaLin·E (Bruker): 126 eV at
    Mn Kα, not the 130 eV default; the dataset's line windows and identification use it."""
    from sigma.datasets import SEMDataset

    raw = load(real_dir / "bcf/P45_12bit_packed_8bit.bcf", lazy=True)
    assert raw.energy_resolution_mnka == pytest.approx(126.0, abs=0.2)
    assert SEMDataset(str(real_dir / "bcf/P45_12bit_packed_8bit.bcf")).fwhm_mnka == pytest.approx(126.0, abs=0.2)


def test_hspy_beam_energy_set_by_exspy_is_read(tmp_path):
    """eXSpy's ``set_microscope_parameters`` stores the TEM beam energy under a key with a
    trailing space (``'beam_energy '``); HyperSpy reads it back, and so does sigma."""
    import hyperspy.api as hs

    s = hs.signals.Signal1D(np.ones((3, 4, 64), np.float32))
    s.set_signal_type("EDS_TEM")
    s.set_microscope_parameters(beam_energy=300.0)
    s.axes_manager.signal_axes[0].scale = 0.01
    s.axes_manager.signal_axes[0].units = "keV"
    s.save(tmp_path / "tem.hspy")
    raw = load(tmp_path / "tem.hspy")
    assert raw.beam_energy == 300.0
