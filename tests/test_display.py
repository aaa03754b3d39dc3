"""Cells returning the feature cube show one line, and the value still behaves as an array."""

from __future__ import annotations

import numpy as np
from IPython.lib.pretty import pretty

from sigma._display import QuietArray, quiet


def test_a_quiet_array_is_displayed_in_one_line_and_computes_as_numpy():
    base = np.random.default_rng(0).normal(size=(25, 33, 9)).astype(np.float32)
    x = quiet(base, "normalised features (z-score)")
    text = pretty(x)
    assert "\n" not in text and text.startswith("<25×33×9 float32 array: normalised features (z-score); values ")
    assert np.shares_memory(x, base) and np.array_equal(x, base)
    assert type(x.reshape(-1, 9) @ np.ones(9)) is np.ndarray
    assert type(np.asarray(x)) is np.ndarray and type(x + 1) is np.ndarray
    assert isinstance(x[0], QuietArray)  # views stay quiet


def test_the_tutorial_cells_return_quiet_cubes():
    from sigma.synthetic import tiny_dataset
    from sigma.utils import normalisation as norm

    ds = tiny_dataset()
    out = ds.normalisation([norm.zscore])
    assert isinstance(out, QuietArray) and np.array_equal(out, ds.normalised_elemental_data)
    assert type(ds.normalised_elemental_data) is np.ndarray  # the stored cube is a plain array
    out = ds.get_feature_maps_with_nav_img(normalisation=[norm.zscore])
    assert isinstance(out, QuietArray) and "\n" not in pretty(out) and "Navigator" in pretty(out)
