"""State files: safe (no pickle), versioned, atomic, checked against the dataset."""

from __future__ import annotations

import json
import pickle
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigma.clustering import FORMAT_NAME, FORMAT_VERSION, PixelSegmenter, read_state


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
    assert meta["format"] == FORMAT_NAME and meta["version"] == FORMAT_VERSION
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


# ----------------------------------------------------------------------------- validation
def _rewrite(path, out, edit):
    """Copy a state file, changing its arrays/meta with ``edit(arrays, meta)``."""
    from sigma.clustering import write_state

    arrays, meta = read_state(path)
    edit(arrays, meta)
    for k in ("format", "version"):
        meta.pop(k)
    return write_state(out, arrays, meta)


def _set(key, value):
    def edit(arrays, meta):
        arrays[key] = value(arrays[key]) if callable(value) else value

    return edit


def _flat_set(key, pos, value, dtype=None):
    def edit(arrays, meta):
        a = arrays[key].astype(dtype or arrays[key].dtype)
        a.reshape(-1)[pos] = value
        arrays[key] = a

    return edit


@pytest.mark.parametrize(
    ("which", "edit", "pattern"),
    [
        ("ps_gmm", _flat_set("labels", 7, np.nan, np.float64), r"'labels': has dtype float64"),
        ("ps_gmm", _flat_set("labels", 7, -5), r"'labels': holds -5, below"),
        ("ps_gmm", _flat_set("labels", 7, 99), r"'labels': holds cluster id\(s\) \[99\] without a colour"),
        ("ps_gmm", _flat_set("undo_idx", 0, -1181), r"'undo_idx': holds -1181, below .* 0"),
        ("ps_gmm", _flat_set("undo_idx", 0, 1200), r"'undo_idx': holds 1200, above .* 1199"),
        ("ps_gmm", _set("proba_original", lambda a: a[:, :-1]), r"'proba_original': has shape \(1200, 5\), expected \(1200, 6\)"),
        ("ps_gmm", _flat_set("proba_original", 3, np.nan), r"'proba_original': holds NaN"),
        ("ps_gmm", _flat_set("proba_original", 3, 1.5), r"'proba_original': holds 1.5, above"),
        ("ps_gmm", _flat_set("component_map", 0, 6), r"'component_map': holds 6, above .* 5"),
        ("ps_gmm", _set("undo_offsets", lambda a: a[::-1].copy()), r"'undo_offsets': is .* monotone"),
        ("ps_gmm", _flat_set("latent", 0, np.inf), r"'latent': holds NaN or infinite"),
        ("ps_gmm", _set("latent", lambda a: a[1:]), r"'latent': has 1199 points, expected 1200"),
        ("ps_hdb", _flat_set("membership", 0, -0.5), r"'membership': holds -0.5, below"),
        ("ps_gmm", lambda a, m: m["colors"].pop("2"), r"'labels': holds cluster id\(s\) \[2\] without a colour"),
        ("ps_gmm", lambda a, m: m["colors"].update({"3": "red"}), r"'meta.colors': has '3': 'red'"),
        ("ps_gmm", lambda a, m: m.update(geometry={"original_shape": [90, 40], "bin_size": [2, 1]}),
         r"'meta.geometry': 90 scanned rows binned by 2 cannot give 30"),
    ],
)
def test_hand_edited_state_is_refused_naming_what_is_wrong(request, tmp_path, which, edit, pattern):
    ps = _edited(request.getfixturevalue(which))
    good = ps.save_state(tmp_path / "good.pkl")
    bad = _rewrite(good, tmp_path / "bad.pkl", edit)
    with pytest.raises(OSError, match=r"bad\.pkl' has an invalid " + pattern):
        PixelSegmenter.from_saved_state(bad)


def test_version_1_files_still_load(ps_gmm, toy, tmp_path):
    import json

    good = _edited(ps_gmm).save_state(tmp_path / "v2.pkl")
    arrays, meta = read_state(good)
    for k in ("format", "version", "geometry", "input"):
        meta.pop(k)
    raw = {**arrays, "meta": np.frombuffer(json.dumps({"format": FORMAT_NAME, "version": 1, **meta})
                                           .encode(), np.uint8)}  # fmt: skip
    np.savez(tmp_path / "v1.npz", **raw)
    back = PixelSegmenter.from_saved_state(tmp_path / "v1.npz", dataset=toy)
    _assert_same(ps_gmm, back)
    assert back.original_shape == (30, 40) and back.bin_size == (1, 1)


def _state_of(seed, tmp_path, name="map.hspy", copy_to=None):
    """A phantom file, its dataset and a fitted segmenter."""
    from sigma.datasets import SEMDataset
    from sigma.synthetic import make_phantom

    path = tmp_path / name
    if not path.exists():
        make_phantom((12, 16), n_channels=256, energy_scale=0.04, seed=seed).save_hspy(path)
    ds = SEMDataset(path)
    ds.set_feature_list(["Fe_Ka", "Si_Ka", "Ca_Ka"])
    x = ds.normalisation(["zscore"])
    ps = PixelSegmenter(x.reshape(-1, 3)[:, :2], ds, "Kmeans", {"n_clusters": 3, "random_state": 0})
    return ds, ps


def test_state_is_refused_for_another_file_of_the_same_shape(tmp_path, recwarn):
    import shutil
    import warnings

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ds_a, ps = _state_of(1, tmp_path / "a")
    ds_b, _ = _state_of(2, tmp_path / "b")
    path = ps.save_state(tmp_path / "a.pkl")
    assert ds_a.normalised_elemental_data.shape == ds_b.normalised_elemental_data.shape
    with pytest.raises(ValueError, match=r"allow_mismatch=True.*Got 'the input file differs"):
        PixelSegmenter.from_saved_state(path, dataset=ds_b)
    with pytest.warns(UserWarning, match="input file differs"):
        forced = PixelSegmenter.from_saved_state(path, dataset=ds_b, allow_mismatch=True)
    np.testing.assert_array_equal(forced.labels, ps.labels)
    # the same file loaded again, or a renamed copy of it, is accepted without a word
    shutil.copy(tmp_path / "a" / "map.hspy", tmp_path / "copy.hspy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for again in (_state_of(1, tmp_path / "a")[0], _state_of(1, tmp_path, "copy.hspy")[0]):
            back = PixelSegmenter.from_saved_state(path, dataset=again)
            np.testing.assert_array_equal(back.labels, ps.labels)
            np.testing.assert_allclose(back.feature_means, ps.feature_means)


def test_in_memory_dataset_of_other_counts_is_refused(tmp_path):
    from sigma.synthetic.examples import tiny_dataset

    a, b = tiny_dataset((8, 8), seed=1), tiny_dataset((8, 8), seed=2)
    for ds in (a, b):
        ds.normalisation(["zscore"])
    ps = PixelSegmenter(a.normalised_elemental_data.reshape(-1, 3)[:, :2], a, "Kmeans",
                        {"n_clusters": 2, "random_state": 0})
    path = ps.save_state(tmp_path / "s.npz")
    with pytest.raises(ValueError, match="counts of the input differ"):
        PixelSegmenter.from_saved_state(path, dataset=b)
    assert read_state(path)[1]["input"]["counts"]["shape"] == [8, 8, 256]


# ----------------------------------------------------------------------------- properties
_EDITS = st.lists(
    st.tuples(st.sampled_from(["merge", "create", "recolour", "undo", "reset"]),
              st.integers(0, 2**16)),
    max_size=6,
)


def _apply(ps, edits):
    for op, seed in edits:
        rng = np.random.default_rng(seed)
        ids = ps.cluster_ids.tolist()
        if op == "merge" and len(ids) >= 2:
            ps.merge_clusters(rng.choice(ids, 2, replace=False).tolist())
        elif op == "create":
            ps.create_cluster(rng.random(ps.n_pixels) < 0.1 + 0.01, include_noise=bool(seed % 2))
        elif op == "recolour" and ids:
            ps.recolour([int(rng.choice(ids))], "#%06x" % (seed * 97 % 0xFFFFFF))
        elif op == "undo":
            ps.undo()
        elif op == "reset":
            ps.reset()
    return ps


def _corruptions(arrays, meta):
    """(array key, what, function) for every way to make one array invalid."""
    n = int(np.prod(meta["shape"]))
    k = int(meta["n_components_fit"])
    top = max(int(c) for c in meta["colors"]) + 1
    out = []

    def at(key, value, dtype=None):
        def f(a):
            a = a.astype(dtype or a.dtype)
            a.reshape(-1)[0] = value
            return a
        return f

    def grow(a):
        return np.concatenate([a.ravel(), a.ravel()[:1] if a.size else np.zeros(1, a.dtype)])

    for key, a in arrays.items():
        out.append((key, "shape", grow))
        if key == "latent":
            out += [(key, "nan", at(key, np.nan, np.float64)), (key, "bool", lambda a: a > 0)]
        elif key in ("labels", "labels_original"):
            top_k = top if key == "labels" else max(int(c) for c in meta["colors_original"]) + 1
            out += [(key, "below -1", at(key, -2)), (key, "no colour", at(key, top_k)),
                    (key, "float", at(key, np.nan, np.float64))]
        elif key == "undo_offsets":
            out += [(key, "start", at(key, 1))]
        elif a.size and key == "undo_idx":
            out += [(key, "negative", at(key, -1)), (key, "beyond", at(key, n))]
        elif a.size and key == "undo_old":
            out += [(key, "below -1", at(key, -2))]
        elif key in ("proba_original", "membership"):
            out += [(key, "nan", at(key, np.nan)), (key, "above 1", at(key, 1.5)),
                    (key, "negative", at(key, -0.25))]
        elif a.size and key in ("component_map", "component_map_original", "undo_maps"):
            out += [(key, "beyond", at(key, k)), (key, "negative", at(key, -1))]
    return out


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["_ps_gmm", "_ps_hdb"]), edits=_EDITS)
def test_state_round_trips_and_rejects_any_single_corrupted_array(request, which, edits):
    import tempfile
    from pathlib import Path

    ps = _apply(request.getfixturevalue(which).copy(), edits)
    with tempfile.TemporaryDirectory() as tmp:
        path = ps.save_state(Path(tmp) / "s.pkl")
        back = PixelSegmenter.from_saved_state(path)
        _assert_same(ps, back)
        arrays, meta = read_state(path)
        for key, what, corrupt in _corruptions(arrays, meta):  # each alone, every one
            bad = _rewrite(path, Path(tmp) / "bad.pkl", _set(key, corrupt))
            with pytest.raises(OSError, match=r"bad\.pkl' has an invalid '") as err:
                PixelSegmenter.from_saved_state(bad)
            assert key in str(err.value) or "undo" in str(err.value), (key, what, err.value)
