"""Mask export: nearest-neighbour index mapping, exact areas, no shift, TIFF output."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from sigma.clustering import read_image_shape, upscale_labels
from sigma.clustering.masks import MANIFEST


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
        [p.name for p in paths] + [MANIFEST]
    )  # no temp files left
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


# ----------------------------------------------------------------------------- scanned geometry
def _scanned_label(labels, hr_shape, original_shape, bin_size):
    """Reference: each high-res pixel's scanned pixel (centre rule), then its bin, by loops."""
    (hh, wh), (h0, w0), (by, bx) = hr_shape, original_shape, bin_size
    h, w = labels.shape
    out = np.empty(hr_shape, int)
    for i in range(hh):
        r = int((i + 0.5) * h0 / hh)
        for j in range(wh):
            c = int((j + 0.5) * w0 / wh)
            out[i, j] = labels[r // by, c // bx] if r // by < h and c // bx < w else -1
    return out


@pytest.fixture(scope="module")
def binned_31x37():
    """A 31 x 37 phantom binned 3 x 3 (10 x 12 labels: the last row and column dropped)."""
    from sigma.clustering import PixelSegmenter
    from sigma.synthetic.examples import tiny_dataset

    ds = tiny_dataset((31, 37))
    ds.rebin_signal(size=(3, 3))
    x = ds.normalisation(["zscore"])
    ps = PixelSegmenter(x.reshape(-1, 3)[:, :2], ds, "Kmeans", {"n_clusters": 3, "random_state": 0})
    return ds, ps


def test_segmenter_records_the_scanned_shape_and_bin_size(binned_31x37):
    ds, ps = binned_31x37
    assert ps.labels.shape == (10, 12)  # this binning drops the partial edge block
    assert ps.original_shape == (31, 37) and ps.bin_size == (3, 3)


def test_masks_of_a_binned_map_follow_the_bins_and_leave_the_dropped_edge_out(
    binned_31x37, tmp_path
):
    _, ps = binned_31x37
    hr = tmp_path / "high_res_image.tif"
    tifffile.imwrite(hr, np.zeros((310, 370), np.uint8))  # the scanned field, 10 x finer
    paths = ps.export_cluster_masks(tmp_path / "m", high_res_path=hr)
    expected = _scanned_label(ps.labels, (310, 370), (31, 37), (3, 3))
    assert (expected == -1).sum() == 310 * 370 - 300 * 360  # row 30 and column 36
    stack = np.stack([tifffile.imread(p) == 255 for p in paths])
    assert stack.sum(axis=0).max() == 1  # no pixel in two masks
    for m, cid in zip(stack, ps.cluster_ids, strict=True):
        np.testing.assert_array_equal(m, expected == cid)
    assert not stack[:, 300:, :].any() and not stack[:, :, 360:].any()


def test_padded_edge_labels_cover_the_whole_map():
    lab = np.arange(11 * 13).reshape(11, 13)  # ceil(31 / 3) x ceil(37 / 3): edge padded
    up = upscale_labels(lab, (62, 74), original_shape=(31, 37), bin_size=(3, 3))
    np.testing.assert_array_equal(up, _scanned_label(lab, (62, 74), (31, 37), (3, 3)))
    assert (up >= 0).all() and up[-1, -1] == lab[-1, -1]
    with pytest.raises(ValueError, match=r"10 \(partial edge dropped\) or 11 \(partial edge"):
        upscale_labels(lab[:9], (62, 74), original_shape=(31, 37), bin_size=(3, 3))


def test_image_of_another_aspect_ratio_is_refused(binned_31x37, tmp_path):
    _, ps = binned_31x37
    hr = tmp_path / "with_databar.tif"
    tifffile.imwrite(hr, np.zeros((350, 370), np.uint8))  # 40 rows of data bar
    with pytest.raises(ValueError, match=r"'high_res_path' parameter must be an image of the "
                       r"map's field of view, 31 x 37 .*with_databar\.tif of 350 x 370"):
        ps.export_cluster_masks(tmp_path / "m", high_res_path=hr)
    assert not (tmp_path / "m").exists()
    ok = tmp_path / "rounded.tif"
    tifffile.imwrite(ok, np.zeros((47, 56), np.uint8))  # 1.5 x, sizes rounded to pixels
    assert len(ps.export_cluster_masks(tmp_path / "m", high_res_path=ok)) == ps.n_clusters


def test_reexport_removes_stale_masks_but_nothing_it_did_not_write(ps_gmm, tmp_path, caplog):
    out = tmp_path / "cluster_masks"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    first = ps_gmm.export_cluster_masks(out)
    ids = ps_gmm.cluster_ids.tolist()
    assert len(first) == len(ids) >= 4
    user_edit = out / f"cluster_{ids[-1]}.tiff"
    tifffile.imwrite(user_edit, np.full((30, 40), 255, np.uint8))  # the user changed it
    ps_gmm.merge_clusters(ids)  # one cluster left
    with caplog.at_level("WARNING", logger="sigma._files"):
        second = ps_gmm.export_cluster_masks(out)
    assert [p.name for p in second] == [f"cluster_{ids[0]}.tiff"]
    left = sorted(p.name for p in out.iterdir())
    assert left == sorted([f"cluster_{ids[0]}.tiff", user_edit.name, "notes.txt", MANIFEST])
    assert "left" in caplog.text and user_edit.name in caplog.text
    np.testing.assert_array_equal(tifffile.imread(second[0]) == 255, ps_gmm.labels == ids[0])
    # a file of a mask's name that SIGMA2 did not write is never overwritten
    ps_gmm.undo()
    with pytest.raises(OSError, match=rf"{user_edit.name}' already exists and was not written by SIGMA2"):
        ps_gmm.export_cluster_masks(out)
    assert tifffile.imread(user_edit).min() == 255
    assert not (out / f"cluster_{ids[1]}.tiff").exists()  # refused before writing anything


def test_mask_export_has_no_scikit_image_dependency(monkeypatch):
    import sys

    from sigma.io._common import fit_image_to_grid

    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.transform", None)
    img = np.arange(35.0).reshape(5, 7)
    out = fit_image_to_grid(img, (2, 3))
    assert out.shape == (2, 3) and out.mean() == pytest.approx(img.mean())
    np.testing.assert_allclose(fit_image_to_grid(np.ones((6, 9)), (2, 3)), 1.0)


@st.composite
def _geometry(draw):
    h0, w0 = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    by, bx = draw(st.integers(1, min(5, h0))), draw(st.integers(1, min(5, w0)))
    padded = draw(st.booleans())
    h = -(-h0 // by) if padded else h0 // by
    w = -(-w0 // bx) if padded else w0 // bx
    scale = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.7, 4.0]))
    hr = (max(1, round(h0 * scale)), max(1, round(w0 * scale)))
    labels = draw(st.lists(st.integers(-1, 4), min_size=h * w, max_size=h * w))
    return np.array(labels).reshape(h, w), (h0, w0), (by, bx), hr


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_geometry())
def test_every_pixel_lands_in_exactly_the_mask_of_its_bin(geo):
    labels, original, bins, hr = geo
    up = upscale_labels(labels, hr, original_shape=original, bin_size=bins)  # sizes rounded: OK
    masks = np.stack([up == cid for cid in range(5)])
    assert (masks.sum(axis=0) + (up == -1) == 1).all()  # one mask, or unassigned
    np.testing.assert_array_equal(up, _scanned_label(labels, hr, original, bins))
    # seen from the map: all high-res pixels of one scanned pixel share its bin's label
    rows = (np.arange(hr[0]) + 0.5) * original[0] // hr[0]
    cols = (np.arange(hr[1]) + 0.5) * original[1] // hr[1]
    by, bx = bins
    for r in np.unique(rows).astype(int)[:: max(1, original[0] // 6)]:
        for c in np.unique(cols).astype(int)[:: max(1, original[1] // 6)]:
            block = up[np.ix_(rows == r, cols == c)]
            inside = r // by < labels.shape[0] and c // bx < labels.shape[1]
            assert (block == (labels[r // by, c // bx] if inside else -1)).all()
