"""The in-memory sparse copy of a lazy cube: exact counts, kept from the summary's one pass."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from sigma._errors import SigmaValueError
from sigma.preprocessing.binning import rebin_cube
from sigma.preprocessing.cubepass import summarise_cube
from sigma.preprocessing.sparsecube import SparseCounts, block_to_csr, copy_budget


@pytest.fixture
def cube():
    rng = np.random.default_rng(0)
    x = rng.poisson(0.4, (9, 7, 64)).astype(np.uint16)
    x[4, 3, 10] = 400  # one bin above 255: that block is kept in a wider dtype
    return x


def test_blocks_give_back_the_cube(cube):
    s = SparseCounts.from_blocks([block_to_csr(cube[:4]), block_to_csr(cube[4:])], cube.shape)
    assert s.nnz == np.count_nonzero(cube)
    np.testing.assert_array_equal(s[:], cube)
    np.testing.assert_array_equal(s[2:5, 1:3, 7:40], cube[2:5, 1:3, 7:40])
    np.testing.assert_array_equal(s[8:20], cube[8:])  # past the end, as NumPy slices
    np.testing.assert_array_equal(s.to_dask(limit=1000).compute(), cube)
    np.testing.assert_array_equal(s.sum_spectrum(), cube.sum((0, 1), dtype=np.float64))
    assert s.nbytes < cube.nbytes


@pytest.mark.parametrize("bin_size", [None, (2, 2), (3, 2)])
def test_summary_pass_keeps_the_analysis_counts_exactly(cube, bin_size):
    lazy = da.from_array(cube, chunks=(2, 7, 64))
    s = summarise_cube(lazy, [(3, 9)], bin_size=bin_size, sparse_limit=10**7)
    ref = cube if bin_size is None else rebin_cube(cube, bin_size)  # the partial edge dropped
    got = s.sparse.to_dask().compute()
    assert got.shape == ref.shape and got.dtype.kind == "u"
    np.testing.assert_array_equal(got, ref)
    # the rest of the summary is the summary without the copy
    plain = summarise_cube(lazy, [(3, 9)])
    np.testing.assert_array_equal(s.totals, plain.totals)
    np.testing.assert_array_equal(s.spectrum, plain.spectrum)
    np.testing.assert_array_equal(s.windows[(3, 9)], plain.windows[(3, 9)])


def test_a_copy_over_its_budget_is_not_kept(cube):
    s = summarise_cube(da.from_array(cube, chunks=(2, 7, 64)), bin_size=(2, 2), sparse_limit=200)
    assert s.sparse is None and s.binned is None


def test_no_copy_of_float_values():
    with pytest.raises(SigmaValueError, match="sparse_limit"):
        summarise_cube(np.ones((2, 2, 4), np.float32), sparse_limit=100)


def test_budget_is_a_share_of_the_cube_with_a_floor():
    assert copy_budget(16 * 2**30) == 2**30 and copy_budget(0) == 256 * 2**20


@pytest.mark.parametrize("c", [8, 16, 2048])
@pytest.mark.parametrize("density", [0.0, 0.03, 0.5, 1.0])
def test_one_byte_counts_are_cut_eight_channels_at_a_time_with_the_same_result(c, density):
    """``block_csr_bytes`` (one-byte counts, words of eight channels) gives exactly what the
    channel-by-channel kernel gives: empty pixels, full words, a last channel set, 255."""
    from sigma.preprocessing._cubepass_kernels import block_csr, block_csr_bytes

    rng = np.random.default_rng(c + int(density * 100))
    b = np.where(rng.random((3, 5, c)) < density, rng.integers(1, 256, (3, 5, c)), 0).astype(np.uint8)
    b[0, 0] = 0
    b[1, 2, -1], b[2, 4, 0] = 255, 1
    flat, proto = b.reshape(-1), np.zeros(0, np.int16)
    want = block_csr(flat, c, proto)
    got = block_csr_bytes(flat, flat.view(np.uint64), c, proto)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    for g, w in zip(block_to_csr(b), want, strict=True):  # the route block_to_csr takes
        np.testing.assert_array_equal(g, w)


def test_one_byte_counts_of_an_odd_channel_count_are_cut_channel_by_channel():
    b = np.random.default_rng(1).poisson(0.3, (2, 3, 13)).astype(np.uint8)
    s = SparseCounts.from_blocks([block_to_csr(b)], b.shape)
    np.testing.assert_array_equal(s[:], b)
