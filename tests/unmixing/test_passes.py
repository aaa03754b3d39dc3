"""Cluster spectra and abundances read a lazy cube once per pass, however many row blocks."""

from __future__ import annotations

import numpy as np

from sigma.unmixing import cluster_spectra, nnls_abundances


def _one_task_cube(shape, calls):
    """A lazy cube whose whole content comes from one task (like a lazy ``.bcf``, decoded in
    one go by RosettaSciIO), cut into row chunks as the readers cut it."""
    import dask
    import dask.array as da

    def decode():
        calls.append(1)
        return np.arange(np.prod(shape), dtype=np.uint64).reshape(shape) % 7

    cube = da.from_delayed(dask.delayed(decode, pure=True)(), shape=shape, dtype=np.uint64)
    return cube.rechunk((4, shape[1], shape[2]))


def test_lazy_single_source_cube_is_decoded_once_per_pass():
    shape = (128, 128, 1024)  # 128 MiB: two default row blocks, thirty-two row chunks
    calls = []
    cube = _one_task_cube(shape, calls)
    labels = (np.arange(shape[0] * shape[1]) % 3).reshape(shape[:2])
    s = cluster_spectra(cube, labels)
    assert calls == [1]  # it was decoded once per row block
    expect = np.stack([(np.arange(np.prod(shape)).reshape(-1, shape[2]) % 7)[labels.ravel() == k].sum(0)
                       for k in range(3)])
    np.testing.assert_array_equal(s, expect)
    comps = np.eye(2, shape[2])
    a = nnls_abundances(cube, comps)
    assert calls == [1, 1] and a.shape == (*shape[:2], 2)


def test_core_means_take_the_core_pixels_or_every_pixel_of_a_small_cluster():
    from sigma.unmixing.spectra import CORE_MIN_PIXELS, core_means, core_pixels

    rng = np.random.default_rng(0)
    labels = np.zeros((12, 12), dtype=int)
    labels[5:7, 5:7] = 1  # 4 pixels, no core pixel
    cube = rng.poisson(5.0, (12, 12, 16)).astype(np.uint16)
    core = core_pixels(labels)
    split = np.where(core, labels, labels + 2)
    parts = cluster_spectra(cube, split, [0, 1, 2, 3])
    n_core = np.bincount(split.ravel(), minlength=4)
    out = core_means(parts[:2], n_core[:2], parts[:2] + parts[2:], n_core[:2] + n_core[2:])
    assert n_core[0] >= CORE_MIN_PIXELS and n_core[1] == 0
    np.testing.assert_allclose(out[0], cube[core & (labels == 0)].mean(0))
    np.testing.assert_allclose(out[1], cube[labels == 1].mean(0))
