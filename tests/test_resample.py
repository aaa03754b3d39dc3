"""The one image resampler: exact nearest-centre index maps and area weights (Hypothesis)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigma._resample import nearest_index, overlap_weights, resample

sizes = st.integers(1, 300)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(n_out=sizes, n_in=sizes)
def test_nearest_index_is_the_input_pixel_containing_each_centre(n_out, n_in):
    idx = nearest_index(n_out, n_in)
    centre = [Fraction(2 * i + 1, 2 * n_out) * n_in for i in range(n_out)]  # exact
    assert all(j <= c < j + 1 for j, c in zip(idx.tolist(), centre, strict=True))
    assert idx.min() >= 0 and idx.max() < n_in and (np.diff(idx) >= 0).all()


@settings(max_examples=200, deadline=None, derandomize=True)
@given(n_out=sizes, n_in=sizes)
def test_area_weights_partition_every_pixel(n_out, n_in):
    m = overlap_weights(n_out, n_in, dtype=np.float64).toarray()
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(m.sum(axis=0), n_out / n_in, rtol=1e-12)  # every input counts alike
    assert (m >= 0).all()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(h=st.integers(1, 40), w=st.integers(1, 40), ho=st.integers(1, 40), wo=st.integers(1, 40),
       seed=st.integers(0, 2**16))
def test_area_resampling_keeps_the_mean(h, w, ho, wo, seed):
    img = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    out = resample(img, (ho, wo))
    assert out.shape == (ho, wo) and out.dtype == np.float32
    assert float(out.mean()) == pytest.approx(float(img.mean()), rel=1e-5, abs=1e-6)
    assert img.min() - 1e-6 <= out.min() and out.max() <= img.max() + 1e-6


@pytest.mark.parametrize("f", [(2, 3), (3, 5), (1, 5)])
def test_integer_shrink_is_the_block_mean(f):
    img = np.random.default_rng(0).random((12, 15))
    blocks = img.reshape(12 // f[0], f[0], 15 // f[1], f[1]).mean(axis=(1, 3))
    np.testing.assert_allclose(resample(img, blocks.shape), blocks, rtol=1e-6)
    m = overlap_weights(12 // f[0], 12, dtype=np.float64) @ img  # the matrix path agrees
    np.testing.assert_allclose(m, img.reshape(12 // f[0], f[0], 15).mean(axis=1))


def test_nearest_keeps_values_and_dtype():
    lab = np.array([[3, -1], [7, 0]], dtype=np.int16)
    out = resample(lab, (5, 3), mode="nearest")
    assert out.dtype == np.int16 and set(np.unique(out)) == {3, -1, 7, 0}
    with pytest.raises(ValueError, match="'mode' parameter must be 'area' or 'nearest'"):
        resample(lab, (2, 2), mode="cubic")
