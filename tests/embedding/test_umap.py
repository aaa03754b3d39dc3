"""UMAP: the tutorial call, and embed_umap's fit-on-sample + chunked transform."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sigma.embedding.umap import embed_umap, enable_umap_numba_cache, place_by_neighbours, warm_up

_spec = importlib.util.spec_from_file_location(
    "sigma_test_toydata", Path(__file__).parents[1] / "clustering" / "toydata.py"
)
toydata = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toydata)


@pytest.fixture(scope="module")
def toy():
    enable_umap_numba_cache()  # compiled code is reused across test runs
    return toydata.ToyDataset()


def _knn_accuracy(emb, labels):
    from sklearn.neighbors import KNeighborsClassifier

    keep = labels >= 0
    clf = KNeighborsClassifier(5).fit(emb[keep], labels[keep])
    return clf.score(emb[keep], labels[keep])


def test_embed_umap_separates_phases_and_is_reproducible(toy):
    x = toy.normalised_elemental_data.reshape(-1, len(toy.feature_list))
    a = embed_umap(x, random_state=0, progress=False, n_epochs=60)
    b = embed_umap(x, random_state=0, progress=False, n_epochs=60)
    assert a.shape == (1200, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert _knn_accuracy(a, toy.phase_labels.ravel()) > 0.98


def test_large_map_path_fits_a_sample_and_transforms_the_rest(toy):
    x = toy.normalised_elemental_data.reshape(-1, len(toy.feature_list))
    emb, model = embed_umap(x, random_state=1, max_fit_samples=400, chunk_size=300,
                            progress=False, n_epochs=60, return_model=True)  # fmt: skip
    assert emb.shape == (1200, 2) and np.isfinite(emb).all()
    assert model.embedding_.shape == (400, 2)
    idx = np.sort(np.random.default_rng(1).choice(1200, 400, replace=False))
    np.testing.assert_array_equal(emb[idx], model.embedding_)
    assert _knn_accuracy(emb, toy.phase_labels.ravel()) > 0.95


def test_extend_by_transform_and_by_neighbours_agree(toy):
    x = toy.normalised_elemental_data.reshape(-1, len(toy.feature_list))
    kw = dict(random_state=1, max_fit_samples=400, progress=False, n_epochs=60)
    knn = embed_umap(x, **kw)
    tr = embed_umap(x, extend="transform", **kw)
    idx = np.sort(np.random.default_rng(1).choice(1200, 400, replace=False))
    np.testing.assert_array_equal(knn[idx], tr[idx])  # same fit
    labels = toy.phase_labels.ravel()
    assert _knn_accuracy(tr, labels) > 0.95 and _knn_accuracy(knn, labels) > 0.95
    # the placed points land among their phase's fitted points
    from sklearn.neighbors import KNeighborsClassifier

    rest = np.setdiff1d(np.arange(1200), idx)
    rest = rest[labels[rest] >= 0]
    clf = KNeighborsClassifier(5).fit(knn[idx], labels[idx])
    assert clf.score(knn[rest], labels[rest]) > 0.97


def test_place_by_neighbours_weights():
    fit_x = np.array([[0.0], [1.0], [2.0], [10.0]])
    fit_emb = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [9.0, 9.0]])
    # exact hit: distance excess 0 for the nearest, the others weigh exp(-excess/mean excess)
    out = place_by_neighbours(fit_x, fit_emb, [[1.0]], n_neighbors=3, progress=False)
    w = np.exp(-np.array([0.0, 1.0, 1.0]) / (2 / 3))
    w /= w.sum()
    np.testing.assert_allclose(out[0], [w @ [1.0, 0.0, 2.0], 0.0], rtol=1e-6)
    # chunking does not change the result
    q = np.linspace(-1, 11, 50)[:, None]
    np.testing.assert_allclose(
        place_by_neighbours(fit_x, fit_emb, q, n_neighbors=2, chunk_size=7, progress=False),
        place_by_neighbours(fit_x, fit_emb, q, n_neighbors=2, progress=False),
    )
    with pytest.raises(ValueError, match="'x' parameter must be an \\(N, 1\\) array"):
        place_by_neighbours(fit_x, fit_emb, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="'fit_embedding' parameter must be one row per row"):
        place_by_neighbours(fit_x, fit_emb[:2], q)


def test_the_tutorial_call_works(toy):
    from umap import UMAP

    data = toy.normalised_elemental_data.reshape(-1, len(toy.feature_list))
    umap = UMAP(n_neighbors=15, min_dist=0.02, n_components=2, metric="euclidean", n_epochs=60)
    latent = umap.fit_transform(data)
    assert latent.shape == (1200, 2)
    assert _knn_accuracy(latent, toy.phase_labels.ravel()) > 0.98


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"X": np.full((10, 3), np.nan)}, "'X' parameter must be finite"),
        ({"X": np.zeros(10)}, r"'X' parameter must be an \(N, F\) array"),
        ({"n_neighbors": 1}, "'n_neighbors' parameter must be an int >= 2. Got 1"),
        ({"n_neighbors": 50}, "'n_neighbors' parameter must be less than the number of points"),
        ({"knn": "faiss"}, "'knn' parameter must be 'exact' or 'umap'. Got 'faiss'"),
        ({"extend": "nn"}, "'extend' parameter must be 'knn' or 'transform'. Got 'nn'"),
        ({"max_fit_samples": 5}, "'max_fit_samples' parameter must be an int >= 16. Got 5"),
    ],
)
def test_bad_inputs(kwargs, pattern):
    args = {"X": np.random.default_rng(0).normal(size=(40, 3)), **kwargs}
    with pytest.raises(ValueError, match=pattern):
        embed_umap(**args)


def test_warm_up_runs_in_the_background(toy):
    assert enable_umap_numba_cache() == 0  # already enabled by the fixture
    thread = warm_up(background=True)
    thread.join(timeout=300)
    assert not thread.is_alive() and thread.seconds > 0


@pytest.mark.slow
def test_tutorial_imports_ready_umaps_compiled_code_only_after_umap(tmp_path):
    """``from umap import UMAP`` then the tutorial's ``sigma.utils`` imports: numba's on-disk
    cache is on for umap/pynndescent and a background warm-up runs; without umap imported
    first, importing sigma.utils imports nothing of umap and starts nothing."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, threading\n"
        "first = sys.argv[1] == 'umap'\n"
        "if first:\n"
        "    from umap import UMAP\n"
        "from sigma.utils import normalisation\n"
        "import sigma.embedding.umap as su\n"
        "names = [t.name for t in threading.enumerate()]\n"
        "print('umap' in sys.modules, su._CACHE_ENABLED, 'sigma-umap-warm-up' in names)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "SIGMA_UMAP_WARMUP": "1"}
    env.pop("PYTHONWARNINGS", None)

    def run(arg, **extra):
        out = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True,
                             env={**env, **extra}, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.split()

    assert run("plain") == ["False", "False", "False"]
    assert run("umap") == ["True", "True", "True"]
    assert run("umap", SIGMA_UMAP_WARMUP="0") == ["True", "True", "False"]
