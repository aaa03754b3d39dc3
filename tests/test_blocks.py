"""The one block/chunk utility (sigma._blocks)."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from sigma._blocks import get_chunking, map_row_blocks, row_blocks


def test_get_chunking_rows_are_aligned_and_bounded():
    chunks = get_chunking((768, 1024, 2048), np.uint16, limit=64 * 2**20, align=8)
    assert chunks[1:] == ((1024,), (2048,))
    rows = chunks[0]
    assert sum(rows) == 768 and all(r % 8 == 0 for r in rows)
    assert max(rows) * 1024 * 2048 * 2 <= 64 * 2**20
    # a file chunk larger than the limit: blocks of one file chunk
    assert set(get_chunking((768, 1024, 2048), np.uint16, limit=64 * 2**20, align=32)[0]) == {32}
    # a block never holds fewer rows than the alignment, nor more than the map
    assert get_chunking((10, 4, 4), np.uint8, limit=1, align=3)[0] == (3, 3, 3, 1)
    assert get_chunking((5, 4, 4), np.uint8, limit=10**9, align=2)[0] == (5,)  # one block: nothing to align


def test_row_blocks_keep_dask_chunks_whole_and_respect_alignment():
    x = da.zeros((30, 40, 100), chunks=(7, 40, 100), dtype=np.uint16)
    blocks = row_blocks(x, limit=40 * 100 * 2 * 10)
    assert blocks == [(0, 14), (14, 28), (28, 30)]
    aligned = row_blocks(x, limit=1, align=4)
    assert all(b % 4 == 0 for _, b in aligned[:-1]) and aligned[-1][1] == 30
    edges = {b for _, b in aligned}
    assert edges <= {7 * k for k in range(5)} | {30}  # only chunk boundaries


@pytest.mark.parametrize("lazy", [False, True])
def test_map_row_blocks_covers_every_row_once_in_order(lazy):
    x = np.arange(23 * 3 * 5).reshape(23, 3, 5)
    data = da.from_array(x, chunks=(4, 3, 5)) if lazy else x
    parts = map_row_blocks(lambda b, r0, r1: (r0, r1, b.copy()), data, limit=3 * 5 * 8 * 6)
    assert parts[0][0] == 0 and parts[-1][1] == 23
    assert all(a[1] == b[0] for a, b in zip(parts[:-1], parts[1:], strict=True))
    np.testing.assert_array_equal(np.concatenate([p[2] for p in parts]), x)


class _Rows:
    """A row source over a NumPy cube that records its reads and the buffers it fills."""

    def __init__(self, cube):
        self.cube, self.shape, self.dtype, self.reads, self.buffers = cube, cube.shape, cube.dtype, [], set()

    def read_rows(self, r0, r1, out, scratch=None):
        self.reads.append((r0, r1))
        self.buffers.add(out.__array_interface__["data"][0])
        out[...] = self.cube[r0:r1]
        return out


def test_a_registered_row_source_is_read_into_reused_buffers():
    import dask.array as da

    from sigma._blocks import map_row_blocks, register_row_source

    cube = np.arange(12 * 3 * 4, dtype=np.uint16).reshape(12, 3, 4)
    src = _Rows(cube)
    arr = da.from_array(cube, chunks=(2, 3, 4))
    register_row_source(arr, src)
    got = map_row_blocks(lambda b, r0, r1: (r0, r1, int(b.sum())), arr, limit=48, progress=False)
    assert got == [(r0, r0 + 2, int(cube[r0:r0 + 2].sum())) for r0 in range(0, 12, 2)]
    assert sorted(src.reads) == [(r, r + 2) for r in range(0, 12, 2)]
    assert len(src.buffers) <= 2  # one buffer per thread, reused block after block
    derived = arr + 1  # anything computed from it goes through dask
    assert map_row_blocks(lambda b, r0, r1: int(b.sum()), derived, limit=48)[0] == int(cube[:2].sum()) + 24
    assert len(src.reads) == 6
