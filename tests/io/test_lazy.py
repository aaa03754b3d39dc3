"""Lazy cubes that dask.distributed workers can compute: picklable graphs, exact equality.

A graph sent to a worker process is pickled; RosettaSciIO's lazy ``.hspy`` array holds an open
``h5py`` file and cannot be. These tests pickle the lazy graphs of the readers (``pickle`` and
``cloudpickle``, which distributed uses), compute the copy that a worker would receive and
compare it with the eager read, element for element and dtype for dtype.
"""

from __future__ import annotations

import pickle
import shutil
import sys

import cloudpickle
import dask
import h5py
import numpy as np
import pytest

from sigma._errors import SigmaFileError, SigmaValueError
from sigma.io import _common, _lazy, load
from sigma.io.bruker import read_bcf
from sigma.io.hspy import _signal_dataset, read_hspy

BCF = "bcf/16x16_12bit_packed_8bit.bcf"


def _roundtrips(arr):
    """The array as a worker gets it, through pickle and through cloudpickle."""
    return [pickle.loads(pickle.dumps(arr)), cloudpickle.loads(cloudpickle.dumps(arr))]


def _assert_same(lazy, eager):
    assert lazy.dtype == eager.dtype and lazy.shape == eager.shape
    np.testing.assert_array_equal(lazy, eager)


@pytest.fixture(scope="module")
def phantom_hspy(tmp_path_factory):
    """A 10 x 8 x 64 phantom in a .hspy whose HDF5 chunks hold 3 rows each."""
    from sigma.synthetic import make_phantom

    ph = make_phantom((10, 8), n_channels=64, energy_scale=0.16, counts_per_pixel=50, seed=4)
    path = tmp_path_factory.mktemp("hspy") / "ph.hspy"
    ph.save_hspy(path, chunks=(3, 8, 64), compression="lzf")
    return path, ph


# --------------------------------------------------------------------------------- HDF5Rows
@pytest.fixture
def cube_file(tmp_path):
    cube = np.arange(5 * 4 * 6, dtype=np.int32).reshape(5, 4, 6)
    p = tmp_path / "c.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("grp/cube", data=cube, chunks=(2, 4, 6))
        f.create_dataset("flat", data=cube.reshape(20, 6))
    return p, cube


@pytest.mark.parametrize("flat", [False, True])
def test_hdf5rows_reads_like_numpy(cube_file, flat):
    p, cube = cube_file
    rows = _lazy.HDF5Rows(p, "flat" if flat else "/grp/cube", cube.shape, cube.dtype,
                          flat_pixels=flat)
    for key in [(slice(1, 4),), (slice(0, 5, 2), slice(1, 3), slice(None, None, 3)),
                (slice(2, 2),), (slice(None), slice(None), slice(4, 6)), 3, (1, 2, 3),
                (slice(None, None, -1),), ([0, 4], slice(1, 2))]:
        got = rows[key]
        assert got.dtype == cube.dtype and got.shape == cube[key].shape, key
        np.testing.assert_array_equal(got, cube[key])
    for back in _roundtrips(rows):
        np.testing.assert_array_equal(back[1:3], cube[1:3])
    assert "flat_pixels=True" in repr(rows) if flat else "c.h5" in repr(rows)


def test_hdf5rows_block_reads_only_its_rows(cube_file, monkeypatch):
    import dask.array as da

    p, cube = cube_file
    calls = []
    real = _lazy.read_hdf5

    def spy(path, dataset, selection):
        calls.append(selection[0])
        return real(path, dataset, selection)

    monkeypatch.setattr(_lazy, "read_hdf5", spy)
    arr = da.from_array(_lazy.HDF5Rows(p, "/grp/cube", cube.shape, cube.dtype),
                        chunks=(2, -1, -1), asarray=False)
    assert calls == []  # building the graph reads nothing
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_array_equal(arr[2:4].compute(), cube[2:4])
    assert calls == [slice(2, 4, 1)]


def test_hdf5rows_token_follows_the_file(cube_file):
    import os

    from dask.base import tokenize

    p, cube = cube_file
    a = _lazy.HDF5Rows(p, "/grp/cube", cube.shape, cube.dtype)
    before = tokenize(a)
    assert before == tokenize(_lazy.HDF5Rows(p, "/grp/cube", cube.shape, cube.dtype))
    assert before != tokenize(_lazy.HDF5Rows(p, "flat", cube.shape, cube.dtype, flat_pixels=True))
    st = os.stat(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file was rewritten
    assert tokenize(a) != before


def test_hdf5rows_keeps_an_absolute_path(cube_file, monkeypatch):
    p, cube = cube_file
    monkeypatch.chdir(p.parent)
    rows = _lazy.HDF5Rows(p.name, "/grp/cube", cube.shape, cube.dtype)
    assert rows.path == p.absolute()  # workers may run in another working directory
    monkeypatch.chdir(p.parent.parent)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(rows))[4:], cube[4:])


def test_hdf5rows_errors_name_the_file(cube_file):
    p, cube = cube_file
    rows = _lazy.HDF5Rows(p, "/grp/missing", cube.shape, cube.dtype)
    with pytest.raises(SigmaFileError, match=r"File '.*c\.h5' could not be read at dataset "
                                             r"'/grp/missing' \(KeyError"):
        rows[0:1]
    with pytest.raises(SigmaFileError, match=r"File '.*c\.h5' could not be read at dataset "
                                             r"'/grp/missing' \(KeyError"), rows.opened():
        pass  # a pass holds the file open: the same error, before any block
    p.unlink()
    with pytest.raises(SigmaFileError, match=r"File '.*c\.h5' could not be read .*moved, changed"):
        _lazy.HDF5Rows(p, "/grp/cube", cube.shape, cube.dtype)[0:1]
    with pytest.raises(SigmaFileError, match=r"File '.*c\.h5' could not be read .*moved, changed"):
        with _lazy.HDF5Rows(p, "/grp/cube", cube.shape, cube.dtype).opened():
            pass
    with pytest.raises(SigmaValueError, match=r"'shape' parameter must be \(H, W, C\) when "
                                              r"'flat_pixels' is True. Got \(20, 6\)"):
        _lazy.HDF5Rows(p, "flat", (20, 6), cube.dtype, flat_pixels=True)


# ------------------------------------------------------------------------------------- hspy
def test_lazy_hspy_phantom_pickles_and_equals_eager(phantom_hspy, monkeypatch):
    path, ph = phantom_hspy
    calls = []
    real = _lazy.read_hdf5
    monkeypatch.setattr(_lazy, "read_hdf5", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    lazy = read_hspy(path, lazy=True)
    assert calls == []  # stays lazy: the cube is not read when the file is opened
    eager = read_hspy(path)
    np.testing.assert_array_equal(eager.data, ph.spectra)
    assert lazy.data.chunks == ((10,), (8,), (64,))
    for back in _roundtrips(lazy.data):
        _assert_same(back.compute(), eager.data)
    assert {d[1] for d in calls} == {"/Experiments/" + eager.metadata["title"] + "/data"}
    # everything else the reader returns is the same
    assert lazy.nav_images.keys() == eager.nav_images.keys()
    for k in eager.nav_images:
        np.testing.assert_array_equal(lazy.nav_images[k], eager.nav_images[k])
    assert (lazy.energy_scale, lazy.energy_offset, lazy.elements) == (
        eager.energy_scale, eager.energy_offset, eager.elements)


@pytest.mark.parametrize(("target_rows", "chunks"), [(4, (3, 3, 3, 1)), (8, (6, 4)), (2, (3, 3, 3, 1))])
def test_lazy_hspy_blocks_hold_whole_hdf5_chunks(phantom_hspy, monkeypatch, target_rows, chunks):
    path, ph = phantom_hspy
    row_bytes = 8 * 64 * ph.spectra.dtype.itemsize
    monkeypatch.setattr(_common, "CHUNK_BYTES", target_rows * row_bytes)
    lazy = read_hspy(path, lazy=True)
    assert lazy.data.chunks == (chunks, (8,), (64,))  # file chunks hold 3 rows
    _assert_same(pickle.loads(pickle.dumps(lazy.data)).compute(), ph.spectra)


@pytest.mark.parametrize("name", ["hspy/core_shell.hspy", "hspy/bare_core.hspy"])
def test_lazy_real_hspy_pickles_and_equals_eager(real_dir, name):
    eager, lazy = load(real_dir / name), load(real_dir / name, lazy=True)
    assert lazy.data.chunks[1:] == ((eager.shape[1],), (eager.shape[2],))
    for back in _roundtrips(lazy.data):
        _assert_same(back.compute(), eager.data)


def test_signal_dataset_mismatch_names_the_file(phantom_hspy):
    path, ph = phantom_hspy
    name, chunks = _signal_dataset(path, 0, ph.shape, ph.spectra.dtype)
    assert name.startswith("/Experiments/") and name.endswith("/data") and chunks == (3, 8, 64)
    with pytest.raises(SigmaFileError, match=r"File '.*ph\.hspy' has no such dataset for its "
                                             r"signal 1 .*expected the HyperSpy layout"):
        _signal_dataset(path, 1, ph.shape, ph.spectra.dtype)
    with pytest.raises(SigmaFileError, match=r"ph\.hspy' has '/Experiments/.*/data' of shape "
                                             r"\(10, 8, 64\)"):
        _signal_dataset(path, 0, (10, 8, 65), ph.spectra.dtype)


def test_lazy_zspy_pickles_and_equals_eager(phantom_hspy, tmp_path):
    _, ph = phantom_hspy
    path = tmp_path / "ph.zspy"
    ph.to_signal().save(path)
    eager, lazy = load(path), load(path, lazy=True)
    np.testing.assert_array_equal(eager.data, ph.spectra)
    for back in _roundtrips(lazy.data):
        _assert_same(back.compute(), eager.data)


def test_zspy_without_zarr_says_what_to_install(tmp_path, monkeypatch):
    # zarr is a core dependency; hide it to check what a broken install is told
    for name in [m for m in sys.modules if m.split(".")[0] == "zarr" or m.startswith("rsciio.zspy")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "zarr", None)
    (tmp_path / "x.zspy").mkdir()
    with pytest.raises(SigmaFileError, match=r"x\.zspy' cannot be read without the optional "
                                             r"package 'zarr'.*pip install 'rosettasciio\[zspy\]'"):
        load(tmp_path / "x.zspy")


# -------------------------------------------------------------------------------------- bcf
def test_lazy_bcf_task_holds_only_the_path(real_dir, monkeypatch):
    from sigma.io import bruker

    decoded = []
    real = bruker._decode_cube
    monkeypatch.setattr(bruker, "_decode_cube", lambda *a: decoded.append(a) or real(*a))
    read_bcf(real_dir / BCF, lazy=True)
    assert decoded == []  # nothing decoded until computed
    monkeypatch.undo()

    lazy = read_bcf(real_dir / BCF, lazy=True)
    graph = dict(lazy.data.__dask_graph__())
    [key] = [k for k in graph if str(k).startswith("decode-bcf-")]
    # one task: the decoder and plain arguments (path, downsample, cut-off, shape, dtype)
    assert graph[key].func is bruker._decode_cube
    assert graph[key].args == (str(real_dir / BCF), 1, None, (16, 16, 2048), "|u1")
    assert len(pickle.dumps(lazy.data)) < 2000
    eager = read_bcf(real_dir / BCF)
    for back in _roundtrips(lazy.data):
        _assert_same(back.compute(), eager.data)
    assert read_bcf(real_dir / BCF, lazy=True).data.name == lazy.data.name  # same file: same keys


@pytest.mark.parametrize("name", [BCF, "bcf/test_TEM.bcf", "bcf/P45_12bit_packed_8bit_compressed.bcf"])
def test_lazy_real_bcf_equals_eager(real_dir, name):
    eager, lazy = load(real_dir / name), load(real_dir / name, lazy=True)
    _assert_same(pickle.loads(pickle.dumps(lazy.data)).compute(), eager.data)


def test_lazy_bcf_downsample_and_cutoff(real_dir):
    kw = {"downsample": 2, "cutoff_at_kV": 10}
    eager, lazy = read_bcf(real_dir / BCF, **kw), read_bcf(real_dir / BCF, lazy=True, **kw)
    assert eager.shape[:2] == (8, 8) and eager.shape[2] < 2048
    _assert_same(cloudpickle.loads(cloudpickle.dumps(lazy.data)).compute(), eager.data)


def test_lazy_bcf_changed_before_compute_names_the_file(real_dir, tmp_path):
    path = tmp_path / "map.bcf"
    shutil.copy(real_dir / BCF, path)
    lazy = read_bcf(path, lazy=True)
    shutil.copy(real_dir / "bcf/30x30_instructively_packed_16bit_compressed.bcf", path)
    with pytest.raises(SigmaFileError, match=r"File '.*map\.bcf' decoded to a cube of shape "
                                             r"\(30, 30, 2048\) .*expected shape \(16, 16, 2048\)"):
        lazy.data.compute()
    path.write_bytes((real_dir / BCF).read_bytes()[:40_000])  # cut short: refused, no crash
    with pytest.raises(SigmaFileError, match=r"File '.*map\.bcf' could not be read .*truncated"):
        lazy.data.compute()


@pytest.mark.parametrize("compression", [None, "lzf"])
def test_a_pass_over_an_uncompressed_file_goes_in_blocks_smaller_than_its_chunks(
        tmp_path, compression, monkeypatch):
    """An uncompressed (byte-shuffled, as HyperSpy writes) lazy cube is read in blocks of
    ``FINE_BLOCK_BYTES``, each reading only its rows; a compressed one in whole chunks. The
    summary is the eager one either way."""
    import sigma._blocks as blocks
    from sigma.preprocessing.cubepass import summarise_cube

    cube = np.random.default_rng(2).poisson(2, (16, 6, 32)).astype(np.uint16)
    p = tmp_path / "c.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=cube, chunks=(8, 6, 32), shuffle=True, compression=compression)
    rows = _lazy.HDF5Rows(p, "/x", cube.shape, cube.dtype)
    assert rows.fine_rows is (compression is None)
    seen, planes = [], []
    real_rows, real_planes = _lazy._OpenRows.read_rows, _lazy._OpenRows.read_planes
    monkeypatch.setattr(_lazy._OpenRows, "read_rows", lambda self, r0, r1, out, scratch=None: seen.append(
        (r0, r1)) or real_rows(self, r0, r1, out, scratch=scratch))

    def spy_planes(self, r0, r1, out):
        got = real_planes(self, r0, r1, out)
        if got is not None:
            planes.append((r0, r1))
        return got

    monkeypatch.setattr(_lazy._OpenRows, "read_planes", spy_planes)
    monkeypatch.setattr(blocks, "FINE_BLOCK_BYTES", 2 * 6 * 32 * 2)  # two rows
    lazy = rows.as_dask((8, 6, 32))
    got = summarise_cube(lazy, [(3, 9), (10, 30)], bin_size=(2, 2), sparse_limit=2**30, progress=False)
    want = summarise_cube(cube, [(3, 9), (10, 30)], bin_size=(2, 2), progress=False)
    if compression is None:  # each block as its two byte planes, read from the file as stored
        assert sorted(planes) == [(r, r + 2) for r in range(0, 16, 2)] and not seen
    else:  # whole chunks (merged up to BLOCK_BYTES), as values
        assert all(r0 % 8 == 0 and r1 % 8 == 0 for r0, r1 in seen) and sum(b - a for a, b in seen) == 16
        assert not planes
    np.testing.assert_array_equal(got.totals, want.totals)
    np.testing.assert_array_equal(got.windows[(10, 30)], want.windows[(10, 30)])
    np.testing.assert_array_equal(got.sparse[0:8], want.binned)


@pytest.mark.parametrize("dtype,shuffle", [(np.uint16, True), (np.uint16, False), (np.int16, True),
                                           (np.uint32, True), (np.float32, True)])
def test_a_pass_over_byte_planes_gives_the_summary_of_the_values(tmp_path, dtype, shuffle):
    """uint16 counts of a shuffled file are summed from their byte planes; any other dtype, or
    an unshuffled file, from values. The summary (totals, windows, spectrum, bins, NaN flags)
    is the eager one in every case, with counts above 255 (both planes in use) and a block
    that crosses a chunk boundary."""
    from sigma.preprocessing.cubepass import summarise_cube

    rng = np.random.default_rng(5)
    cube = rng.poisson(3, (12, 5, 40)).astype(dtype)
    cube[3, 2, 7] = 300
    cube[8, 4, 39] = 1000
    p = tmp_path / "c.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=cube, chunks=(3, 5, 40), shuffle=shuffle)
    lazy = _lazy.HDF5Rows(p, "/x", cube.shape, cube.dtype).as_dask((3, 5, 40))
    integer = np.dtype(dtype).kind in "ui"
    kw = dict(progress=False, total_from=2)
    got = summarise_cube(lazy, [(3, 9), (0, 40)], sparse_limit=2**30 if integer else None,
                         bin_size=(2, 2) if integer else None, **kw)
    want = summarise_cube(cube, [(3, 9), (0, 40)], bin_size=(2, 2), **kw)
    for name in ("totals", "norm_totals", "bad", "valid", "spectrum"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    for wn in want.windows:
        np.testing.assert_array_equal(got.windows[wn], want.windows[wn])
    if integer:
        np.testing.assert_array_equal(got.sparse[:], want.binned)


def test_byte_planes_of_rows_read_from_the_file(tmp_path):
    """``read_planes``: rows across chunks, an edge chunk, and refusals (compressed, not
    shuffled, a wrong buffer)."""
    from sigma.io._hdf5chunks import read_planes

    cube = (np.arange(7 * 3 * 4, dtype=np.uint32).reshape(7, 3, 4) * 70001).astype(np.uint32)
    p = tmp_path / "c.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("s", data=cube, chunks=(3, 3, 4), shuffle=True)
        f.create_dataset("plain", data=cube, chunks=(3, 3, 4))
        f.create_dataset("gz", data=cube, chunks=(3, 3, 4), shuffle=True, compression="gzip")
    with h5py.File(p, "r") as f:
        for r0, r1 in [(0, 7), (2, 4), (5, 7), (6, 7)]:
            got = read_planes(f["s"], r0, r1, np.empty((4, r1 - r0, 3, 4), np.uint8))
            joined = sum(got[j].astype(np.uint32) << (8 * j) for j in range(4))
            np.testing.assert_array_equal(joined, cube[r0:r1])
        assert read_planes(f["plain"], 0, 2, np.empty((4, 2, 3, 4), np.uint8)) is None
        assert read_planes(f["gz"], 0, 2, np.empty((4, 2, 3, 4), np.uint8)) is None
        assert read_planes(f["s"], 0, 2, np.empty((4, 3, 3, 4), np.uint8)) is None


def test_a_pass_over_a_file_cut_short_since_it_was_opened_names_the_file(tmp_path):
    """The lazy pass reads byte planes straight from the file: a file cut short after the cube
    was built gives the reader's error naming it, not a dead process or wrong sums."""
    from sigma.preprocessing.cubepass import summarise_cube

    cube = np.random.default_rng(3).poisson(2, (16, 6, 32)).astype(np.uint16)
    p = tmp_path / "c.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=cube, chunks=(8, 6, 32), shuffle=True)
    lazy = _lazy.HDF5Rows(p, "/x", cube.shape, cube.dtype).as_dask((8, 6, 32))
    with open(p, "r+b") as fh:
        fh.truncate(p.stat().st_size - 4000)
    with pytest.raises(SigmaFileError, match=r"File '.*c\.h5' could not be read"):
        summarise_cube(lazy, [(3, 9)], progress=False)
