"""Chunk-by-chunk HDF5 reads with the filters undone outside HDF5 equal h5py's reads."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigma.io._hdf5chunks import decodable, read_chunked


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    dtype=st.sampled_from([np.uint8, np.uint16, np.int16, np.uint32, np.float32, np.float64]),
    compression=st.sampled_from([None, "gzip", "lzf"]),
    shuffle=st.booleans(),
)
def test_read_chunked_equals_h5py(tmp_path_factory, data, dtype, compression, shuffle):
    shape = tuple(data.draw(st.integers(1, 9)) for _ in range(3))
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    x = (rng.poisson(2, size=shape) * rng.integers(0, 2, size=shape)).astype(dtype)
    p = tmp_path_factory.mktemp("h5") / "x.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=x, chunks=chunks, compression=compression,
                         shuffle=shuffle if (compression or shuffle) else False)
    sel = []
    for n in shape:
        a = data.draw(st.integers(0, n - 1))
        sel.append(slice(a, data.draw(st.integers(a + 1, n))))
    with h5py.File(p, "r") as f:
        got = read_chunked(f["x"], tuple(sel))
        assert got is not None and got.dtype == x.dtype
        np.testing.assert_array_equal(got, f["x"][tuple(sel)])


def test_unsupported_filters_and_selections_fall_back(tmp_path):
    p = tmp_path / "x.h5"
    x = np.arange(60, dtype=np.uint16).reshape(3, 4, 5)
    with h5py.File(p, "w") as f:
        f.create_dataset("plain", data=x)  # contiguous
        f.create_dataset("fletcher", data=x, chunks=(1, 4, 5), fletcher32=True)
        f.create_dataset("gz", data=x, chunks=(1, 4, 5), compression="gzip")
    with h5py.File(p, "r") as f:
        assert decodable(f["plain"]) is None and decodable(f["fletcher"]) is None
        assert read_chunked(f["fletcher"], (slice(0, 3),) * 3) is None
        assert read_chunked(f["gz"], (slice(0, 3, 2), slice(0, 4), slice(0, 5))) is None  # a step
        np.testing.assert_array_equal(read_chunked(f["gz"], (slice(0, 3), slice(1, 3), slice(0, 5))), x[:, 1:3])


def test_corrupt_lzf_chunk_is_refused_by_the_decoder():
    from sigma.io._hdf5chunks_kernels import lzf_decompress

    out = np.empty(16, np.uint8)
    assert lzf_decompress(np.array([0xE0, 0xFF, 0x00], np.uint8), out) == -1  # reference before start
    assert lzf_decompress(np.array([3, 1, 2], np.uint8), out) == -1  # literal run past the end
    assert lzf_decompress(np.array([1, 7, 9], np.uint8), out) == 2 and out[:2].tolist() == [7, 9]


@pytest.mark.parametrize("compression", ["gzip", "lzf", None])
def test_lazy_hspy_reads_through_the_chunk_decoder(tmp_path, compression, monkeypatch):
    import sigma.io._hdf5chunks as chunks_mod
    from sigma.io import load
    from sigma.synthetic import make_phantom

    ph = make_phantom((12, 10), n_channels=128, energy_scale=0.16)
    p = tmp_path / "ph.hspy"
    ph.save_hspy(p, chunks=(4, 10, 128), compression=compression)
    seen = []
    real = chunks_mod._decode
    monkeypatch.setattr(chunks_mod, "_decode", lambda *a, **k: seen.append(1) or real(*a, **k))
    lazy = load(p, lazy=True)
    np.testing.assert_array_equal(lazy.data.compute(), ph.spectra)
    assert len(seen) == 3  # every stored chunk decoded here, once


@pytest.mark.parametrize("itemsize", [1, 2, 3, 4, 8])
def test_unshuffle_by_words_equals_byte_by_byte(itemsize):
    from sigma.io._hdf5chunks_kernels import _unshuffle_bytes, unshuffle

    rng = np.random.default_rng(itemsize)
    for size in (0, 1, itemsize, 5 * itemsize + 3, 4096 + 1):
        src = rng.integers(0, 256, size, dtype=np.uint8)
        want = np.empty_like(src)
        _unshuffle_bytes(src, want, itemsize)
        got = np.empty_like(src)
        unshuffle(src, got, itemsize)
        np.testing.assert_array_equal(got, want)
        odd = np.empty(size + 1, np.uint8)[1:]  # not aligned to the word: byte by byte
        unshuffle(src, odd, itemsize)
        np.testing.assert_array_equal(odd, want)


@pytest.mark.parametrize("compression, shuffle", [("gzip", True), ("lzf", False), (None, False)])
def test_read_chunked_into_a_given_array_and_eager_hspy(tmp_path, compression, shuffle):
    from sigma.io import load
    from sigma.synthetic import make_phantom

    x = np.random.default_rng(0).poisson(3, (6, 5, 16)).astype(np.uint16)
    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=x, chunks=(2, 5, 16), compression=compression, shuffle=shuffle)
    out = np.zeros((3, 5, 16), np.uint16)
    with h5py.File(p, "r") as f:
        assert read_chunked(f["x"], (slice(1, 4), slice(0, 5), slice(0, 16)), out) is out
        assert read_chunked(f["x"], (slice(1, 4), slice(0, 5), slice(0, 16)), out[:, :, ::2].copy()) is None
    np.testing.assert_array_equal(out, x[1:4])
    ph = make_phantom((12, 10), n_channels=128, energy_scale=0.16)
    h = tmp_path / "ph.hspy"
    ph.save_hspy(h, chunks=(4, 10, 128), compression=compression)
    eager = load(h)
    assert isinstance(eager.data, np.ndarray)
    np.testing.assert_array_equal(eager.data, ph.spectra)


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_stored_bytes_are_read_at_their_file_address_or_by_hdf5(tmp_path, compression, monkeypatch):
    """A plain local file's chunks are read with ``os.preadv`` (no HDF5 lock); a file with a
    user block, and a chunk never written, go through HDF5 and read the same values."""
    import os

    import sigma.io._hdf5chunks as chunks_mod

    x = np.random.default_rng(0).poisson(3, (6, 5, 40)).astype(np.uint16)
    plain, shifted = tmp_path / "plain.h5", tmp_path / "ub.h5"
    for p, ub in ((plain, 0), (shifted, 512)):
        with h5py.File(p, "w", userblock_size=ub) as f:
            f.create_dataset("x", data=x, chunks=(2, 5, 40), compression=compression)
            f.create_dataset("holes", shape=x.shape, dtype=x.dtype, chunks=(2, 5, 40),
                             compression=compression, fillvalue=7)[:2] = x[:2]
    preads = []
    real = os.preadv
    monkeypatch.setattr(chunks_mod.os, "preadv", lambda *a: preads.append(a[2]) or real(*a))
    sel = (slice(0, 6), slice(0, 5), slice(0, 40))
    with h5py.File(plain, "r") as f:
        np.testing.assert_array_equal(read_chunked(f["x"], sel), x)
        assert len(preads) == 3
        assert read_chunked(f["holes"], sel) is None  # unwritten chunks: h5py fills them
        np.testing.assert_array_equal(f["holes"][2:], 7)
    preads.clear()
    with h5py.File(shifted, "r") as f:
        np.testing.assert_array_equal(read_chunked(f["x"], sel), x)
    assert preads == []  # addresses are not file offsets there: HDF5 reads


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("shuffle", [False, True])
def test_rows_of_an_uncompressed_chunk_are_read_alone(tmp_path, dtype, shuffle, monkeypatch):
    """Rows inside a chunk of an uncompressed (maybe byte-shuffled) dataset are read by
    themselves: one read per byte plane, of exactly their bytes, and the values are h5py's."""
    import os

    import sigma.io._hdf5chunks as chunks_mod

    x = np.random.default_rng(1).poisson(300, (9, 4, 6)).astype(dtype)
    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=x, chunks=(4, 4, 6), shuffle=shuffle)
    sizes = []
    real = os.preadv
    monkeypatch.setattr(chunks_mod.os, "preadv", lambda fd, bufs, at: sizes.append(
        sum(memoryview(b).nbytes for b in bufs)) or real(fd, bufs, at))
    planes = np.dtype(dtype).itemsize if shuffle else 1
    with h5py.File(p, "r") as f:
        for lo, hi in ((1, 3), (0, 1), (3, 7), (5, 9), (0, 9), (8, 9)):
            sizes.clear()
            sel = (slice(lo, hi), slice(0, 4), slice(0, 6))
            out = np.full((hi - lo, 4, 6), 99, dtype)
            np.testing.assert_array_equal(read_chunked(f["x"], sel, out), x[lo:hi])
            assert sum(sizes) == x[lo:hi].nbytes  # no byte read that is not asked for
            whole = sum(1 for c in range(0, 9, 4) if lo <= c and min(c + 4, 9) <= hi and min(c + 4, 9) - c == 4)
            parts = sum(1 for c in range(0, 9, 4) if max(lo, c) < min(hi, c + 4)) - whole
            assert len(sizes) == whole + parts * planes
        # a selection that does not span the trailing axes reads whole chunks, as before
        np.testing.assert_array_equal(read_chunked(f["x"], (slice(1, 3), slice(0, 2), slice(0, 6))), x[1:3, :2])
