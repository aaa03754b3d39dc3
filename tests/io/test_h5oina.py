"""Tests of the .h5oina reader/writer against the published H5OINA layout."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from sigma._errors import SigmaFileError, SigmaValueError
from sigma.io import _lazy
from sigma.io.h5oina import list_h5oina_contents, read_h5oina, write_h5oina
from sigma.io.h5oina._spec import _hyperspy_line

H, W, C = 7, 5, 64  # non-square (H != W) to catch x/y swaps


@pytest.fixture
def cube() -> np.ndarray:
    """Known counts: pixel (y, x) has a unique total, channel c encodes y, x and c."""
    y, x, c = np.meshgrid(np.arange(H), np.arange(W), np.arange(C), indexing="ij")
    return ((y * 100 + x * 10 + c) % 97).astype(np.int32)


@pytest.fixture
def bse() -> np.ndarray:
    return (np.arange(H * W, dtype=np.uint16).reshape(H, W) * 3).astype(np.uint16)


@pytest.fixture
def written(tmp_path, cube, bse):
    se = np.arange(H * W, dtype=np.uint8).reshape(H, W)
    return write_h5oina(
        tmp_path / "map.h5oina",
        cube,
        energy_scale=0.02,
        energy_offset=-0.1,
        nav_scale=(0.5, 0.25),
        beam_energy=15.0,
        bse_image=bse,
        se_image=se,
    )


# --------------------------------------------------------------------------------- layout
def test_file_follows_published_layout(written, cube):
    with h5py.File(written, "r") as f:
        assert f["Format Version"][0, 0].decode() == "7.0"
        assert [v.decode() for v in f["Index"][:, 0]] == ["1"]
        assert f["Index"].attrs["Type"] == "Single"
        hdr = f["1/EDS/Header"]
        assert hdr["X Cells"].dtype == np.int32 and hdr["X Cells"][0, 0] == W
        assert hdr["Y Cells"][0, 0] == H
        assert hdr["X Step"][0, 0] == pytest.approx(0.25)
        assert hdr["Y Step"][0, 0] == pytest.approx(0.5)
        assert hdr["Channel Width"][0, 0] == pytest.approx(20.0)  # eV
        assert hdr["Channel Width"].attrs["Unit"] == "eV"
        assert hdr["Start Channel"][0, 0] == pytest.approx(-100.0)  # eV
        assert hdr["Beam Voltage"][0, 0] == pytest.approx(15.0)
        spec = f["1/EDS/Data/Spectrum"]
        assert spec.shape == (H * W, C) and spec.dtype == np.int32
        assert spec.compression == "lzf"
        # row-major pixels, x fastest: pixel (y=2, x=3) is row 2 * W + 3
        np.testing.assert_array_equal(spec[2 * W + 3], cube[2, 3])
        assert f["1/EDS/Data/Live Time"].shape == (H * W, 1)
        assert f["1/Electron Image/Data/BSE/Electron Image 1"].shape == (H * W, 1)
        assert f["1/Electron Image/Header/X Cells"][0, 0] == W


# ----------------------------------------------------------------------------- round trip
def test_round_trip_cube_axes_and_images(written, cube, bse):
    raw = read_h5oina(written)
    assert raw.kind == "spectrum"
    assert raw.shape == (H, W, C)
    assert raw.data.dtype == np.int32
    np.testing.assert_array_equal(raw.data, cube)
    np.testing.assert_array_equal(raw.data.sum(-1), cube.sum(-1))
    assert raw.energy_scale == pytest.approx(0.02)
    assert raw.energy_offset == pytest.approx(-0.1)
    assert raw.nav_scale == pytest.approx((0.5, 0.25))
    assert raw.nav_units == "µm"
    assert raw.beam_energy == pytest.approx(15.0)
    assert list(raw.nav_images) == ["BSE", "SE"]  # BSE first
    np.testing.assert_array_equal(raw.nav_images["BSE"], bse)
    assert raw.nav_images["SE"][1, 0] == W  # (y=1, x=0) → pixel index W
    assert raw.metadata["valid_mask"].all()
    assert raw.metadata["site"] == "1" and raw.metadata["detector"] == "EDS"
    assert raw.path == written


def test_electron_image_of_other_size_is_resampled(tmp_path, cube):
    big = np.kron(np.arange(H * W, dtype=np.float32).reshape(H, W), np.ones((4, 4)))
    p = write_h5oina(tmp_path / "big.h5oina", cube, bse_image=big.astype(np.uint16))
    raw = read_h5oina(p)
    assert raw.nav_images["BSE"].shape == (H, W)
    np.testing.assert_allclose(raw.nav_images["BSE"], np.arange(H * W).reshape(H, W))


def test_electron_image_cropped_to_relative_box(tmp_path, cube):
    p = write_h5oina(tmp_path / "crop.h5oina", cube)
    img = np.zeros((2 * H, 2 * W), np.uint8)
    img[H:, W:] = np.arange(H * W).reshape(H, W)  # EDS box = bottom-right quarter
    with h5py.File(p, "r+") as f:
        f["1/EDS/Header/Relative Offset"][...] = [[0.5, 0.5]]
        f["1/EDS/Header/Relative Size"][...] = [[0.5, 0.5]]
        ei = f["1"].create_group("Electron Image")
        ei.create_group("Header").create_dataset("X Cells", data=[[2 * W]])
        ei["Header"].create_dataset("Y Cells", data=[[2 * H]])
        ei.create_group("Data/SE").create_dataset("img", data=img.reshape(-1, 1))
    raw = read_h5oina(p)
    np.testing.assert_array_equal(raw.nav_images["SE"], np.arange(H * W).reshape(H, W))


def test_electron_image_of_the_map_size_is_still_cropped_to_the_map_area(tmp_path, cube):
    """An electron image with exactly as many pixels as the map, covering twice its field
    (the map is its bottom-right quarter), used to be taken whole as the map's navigator."""
    p = write_h5oina(tmp_path / "same.h5oina", cube)
    img = np.zeros((H, W), np.float32)
    img[H // 2:, W // 2:] = 100.0  # bright only inside the map's area
    with h5py.File(p, "r+") as f:
        f["1/EDS/Header/Relative Offset"][...] = [[0.5, 0.5]]
        f["1/EDS/Header/Relative Size"][...] = [[0.5, 0.5]]
        ei = f["1"].create_group("Electron Image")
        ei.create_group("Header").create_dataset("X Cells", data=[[W]])
        ei["Header"].create_dataset("Y Cells", data=[[H]])
        ei.create_group("Data/BSE").create_dataset("img", data=img.reshape(-1, 1))
    bse = read_h5oina(p).nav_images["BSE"]
    assert bse.shape == (H, W)
    np.testing.assert_allclose(bse, 100.0)  # all of it inside the bright quarter


def test_scan_mask_gives_nan_outside(tmp_path, cube):
    mask = np.ones((H, W), bool)
    mask[0, :] = False
    mask[3, 4] = False
    p = write_h5oina(tmp_path / "m.h5oina", cube, scan_mask=mask, live_time=0.5)
    with h5py.File(p, "r") as f:  # Spec: NaN outside the acquisition area in Data datasets
        assert np.isnan(f["1/EDS/Data/Live Time"][0 * W + 2, 0])
        assert f["1/EDS/Data/Spectrum"][3 * W + 4].sum() == 0
    raw = read_h5oina(p)
    np.testing.assert_array_equal(raw.metadata["valid_mask"], mask)
    assert raw.data.dtype == np.float32
    assert np.isnan(raw.data[~mask]).all()
    np.testing.assert_array_equal(raw.data[mask], cube[mask])
    assert raw.metadata["live_time"][1, 1] == pytest.approx(0.5)

    zero = read_h5oina(p, out_of_scan="zero")
    assert zero.data.dtype == np.int32
    assert (zero.data[~mask] == 0).all()
    np.testing.assert_array_equal(zero.data[mask], cube[mask])

    lazy = read_h5oina(p, lazy=True, chunks=2)
    np.testing.assert_array_equal(lazy.data.compute(), raw.data)  # NaN == NaN here


def test_two_sites_and_unknown_site(tmp_path, cube):
    p = write_h5oina(tmp_path / "s.h5oina", cube)
    write_h5oina(p, cube[::-1] + 1, site="2", append=True)
    with h5py.File(p, "r") as f:
        assert [v.decode() for v in f["Index"][:, 0]] == ["1", "2"]
    np.testing.assert_array_equal(read_h5oina(p).data, cube)
    np.testing.assert_array_equal(read_h5oina(p, site=2).data, cube[::-1] + 1)
    with pytest.raises(
        SigmaValueError,
        match=r"'site' parameter must be one of the slices "
        r"\['1', '2'\] stored in file '.*s\.h5oina'\. Got '3'",
    ):
        read_h5oina(p, site="3")
    toc = list_h5oina_contents(p)
    assert toc["sites"] == ["1", "2"]
    assert toc["per_site"]["2"]["detectors"]["EDS"]["has_cube"]


def test_two_detectors_and_unknown_detector(tmp_path, cube):
    p = write_h5oina(tmp_path / "d.h5oina", cube, detector="EDS1")
    write_h5oina(p, 2 * cube, detector="EDS2", append=True)
    np.testing.assert_array_equal(read_h5oina(p).data, cube)  # first detector by default
    np.testing.assert_array_equal(read_h5oina(p, detector="EDS2").data, 2 * cube)
    with pytest.raises(
        SigmaValueError,
        match=r"one of the EDS detectors \['EDS1', 'EDS2'\]"
        r" of site '1' in file '.*d\.h5oina'\. Got 'EDS'",
    ):
        read_h5oina(p, detector="EDS")
    assert list_h5oina_contents(p)["detectors"] == ["EDS1", "EDS2"]


def test_element_maps_only_file(tmp_path):
    fe = np.arange(H * W, dtype=np.float32).reshape(H, W)
    mask = np.ones((H, W), bool)
    mask[-1, -1] = False
    p = write_h5oina(
        tmp_path / "maps.h5oina",
        window_integrals={"Fe Ka1": fe, "O_Ka": 2 * fe},
        scan_mask=mask,
    )
    raw = read_h5oina(p)
    assert raw.kind == "maps"
    assert raw.shape == (H, W, 2)
    assert raw.feature_names == ["Fe Ka1", "O Ka"]
    assert raw.elements == ["Fe", "O"] and raw.xray_lines == ["Fe_Ka", "O_Ka"]
    np.testing.assert_array_equal(raw.data[..., 0][mask], fe[mask])
    assert np.isnan(raw.data[-1, -1]).all()
    assert raw.metadata["maps_group"] == "Window Integral"
    with h5py.File(p, "r") as f:
        ds = f["1/EDS/Data/Window Integral/Fe Ka1"]
        assert ds.attrs["Atomic Number"][0, 0] == 26
        line = ds.attrs["X-ray Line"][0, 0]
        assert (line.decode() if isinstance(line, bytes) else line) == "Ka1"
        assert "Spectrum" not in f["1/EDS/Data"]
    assert not list_h5oina_contents(p)["has_cube"]


def test_elements_written_as_window_integrals(tmp_path, cube, monkeypatch):
    from sigma.xray import lines

    # a one-element line table keeps this test fast (eXSpy's database takes seconds to load)
    monkeypatch.setattr(lines, "_db", lambda: {"Fe": {"Ka": (6.4039, 1.0), "La": (0.705, 1.0)}})
    p = write_h5oina(
        tmp_path / "el.h5oina", cube, elements=["Fe"], energy_scale=0.11, live_time=2.0
    )
    raw = read_h5oina(p)
    assert raw.elements == ["Fe"] and raw.xray_lines == ["Fe_Ka"]
    with h5py.File(p, "r") as f:
        fe = f["1/EDS/Data/Window Integral/Fe Ka1"][:, 0].reshape(H, W)
    # window ±FWHM(Fe Ka) = ±sqrt(130² + 2.5 (6403.9 - 5898.7)) eV = ±0.1348 keV around
    # 6.4039 keV: channel centres 6.325 (57) and 6.435 (58) only; counts per second
    np.testing.assert_allclose(fe, cube[..., 57:59].sum(-1) / 2.0)


# ----------------------------------------------------------------------------------- lazy
def test_lazy_equals_eager_and_is_chunked_by_rows(written, cube, monkeypatch):
    import dask

    raw = read_h5oina(written, lazy=True, chunks=2)
    assert raw.data.chunks == ((2, 2, 2, 1), (W,), (C,))
    calls = []
    real = _lazy.read_hdf5

    def spy(path, dataset, selection):
        calls.append((selection[0].start, selection[0].stop))
        return real(path, dataset, selection)

    monkeypatch.setattr(_lazy, "read_hdf5", spy)
    with dask.config.set(scheduler="synchronous"):
        block = raw.data[2:4].compute()
    np.testing.assert_array_equal(block, cube[2:4])
    assert calls == [(2 * W, 4 * W)]  # only map rows 2-3 were read
    calls.clear()
    np.testing.assert_array_equal(raw.data.compute(), cube)
    assert sorted(calls) == [(0, 2 * W), (2 * W, 4 * W), (4 * W, 6 * W), (6 * W, 7 * W)]

    tiles = read_h5oina(written, lazy=True, chunks=(3, 2))
    assert tiles.data.chunks == ((3, 3, 1), (2, 2, 1), (C,))
    np.testing.assert_array_equal(tiles.data.compute(), cube)


def test_lazy_default_chunks_and_bad_chunks(written, cube):
    raw = read_h5oina(written, lazy=True)
    assert raw.data.chunks[1:] == ((W,), (C,))
    np.testing.assert_array_equal(raw.data.compute(), cube)
    with pytest.raises(SigmaValueError, match=r"'chunks' parameter must be None, a positive"):
        read_h5oina(written, lazy=True, chunks=0)


# --------------------------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(SigmaFileError, match=r"File '.*nope\.h5oina' does not exist"):
        read_h5oina(tmp_path / "nope.h5oina")


def test_not_hdf5(tmp_path):
    p = tmp_path / "text.h5oina"
    p.write_text("not hdf5")
    with pytest.raises(SigmaFileError, match=r"text\.h5oina' is not an HDF5 file; expected"):
        read_h5oina(p)


def test_truncated_file(tmp_path, written):
    data = written.read_bytes()
    p = tmp_path / "cut.h5oina"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(SigmaFileError, match=r"cut\.h5oina' could not be (opened|read).*trunc"):
        read_h5oina(p)


def test_missing_groups(tmp_path):
    p = tmp_path / "empty.h5oina"
    with h5py.File(p, "w") as f:
        f.create_dataset("Format Version", data=[["7.0"]], dtype=h5py.string_dtype())
    with pytest.raises(SigmaFileError, match=r"has no slice group \(such as '/1'\)"):
        read_h5oina(p)
    with h5py.File(p, "a") as f:
        f.create_group("1/Electron Image")
    with pytest.raises(SigmaFileError, match=r"has no group '/1/EDS' \(nor '/1/EDS1'"):
        read_h5oina(p)
    with h5py.File(p, "a") as f:
        f.create_group("1/EDS/Header")
    with pytest.raises(SigmaFileError, match=r"has no group '/1/EDS/Data'; expected"):
        read_h5oina(p)
    with h5py.File(p, "a") as f:
        f.create_group("1/EDS/Data")
    with pytest.raises(SigmaFileError, match=r"has no dataset '/1/EDS/Header/X Cells'"):
        read_h5oina(p)


def test_no_cube_no_maps(tmp_path, written):
    with h5py.File(written, "r+") as f:
        del f["1/EDS/Data/Spectrum"]
    with pytest.raises(SigmaFileError, match=r"has neither '/1/EDS/Data/Spectrum' nor"):
        read_h5oina(written)


# --------------------------------------------------------------------------------- writer
def test_writer_refuses_overwrite_and_is_atomic(written, cube):
    before = written.read_bytes()
    with pytest.raises(SigmaFileError, match=r"map\.h5oina' already exists; expected a new path"):
        write_h5oina(written, cube)
    with pytest.raises(SigmaValueError, match=r"'cube' parameter must be integer counts"):
        write_h5oina(written, cube + 0.5, overwrite=True)
    assert written.read_bytes() == before  # failed write left the file untouched
    assert sorted(q.name for q in written.parent.iterdir()) == ["map.h5oina"]  # no temp left
    write_h5oina(written, 2 * cube, overwrite=True)
    np.testing.assert_array_equal(read_h5oina(written).data, 2 * cube)


def test_writer_rejects_old_version_for_cube(tmp_path, cube):
    with pytest.raises(SigmaValueError, match=r"'version' parameter must be '7\.0' or later"):
        write_h5oina(tmp_path / "v.h5oina", cube, version="6.0")


def test_line_scan(tmp_path):
    line = np.arange(6 * 8, dtype=np.int32).reshape(1, 6, 8)
    p = write_h5oina(tmp_path / "line.h5oina", line, nav_scale=(1.0, 0.3))
    with h5py.File(p, "r+") as f:  # Spec: line scan, Y Step always 0
        f["1/EDS/Header/Y Step"][...] = 0
    raw = read_h5oina(p)
    assert raw.shape == (1, 6, 8)
    assert raw.nav_scale == pytest.approx((0.3, 0.3))


@pytest.mark.parametrize(
    ("symbol", "line", "expected"),
    [
        ("Fe", "Ka1", "Fe_Ka"),
        ("Al", "K series", "Al_Ka"),
        ("Pb", "M series", "Pb_Ma"),
        ("Cu", "Lb1", "Cu_Lb"),
    ],
)
def test_spec_line_names_to_hyperspy(symbol, line, expected):
    assert _hyperspy_line(symbol, line) == expected


def test_reader_accepts_one_dimensional_header_datasets(written, cube):
    """Header entries stored as (1,) arrays and byte strings read the same as (1, 1)."""
    with h5py.File(written, "r+") as f:
        hdr = f["1/EDS/Header"]
        for name in ("X Cells", "Y Cells", "X Step", "Y Step", "Channel Width", "Start Channel"):
            value = hdr[name][0, 0]
            del hdr[name]
            hdr.create_dataset(name, data=np.array([value]))
        del f["Index"]
        f.create_dataset("Index", data=np.array([b"1"]))
    raw = read_h5oina(written)
    np.testing.assert_array_equal(raw.data, cube)
    assert raw.nav_scale == pytest.approx((0.5, 0.25))
    assert raw.energy_scale == pytest.approx(0.02)
