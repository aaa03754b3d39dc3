"""State files: safe (no pickle), versioned, atomic, checked against the dataset."""

from __future__ import annotations

import json
import pickle
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from sigma.clustering import FORMAT_NAME, PixelSegmenter, read_state


def _edited(ps):
    ids = ps.cluster_ids.tolist()
    ps.merge_clusters(ids[:2])
    ps.recolour([ids[2]], "#123456")
    return ps


def _assert_same(a, b):
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.labels_original, b.labels_original)
    np.testing.assert_array_equal(a.latent, b.latent)
    assert a.colors == b.colors
    np.testing.assert_array_equal(a.cluster_ids, b.cluster_ids)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_allclose(a.mu, b.mu)
    for x, y in ((a.prob_map, b.prob_map), (a.membership, b.membership)):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    assert a.edit_history == b.edit_history


@pytest.mark.parametrize("which", ["ps_gmm", "ps_hdb"])
def test_round_trip_with_tutorial_pkl_name(request, toy, tmp_path, which):
    ps = _edited(request.getfixturevalue(which))
    path = ps.save_state(tmp_path / "gmm_merged_with_bse.pkl")
    assert path.name == "gmm_merged_with_bse.pkl" and list(tmp_path.iterdir()) == [path]
    back = PixelSegmenter.from_saved_state(path, dataset=toy)
    _assert_same(ps, back)
    assert back.model is None and back.method == ps.method
    assert back.method_args == ps.method_args
    # the undo stack survives: undoing on both gives the same states
    for _ in range(2):
        ps.undo()
        back.undo()
        _assert_same(ps, back)
    assert not back.can_undo
    np.testing.assert_allclose(back.get_cluster_spectra(), ps.get_cluster_spectra())


def test_round_trip_after_create_keeps_prob_map_none_and_undo_restores_it(ps_gmm, toy, tmp_path):
    ps_gmm.create_cluster(np.arange(10))
    back = PixelSegmenter.from_saved_state(ps_gmm.save_state(tmp_path / "s.npz"), dataset=toy)
    assert back.prob_map is None
    back.undo()
    np.testing.assert_allclose(back.prob_map.sum(axis=2), 1.0, atol=1e-5)


def test_file_holds_only_plain_arrays_and_json(ps_gmm, tmp_path):
    path = _edited(ps_gmm).save_state(tmp_path / "x.pkl")
    raw = path.read_bytes()
    assert raw[:2] == b"PK"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert all(n.endswith(".npy") for n in names)
        for n in names:
            head = zf.read(n)[:128]
            assert b"'descr': '|O'" not in head and b"'descr': 'O'" not in head
    with np.load(path, allow_pickle=False) as npz:  # would raise on any object array
        meta = json.loads(npz["meta"].tobytes())
        assert npz["labels"].shape == (30, 40)
    assert meta["format"] == FORMAT_NAME and meta["version"] == 1
    assert meta["method"] == "GaussianMixture" and meta["dataset"]["shape"] == [30, 40, 5]
    assert meta["undo"][0]["op"] == "merge_clusters"
    arrays, meta2 = read_state(path)
    assert meta2 == meta and "meta" not in arrays


def test_real_pickle_is_refused(tmp_path, toy):
    p = tmp_path / "old.pkl"
    p.write_bytes(pickle.dumps({"labels": np.zeros(3)}))
    with pytest.raises(OSError, match=r"old\.pkl' is a Python pickle.*never unpickles"):
        PixelSegmenter.from_saved_state(p, dataset=toy)


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"hello world", "is not a SIGMA2 state file"),
        (b"PK\x03\x04truncated", "damaged or truncated"),
    ],
)
def test_other_bad_files(tmp_path, content, pattern):
    p = tmp_path / "bad.pkl"
    p.write_bytes(content)
    with pytest.raises(OSError, match=pattern):
        PixelSegmenter.from_saved_state(p)


def test_missing_file_and_foreign_npz(tmp_path):
    with pytest.raises(OSError, match=r"nope\.pkl' does not exist"):
        PixelSegmenter.from_saved_state(tmp_path / "nope.pkl")
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(OSError, match="no SIGMA2 PixelSegmenter metadata"):
        PixelSegmenter.from_saved_state(tmp_path / "other.npz")


def test_newer_version_is_refused(ps_gmm, tmp_path):
    from sigma.clustering import write_state

    p = write_state(tmp_path / "v9.pkl", {"a": np.arange(2)}, {"version": 9})
    with pytest.raises(OSError, match="version 9.*upgrade"):
        PixelSegmenter.from_saved_state(p)


def test_dataset_of_another_shape_or_features_is_refused(ps_gmm, toy, tmp_path):
    path = ps_gmm.save_state(tmp_path / "s.pkl")
    rebinned = SimpleNamespace(
        normalised_elemental_data=np.zeros((15, 20, 5), np.float32), feature_list=toy.feature_list
    )
    with pytest.raises(
        ValueError, match=r"saved with: shape \(30, 40, 5\).*Got .shape \(15, 20, 5\)"
    ):
        PixelSegmenter.from_saved_state(path, dataset=rebinned)
    other = SimpleNamespace(
        normalised_elemental_data=toy.normalised_elemental_data,
        feature_list=[*toy.feature_list[:-1], "Navigator"],
    )
    with pytest.raises(ValueError, match=r"saved with.*Fe_Ka.*Got.*Navigator"):
        PixelSegmenter.from_saved_state(path, dataset=other)


def test_without_dataset_edits_work_but_spectra_explain(ps_gmm, tmp_path):
    back = PixelSegmenter.from_saved_state(ps_gmm.save_state(tmp_path / "s.pkl"))
    back.merge_clusters([0, 1])
    with pytest.raises(ValueError, match="'dataset' parameter must be a dataset for spectra"):
        back.get_cluster_spectra()
    back.save_state(tmp_path / "s2.pkl")  # the saved dataset description is kept
    assert read_state(tmp_path / "s2.pkl")[1]["dataset"]["shape"] == [30, 40, 5]


def test_save_is_atomic(ps_gmm, tmp_path, monkeypatch):
    path = ps_gmm.save_state(tmp_path / "s.pkl")
    before = path.read_bytes()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    ps_gmm.merge_clusters([0, 1])
    with pytest.raises(RuntimeError, match="disk full"):
        ps_gmm.save_state(path)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]
    with pytest.raises(OSError, match="does not exist"):
        ps_gmm.save_state(tmp_path / "no" / "dir" / "s.pkl")
