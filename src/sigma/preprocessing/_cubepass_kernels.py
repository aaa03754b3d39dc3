"""The numba kernels of :func:`sigma.preprocessing.cubepass.summarise_cube`: the fused pass
over a block (``summarise_block``) and the cut of its sparse copy (``block_csr``, behind
:func:`sigma.preprocessing.sparsecube.block_to_csr`).

In its own module, imported on first use, so that ``import sigma`` does not import numba; the
functions are defined at module level so that numba's on-disk cache (``cache=True``) keeps
their machine code: each dtype is compiled once per machine, not once per process.
"""

import numba
import numpy as np

__all__ = ["block_csr", "summarise_block"]


@numba.njit(nogil=True, cache=True, inline="always")
def pixel(blk, y, x, zero, total_from, los, his, valid_in, tot, ntot, bad, spec, wins,
          acc):  # pragma: no cover - compiled
    """One pixel: its total, finite flag and window sums; its finite values are added
    to ``acc`` (the bin's sum, or the spectrum), and taken out of ``spec`` again when
    the pixel is not valid."""
    c = blk.shape[2]
    s = zero
    sn = zero
    nonfinite = False
    for k in range(c):
        v = blk[y, x, k]
        if v - v != 0:  # NaN or inf (never true for integers)
            nonfinite = True
        else:
            s += v
            acc[k] += v
    if total_from > 0:
        for k in range(total_from, c):
            v = blk[y, x, k]
            if v - v == 0:
                sn += v
    else:
        sn = s
    tot[y, x] = s
    ntot[y, x] = sn
    bad[y, x] = nonfinite
    for j in range(los.size):
        a = zero
        for k in range(los[j], his[j]):
            v = blk[y, x, k]
            if v - v == 0:
                a += v
        wins[y, x, j] = a
    if nonfinite or not s > 0 or not valid_in[y, x]:
        for k in range(c):  # rare: leave the pixel out of the sum spectrum
            v = blk[y, x, k]
            if v - v == 0:
                spec[k] -= v

@numba.njit(nogil=True, cache=True)
def summarise_block(blk, zero, total_from, los, his, fy, fx, valid_in, tot, ntot, bad,
                    spec, wins, binned, buf, lo_lim, hi_lim):  # pragma: no cover
    h, w, c = blk.shape
    hb, wb = binned.shape[0], binned.shape[1]
    overflow = False
    for by in range(hb):  # bin by bin: the bin's sum stays in the L1 cache
        for bx in range(wb):
            buf[:] = zero
            for dy in range(fy):
                for dx in range(fx):
                    pixel(blk, by * fy + dy, bx * fx + dx, zero, total_from, los, his,
                          valid_in, tot, ntot, bad, spec, wins, buf)
            for k in range(c):
                v = buf[k]
                spec[k] += v
                if v < lo_lim or v > hi_lim:
                    overflow = True
                binned[by, bx, k] = v
    for y in range(h):  # pixels in no bin (all of them when not binning)
        for x in range(w):
            if y >= hb * fy or x >= wb * fx:
                pixel(blk, y, x, zero, total_from, los, his, valid_in, tot, ntot, bad,
                      spec, wins, spec)
    return overflow


@numba.njit(nogil=True, cache=True)
def block_csr(flat, c, idx_proto):  # pragma: no cover - compiled
    """Per pixel of a flat ``(n * c,)`` block: its non-zero count, then the channel indices
    and values of its non-zero channels in pixel order. Two branch-free passes; the outputs
    have one spare slot, written (and dropped) after the last pixel's last zero channel."""
    n = flat.size // c
    nnz = np.zeros(n, np.int32)
    total = 0
    for p in range(n):
        m = 0
        base = p * c
        for k in range(c):
            m += flat[base + k] != 0
        nnz[p] = m
        total += m
    idx = np.empty(total + 1, idx_proto.dtype)
    val = np.empty(total + 1, flat.dtype)
    j = 0
    for p in range(n):
        if nnz[p] == 0:
            continue
        base = p * c
        for k in range(c):
            v = flat[base + k]
            idx[j] = k
            val[j] = v
            j += v != 0
    return nnz, idx[:total], val[:total]
