"""The tutorial notebooks run top to bottom, headless, in a fresh kernel of this venv.

The SEM tutorial once on the built-in demo phantom (the notebook as shipped) and once on a real
Bruker ``.bcf``; the TEM tutorial on the two real STEM files (a Bruker ``.bcf`` and a HyperSpy
``.hspy``). Only the ``file_path = demo_path(...)`` line is rewritten; each run has its own
temporary folder. A cell appended by the test reports the kernel-side results as JSON, and the
files the notebook writes (state file, cluster masks, upscaled masks) are checked on disk.

The two runs execute at the same time, in two kernels (one per core): most of their time is
single-threaded numba compilation in umap-learn. For the time budget only, the autoencoder's
``num_epochs=50`` is rewritten to ``num_epochs=3`` (``CI_EPOCHS``); every other line is the
notebook's own.

No browser is involved: this checks the Python half of every GUI function (the widgets are
built, their figures drawn); ``test_browser.py`` drives the widgets in JupyterLab.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import nbformat
import numpy as np
import pytest
from _jupyter import SEM_TUTORIAL, TEM_TUTORIAL, cell_errors, execute_notebook, prepare_notebook

REAL_SEM_BCF = "bcf/P45_12bit_packed_8bit.bcf"
REAL_TEM_FILES = {"tem_bcf": "bcf/test_TEM.bcf", "tem_hspy": "hspy/core_shell.hspy"}
#: Epochs of the autoencoder in these runs (the notebook says 50).
CI_EPOCHS = 3

#: Appended to the notebook: what the tutorial computed, as one JSON line.
REPORT_CELL = """\
import json as _json, numpy as _np
_report = {
    "nav_shape": list(_np.shape(sem.analysis_nav_img)),
    "feature_list": list(sem.feature_list),
    "latent_shape": list(_np.shape(latent)),
    "gmm_labels_shape": list(_np.shape(ps_gmm.labels)),
    "gmm_labels_dtype": str(_np.asarray(ps_gmm.labels).dtype),
    "gmm_cluster_ids": [int(i) for i in ps_gmm.cluster_ids],
    "gmm_counts_sum": int(_np.sum(ps_gmm.counts)),
    "hdb_labels_shape": list(_np.shape(ps_hdb.labels)),
    "hdb_cluster_ids": [int(i) for i in ps_hdb.cluster_ids],
    "loaded_equal": bool(_np.array_equal(ps_loaded.labels, ps_gmm.labels)),
    "weights_shape": list(_np.shape(weights)),
    "components_shape": list(_np.shape(components)),
    "components_guessed_shape": list(_np.shape(components_guessed)),
    "high_res_shape": list(__import__("tifffile").imread(high_res_image).shape),
    "both_shape": list(_np.shape(data_both)),
    "both_names": sem.normalised_feature_names("both", 8),
    "auto_n_phases": int(ps_auto.n_components_evidence.n_components),
    "auto_n_clusters": int(ps_auto.n_clusters),
    "auto_names": {str(k): v for k, v in ps_auto.cluster_names.items()},
    "auto_cluster_ids": [int(i) for i in ps_auto.cluster_ids],
    "modal_area_sum": float(sum(r["area_percent"] for r in modal.table())),
}
print("SIGMA_REPORT " + _json.dumps(_report))
"""


@pytest.fixture(scope="session")
def venv_kernel():
    """A ``python3`` kernelspec that starts this interpreter (installed into the venv if not)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ok = {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
    ok.add(sys.executable)
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        fine = spec.argv[0] in ok
    except NoSuchKernel:
        fine = False
    if not fine:
        import subprocess

        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
            check=True,
            capture_output=True,
        )
        spec = KernelSpecManager().get_kernel_spec("python3")
    return spec


#: Appended to the TEM notebook.
TEM_REPORT_CELL = """\
import json as _json, numpy as _np
_report = {
    "dataset_class": type(tem).__name__,
    "loaded_class": type(tem_loaded).__name__,
    "signal_type": tem.spectra.metadata.Signal.signal_type,
    "nav_title": tem.nav_img.metadata.General.title,
    "nav_shape": list(_np.shape(tem.analysis_nav_img)),
    "feature_list": list(tem.feature_list),
    "gmm_cluster_ids": [int(i) for i in ps_gmm.cluster_ids],
    "gmm_counts_sum": int(_np.sum(ps_gmm.counts)),
    "loaded_equal": bool(_np.array_equal(ps_loaded.labels, ps_gmm.labels)),
    "components_shape": list(_np.shape(components)),
    "components_guessed_shape": list(_np.shape(components_guessed)),
    "auto_names": {str(k): v for k, v in ps_auto.cluster_names.items()},
    "auto_cluster_ids": [int(i) for i in ps_auto.cluster_ids],
}
print("SIGMA_REPORT " + _json.dumps(_report))
"""


def _run_tutorial(tmp_path, data_path=None, notebook=SEM_TUTORIAL, report=REPORT_CELL):
    nb_path = tmp_path / notebook.name
    nb = prepare_notebook(
        notebook,
        nb_path,
        data_path=data_path,
        replace={"ex.run_model(num_epochs=50,": f"ex.run_model(num_epochs={CI_EPOCHS},"},
    )
    nb.cells.append(nbformat.v4.new_code_cell(report))
    nbformat.write(nb, nb_path)
    t0 = time.monotonic()
    nb = execute_notebook(nb_path, cell_timeout=240)
    took = time.monotonic() - t0
    assert not cell_errors(nb), cell_errors(nb)
    assert f"num_epochs={CI_EPOCHS}," in "".join(c.source for c in nb.cells)
    text = "".join(
        o.get("text", "")
        for o in nb.cells[-1].outputs
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )
    line = [ln for ln in text.splitlines() if ln.startswith("SIGMA_REPORT ")]
    assert line, f"the report cell printed nothing: {nb.cells[-1].outputs}"
    return nb, json.loads(line[0].split(" ", 1)[1]), took


def _check_cells_ran(nb):
    """Every code cell ran, in order, and every GUI call showed a widget; returns the code cells."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    gui_cells = [c for c in code if c.source.lstrip().startswith("gui.")]
    assert len(gui_cells) >= 12
    for c in gui_cells:
        mimes = {k for o in c.outputs for k in o.get("data", {})}
        assert "application/vnd.jupyter.widget-view+json" in mimes, c.source
    return code


def _check_outputs(tmp_path, nb, rep):
    import tifffile

    h, w = rep["nav_shape"]
    _check_cells_ran(nb)

    # labels: one shape, (H, W) ints, every pixel counted once
    assert rep["gmm_labels_shape"] == [h, w] == rep["hdb_labels_shape"]
    assert rep["gmm_labels_dtype"].startswith("int")
    assert rep["latent_shape"] == [h * w, 2]
    assert rep["gmm_counts_sum"] + 0 <= h * w
    n_gmm = len(rep["gmm_cluster_ids"])
    assert 2 <= n_gmm <= 50
    assert rep["loaded_equal"], "the state file did not restore the labels"
    assert "BSE" in " ".join(rep["feature_list"]) or len(rep["feature_list"]) >= 2

    # whole-spectrum features beside the line maps, and the number of phases from the counts
    assert rep["both_shape"] == [h, w, len(rep["feature_list"]) + 8]
    assert rep["both_names"] == rep["feature_list"] + [f"PC{i}" for i in range(1, 9)]
    assert 2 <= rep["auto_n_phases"] == rep["auto_n_clusters"] <= 20

    # every automatic phase named (a library name, "unknown (…)" or "insufficient counts"),
    # the modal areas of the named clusters, and one EMSA file per cluster
    assert sorted(map(int, rep["auto_names"])) == rep["auto_cluster_ids"]
    assert all(name.strip() for name in rep["auto_names"].values())
    assert 0 < rep["modal_area_sum"] <= 100.0 + 1e-6
    msa = sorted((tmp_path / "phase_spectra").glob("cluster_*.msa"))
    assert len(msa) == len(rep["auto_cluster_ids"])

    # files the notebook writes
    assert (tmp_path / "gmm_merged_with_bse.pkl").is_file()
    masks = sorted((tmp_path / "cluster_masks").glob("*.tif*"))
    assert len(masks) == n_gmm, [m.name for m in masks]
    m0 = tifffile.imread(masks[0])
    assert m0.shape == (h, w)
    assert set(np.unique(m0).tolist()) <= {0, 1, 255}
    total = sum((tifffile.imread(m) > 0).sum() for m in masks)
    assert total == rep["gmm_counts_sum"], "masks must partition the clustered pixels"
    hi = sorted((tmp_path / "high_res_cluster_masks").glob("*.tif*"))
    assert hi and tifffile.imread(hi[0]).shape == tuple(rep["high_res_shape"])

    # NMF
    k = rep["weights_shape"]
    assert rep["components_shape"][0] == 4 and k[-1] == 4
    assert rep["components_guessed_shape"][0] == 3


@pytest.fixture(scope="module")
def tutorial_runs(tmp_path_factory, venv_kernel, real_dir):
    """All runs, two at a time; each entry is ``(folder, notebook, report, seconds)`` or the error."""
    jobs = {"demo": (None, SEM_TUTORIAL, REPORT_CELL), "bcf": (real_dir / REAL_SEM_BCF, SEM_TUTORIAL, REPORT_CELL)}
    jobs.update({k: (real_dir / v, TEM_TUTORIAL, TEM_REPORT_CELL) for k, v in REAL_TEM_FILES.items()})
    dirs = {k: tmp_path_factory.mktemp(f"tutorial-{k}") for k in jobs}
    with ThreadPoolExecutor(2) as pool:
        futures = {k: pool.submit(_run_tutorial, dirs[k], *v) for k, v in jobs.items()}
        results = {}
        for k, f in futures.items():
            try:
                results[k] = (dirs[k], *f.result())
            except Exception as exc:  # reported by the test of that run
                results[k] = exc
    return results


def _result(tutorial_runs, key):
    res = tutorial_runs[key]
    if isinstance(res, Exception):
        raise res
    return res


@pytest.mark.slow
@pytest.mark.timeout(900)  # the fixture runs the four notebooks, two at a time (about 4 min)
def test_tutorial_runs_on_demo_phantom(tutorial_runs):
    folder, nb, rep, took = _result(tutorial_runs, "demo")
    _check_outputs(folder, nb, rep)
    # the demo phantom, 192 x 256 pixels binned 3 x 3
    assert rep["nav_shape"] == [64, 85]
    assert len(rep["gmm_cluster_ids"]) == 50
    print(f"demo phantom: {took:.1f} s")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_tutorial_runs_on_real_bcf(tutorial_runs):
    folder, nb, rep, took = _result(tutorial_runs, "bcf")
    _check_outputs(folder, nb, rep)
    # P45: 75 x 100 pixels binned 3 x 3
    assert rep["nav_shape"] == [25, 33]
    print(f"{REAL_SEM_BCF}: {took:.1f} s")


def _check_tem(folder, nb, rep):
    import tifffile

    h, w = rep["nav_shape"]
    code = _check_cells_ran(nb)
    # a TEM dataset throughout, the reload included
    assert rep["dataset_class"] == rep["loaded_class"] == "TEMDataset"
    assert rep["signal_type"] == "EDS_TEM"
    assert not {"Cu_Ka", "Cu_La"} & set(rep["feature_list"]), "grid lines must be left out"
    assert rep["feature_list"][-1] == "Navigator"
    assert rep["loaded_equal"]
    assert 2 <= len(rep["gmm_cluster_ids"]) <= 10
    masks = sorted((folder / "cluster_masks").glob("*.tif*"))
    assert len(masks) == len(rep["gmm_cluster_ids"])
    assert tifffile.imread(masks[0]).shape == (h, w)
    assert rep["components_shape"][0] == 3 and rep["components_guessed_shape"][0] == 3
    # the automatic phases are named with the TEM settings (Cu of the grid, C of the film as nuisance)
    assert sorted(map(int, rep["auto_names"])) == rep["auto_cluster_ids"]
    assert all(name.strip() for name in rep["auto_names"].values())
    # the cells returning the feature cube show one line, not pages of numbers
    for c in code:
        if "normalisation(" in c.source and "=" not in c.source.splitlines()[-1]:
            for o in c.outputs:
                text = o.get("data", {}).get("text/plain", "")
                assert text.count("\n") == 0, (c.source, text[:200])


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_tem_tutorial_runs_on_the_real_tem_bcf(tutorial_runs):
    folder, nb, rep, took = _result(tutorial_runs, "tem_bcf")
    _check_tem(folder, nb, rep)
    assert rep["nav_title"] == "HAADF" and rep["nav_shape"] == [32, 32]  # 64 x 64 binned 2 x 2
    assert rep["feature_list"] == ["O_Ka", "Pd_La", "Ti_Ka", "Navigator"]
    print(f"{REAL_TEM_FILES['tem_bcf']}: {took:.1f} s")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_tem_tutorial_runs_on_the_real_tem_hspy(tutorial_runs):
    folder, nb, rep, took = _result(tutorial_runs, "tem_hspy")
    _check_tem(folder, nb, rep)
    assert rep["nav_shape"] == [32, 32]
    assert rep["feature_list"] == ["Fe_Ka", "Pt_La", "Navigator"]
    print(f"{REAL_TEM_FILES['tem_hspy']}: {took:.1f} s")


def _code_cells(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("notebook, cls", [(SEM_TUTORIAL, "SEMDataset"), (TEM_TUTORIAL, "TEMDataset")])
def test_the_reload_cell_uses_the_load_cells_dataset_class(notebook, cls):
    import re

    loads = [m for src in _code_cells(notebook) for m in re.findall(r"=\s*(\w+Dataset)\(file_path\)", src)]
    assert loads == [cls, cls], loads


def test_the_high_resolution_mask_cell_refuses_an_image_of_another_shape(tmp_path):
    """The SEM tutorial's upscaled-mask cell, run on a map and an image of the wrong shape."""
    import tifffile

    from sigma._errors import SigmaError
    from sigma.synthetic import tiny_segmenter

    cell = next(s for s in _code_cells(SEM_TUTORIAL) if "high_res_path=high_res_image" in s)
    _, ps = tiny_segmenter((12, 16))
    wrong = tmp_path / "square.tif"
    tifffile.imwrite(wrong, np.zeros((64, 64), np.uint8))
    right = tmp_path / "right.tif"
    tifffile.imwrite(right, np.zeros((48, 64), np.uint8))
    for image, ok in ((wrong, False), (right, True)):
        ns = {"ps_hdb": ps}
        code = cell.replace("high_res_image = demo_high_res_path()", f"high_res_image = {str(image)!r}")
        code = code.replace("output_dir='high_res_cluster_masks'", f"output_dir={str(tmp_path / image.stem)!r}")
        if ok:
            exec(code, ns)  # noqa: S102 - the notebook's own cell
            assert len(list((tmp_path / image.stem).glob("*.tif*"))) == ps.n_clusters
        else:
            with pytest.raises(SigmaError, match=r"square.tif of 64 x 64 pixels \(aspect 1.0000\)"):
                exec(code, ns)  # noqa: S102
            assert not (tmp_path / image.stem).exists()
