"""EMSA/MAS export: the header the standard requires, and round trips through RosettaSciIO
and HyperSpy."""

import numpy as np
import pytest

from sigma._errors import SigmaFileError
from sigma.io.emsa import read_emsa, write_emsa

ORDER = ["FORMAT", "VERSION", "TITLE", "DATE", "TIME", "OWNER", "NPOINTS", "NCOLUMNS", "XUNITS",
         "YUNITS", "DATATYPE", "XPERCHAN", "OFFSET"]


def _write(tmp_path, **kw):
    y = np.random.default_rng(0).poisson(50, 2048).astype(float)
    args = dict(energy_scale=0.01, energy_offset=-0.47, beam_energy=20.0, live_time=37.5,
                elements=["Fe", "Ti", "O"], title="SIGMA2 cluster 3: ilmenite FeTiO₃",
                elevation_angle=35.0, fwhm_mnka=128.0)
    args.update(kw)
    return y, write_emsa(tmp_path / "cluster_3.msa", y, **args)


def test_header_follows_the_standard(tmp_path):
    _, p = _write(tmp_path)
    raw = p.read_bytes()
    raw.decode("ascii")  # ASCII only
    text = raw.decode("ascii")
    assert "\r\n" in text and text.count("\r\n") == text.count("\n")
    keys = [ln[1:].split(":")[0].strip() for ln in text.splitlines() if ln.startswith("#")]
    assert keys[: len(ORDER)] == ORDER
    assert keys[-2:] == ["SPECTRUM", "ENDOFDATA"]
    assert "##D2ELEMS    : Fe,Ti,O" in text


def test_round_trip_through_rosettasciio_and_hyperspy(tmp_path):
    import hyperspy.api as hs
    from rsciio.msa import file_reader

    y, p = _write(tmp_path)
    d = file_reader(str(p))[0]
    assert np.array_equal(d["data"], y)
    ax = d["axes"][0]
    assert (ax["scale"], ax["offset"], ax["units"]) == (0.01, -0.47, "keV")
    om = d["original_metadata"]
    assert om["LIVETIME  -s"] == 37.5 and om["BEAMKV   -kV"] == 20.0
    s = hs.load(p)
    assert type(s).__name__ == "EDSSEMSpectrum"
    assert s.metadata.Acquisition_instrument.SEM.beam_energy == 20.0
    assert s.metadata.Acquisition_instrument.SEM.Detector.EDS.live_time == 37.5
    assert s.metadata.General.title.startswith("SIGMA2 cluster 3 - ilmenite")
    back = read_emsa(p)
    assert back["elements"] == ["Fe", "Ti", "O"] and back["fwhm_mnka"] == 128.0
    assert np.allclose(back["energy"], -0.47 + 0.01 * np.arange(2048))


def test_unknown_live_time_is_left_out_not_invented(tmp_path):
    _, p = _write(tmp_path, live_time=None)
    text = p.read_text(encoding="ascii")
    assert "#LIVETIME" not in text and "live time unknown" in text
    assert read_emsa(p)["live_time"] is None


def test_existing_file_is_kept_unless_overwrite(tmp_path):
    _, p = _write(tmp_path)
    with pytest.raises(FileExistsError, match="cluster_3.msa"):
        _write(tmp_path)
    _write(tmp_path, overwrite=True)


def test_bad_files_are_named(tmp_path):
    with pytest.raises(SigmaFileError, match="missing.msa.*does not exist"):
        read_emsa(tmp_path / "missing.msa")
    bad = tmp_path / "bad.msa"
    bad.write_text("#FORMAT : EMSA/MAS Spectral Data File\n#SPECTRUM : x\n", encoding="ascii")
    with pytest.raises(SigmaFileError, match="bad.msa"):
        read_emsa(bad)


def test_ev_axis_is_converted_to_kev(tmp_path):
    p = tmp_path / "ev.msa"
    lines = ["#FORMAT      : EMSA/MAS Spectral Data File", "#VERSION     : 1.0", "#TITLE       : t",
             "#NPOINTS     : 3.", "#NCOLUMNS    : 1.", "#XUNITS      : eV", "#DATATYPE    : Y",
             "#XPERCHAN    : 10.", "#OFFSET      : 100.", "#SIGNALTYPE  : EDS", "#BEAMKV   -kV: 15.",
             "#SPECTRUM    : start", "1,", "2,", "3,", "#ENDOFDATA   : end"]
    p.write_text("\r\n".join(lines), encoding="ascii")
    d = read_emsa(p)
    assert d["energy"].tolist() == pytest.approx([0.1, 0.11, 0.12]) and d["beam_energy"] == 15.0
