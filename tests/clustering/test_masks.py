"""Mask export: nearest-neighbour index mapping, exact areas, no shift, TIFF output."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from sigma.clustering import read_image_shape, upscale_labels


@pytest.mark.parametrize("s", [1, 2, 3, 5])
def test_integer_factor_preserves_areas_and_positions(s):
    rng = np.random.default_rng(s)
    lab = rng.integers(-1, 5, size=(30, 40))
    up = upscale_labels(lab, (30 * s, 40 * s))
    np.testing.assert_array_equal(up, np.kron(lab, np.ones((s, s), int)))
    for cid in range(-1, 5):
        assert (up == cid).sum() == (lab == cid).sum() * s * s
    # centre of mass of every region scales exactly (no half-pixel shift)
    for cid in range(5):
        r, c = np.nonzero(lab == cid)
        ru, cu = np.nonzero(up == cid)
        assert ru.mean() + 0.5 == pytest.approx((r.mean() + 0.5) * s)
        assert cu.mean() + 0.5 == pytest.approx((c.mean() + 0.5) * s)


def test_non_integer_factor_takes_the_pixel_containing_each_centre():
    lab = np.arange(12).reshape(3, 4)
    up = upscale_labels(lab, (7, 10))
    for i in range(7):
        for j in range(10):
            yi, xj = (i + 0.5) * 3 / 7, (j + 0.5) * 4 / 10
            assert up[i, j] == lab[int(yi), int(xj)]


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"'shape' parameter .*Got \(0, 3\)"):
        upscale_labels(np.zeros((2, 2)), (0, 3))
    with pytest.raises(ValueError, match="'labels' parameter must be a 2-D"):
        upscale_labels(np.zeros(4), (2, 2))


def test_export_at_map_resolution(ps_hdb, tmp_path):
    paths = ps_hdb.export_cluster_masks(output_dir=tmp_path / "cluster_masks")
    ids = ps_hdb.cluster_ids
    assert [p.name for p in paths] == [f"cluster_{i}.tiff" for i in ids]
    assert sorted(p.name for p in (tmp_path / "cluster_masks").iterdir()) == sorted(
        [".sigma2-files.json", *(p.name for p in paths)]
    )  # no temp files left; the ledger of what SIGMA2 wrote
    for p, cid in zip(paths, ids, strict=True):
        m = tifffile.imread(p)
        assert m.dtype == np.uint8 and set(np.unique(m)) <= {0, 255}
        np.testing.assert_array_equal(m == 255, ps_hdb.labels == cid)


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_export_upscaled_to_high_res_image(ps_gmm, tmp_path, suffix):
    hr = tmp_path / f"high_res_image{suffix}"
    if suffix == ".tif":
        tifffile.imwrite(hr, np.zeros((90, 120, 3), np.uint8), photometric="rgb")
    else:
        Image.fromarray(np.zeros((90, 120), np.uint8)).save(hr)
    assert read_image_shape(hr) == (90, 120)
    paths = ps_gmm.export_cluster_masks(output_dir=tmp_path / "hr", high_res_path=hr)
    for p, cid, n in zip(paths, ps_gmm.cluster_ids, ps_gmm.counts, strict=True):
        m = tifffile.imread(p)
        assert m.shape == (90, 120)
        assert (m == 255).sum() == n * 9
        np.testing.assert_array_equal(m[1::3, 1::3] == 255, ps_gmm.labels == cid)


def test_missing_or_unreadable_high_res_image(ps_gmm, tmp_path):
    with pytest.raises(OSError, match=r"high_res_image\.tif' does not exist"):
        ps_gmm.export_cluster_masks(tmp_path / "m", high_res_path=tmp_path / "high_res_image.tif")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(OSError, match=r"bad\.png' could not be read as an image"):
        ps_gmm.export_cluster_masks(tmp_path / "m", high_res_path=bad)
