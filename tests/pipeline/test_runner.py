"""End-to-end runs: demo outputs, run.json, state reload, batches, shared phases, dask."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from sigma.cli.main import main
from sigma.pipeline.outputs import OutputExistsError
from sigma.pipeline.provenance import file_sha256
from sigma.pipeline.runner import STATE_FILE, prepare_dataset, run_batch

EXPECTED = {
    "phase_map.png", "labels.npy", "labels.tiff", "masks", "cluster_spectra.csv", "cluster_core_spectra.csv",
    "cluster_pure_spectra.csv", "nmf_weights.csv",
    "nmf_components.csv", "abundance_maps.npy", "abundance_maps.png", "phase_proportions.csv",
    STATE_FILE, "run.json", "report.html",
}


def test_demo_writes_every_output(demo_out, capsys):
    assert EXPECTED <= {p.name for p in demo_out.iterdir()}
    assert not [p for p in demo_out.parent.iterdir() if p.name.startswith(".")]
    labels = np.load(demo_out / "labels.npy")
    assert labels.shape == (24, 32) and labels.dtype == np.int32
    import tifffile

    assert np.array_equal(tifffile.imread(demo_out / "labels.tiff"), labels)
    masks = sorted(p.name for p in (demo_out / "masks").iterdir())
    assert masks == sorted([f"cluster_{i}.tiff" for i in np.unique(labels[labels >= 0])]
                           + [".sigma2-files.json"])  # the ledger of what SIGMA2 wrote there
    with open(demo_out / "cluster_spectra.csv") as fh:
        header = next(csv.reader(fh))
    assert header[0] == "energy_keV" and header[1:] == [f"cluster_{i}" for i in range(5)]
    with open(demo_out / "cluster_core_spectra.csv") as fh:
        assert next(csv.reader(fh)) == header
    # an SEM map: every pixel of a cluster, its rims less the neighbour's fitted share
    with open(demo_out / "cluster_pure_spectra.csv") as fh:
        assert next(csv.reader(fh)) == header
    pure = np.loadtxt(demo_out / "cluster_pure_spectra.csv", delimiter=",", skiprows=1)
    assert pure.shape[1] == 6 and (pure[:, 1:] >= 0).all() and (pure[:, 1:].sum(0) > 0).all()
    share = json.loads((demo_out / "run.json").read_text())["results"]["pure_spectra"]["neighbour_share"]
    assert sorted(share) == [str(i) for i in range(5)] and all(0 <= v < 0.5 for v in share.values())
    assert not (demo_out / "cluster_net_spectra.csv").exists()
    ab = np.load(demo_out / "abundance_maps.npy")
    assert ab.shape == (24, 32, 5) and (ab >= 0).all()
    with open(demo_out / "phase_proportions.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert abs(sum(float(r["fraction"]) for r in rows if r["cluster"] != "-1") - 1) < 1e-9
    html = (demo_out / "report.html").read_text()
    assert "Net spectra (TEM)" not in html  # an SEM map: an inclusion does not sit on its host
    pure_sec = html.split("<h2>Pure spectra (SEM)</h2>", 1)[1].split("</section>", 1)[0]
    assert "data:image/png;base64," in pure_sec and "cluster_pure_spectra.csv" in pure_sec
    assert html.count("data:image/png;base64,") >= 7 and "Ground truth" in html
    assert "http://" not in html and "https://" not in html
    # the run section lists the stages' times (it was an empty table: the times were recorded
    # after the report was written)
    timing_table = html.split("<h3>Stage timings (s)</h3>", 1)[1].split("</table>", 1)[0]
    for stage in ("load", "latent", "clustering", "identify", "outputs"):
        assert f"<td>{stage}</td>" in timing_table or f">{stage}<" in timing_table, stage


def test_demo_run_json(demo_out):
    rec = json.loads((demo_out / "run.json").read_text())
    for pkg in ("sigma2", "numpy", "hyperspy", "exspy", "rosettasciio", "scikit-learn", "umap-learn", "torch", "dask"):
        assert rec["versions"][pkg], pkg
    assert set(rec["timings_s"]) == {"load", "preprocess", "features", "latent", "clustering", "nmf",
                                     "identify", "outputs", "report"}
    assert len(rec["input"]["sha256"]) == 64
    assert rec["config"]["latent"]["umap"]["n_neighbors"] == 15
    assert rec["config"]["clustering"]["method_args"]["n_components"] == 5
    assert rec["dataset"]["grid"] == [24, 32] and rec["dataset"]["bin_size"] == [2, 2]
    assert rec["results"]["n_clusters"] == 5
    assert rec["extra"]["ground_truth_ari"] > 0.3
    assert EXPECTED - {"masks"} <= set(rec["outputs"]) | {"masks"}


def test_run_json_hash_and_state_reload(tmp_path, make_input, fast_cfg):
    from sigma.clustering import PixelSegmenter

    path, _ = make_input()
    [res] = run_batch([path], fast_cfg, tmp_path, progress=False)
    assert res.ok, res.error
    rec = json.loads((res.out_dir / "run.json").read_text())
    assert rec["input"]["sha256"] == file_sha256(path)
    assert rec["options"]["shared_phases"] is False
    ds = prepare_dataset(path, fast_cfg)
    ps = PixelSegmenter.from_saved_state(res.out_dir / STATE_FILE, dataset=ds)
    assert np.array_equal(ps.labels, np.load(res.out_dir / "labels.npy"))
    assert ps.get_cluster_spectra("mean").shape[0] == ps.n_clusters


def test_overwrite_safety(tmp_path, make_input, fast_cfg, capsys):
    path, _ = make_input()
    (tmp_path / "ph").mkdir()
    (tmp_path / "ph" / "keep.txt").write_text("mine")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[preprocess]\nbin = [1, 1]\n')
    assert main(["-q", "run", str(path), "--config", str(cfg), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    # a folder SIGMA2 did not write: refused, naming what is in it, not steering to --overwrite
    assert f"File '{tmp_path / 'ph'}' already exists and SIGMA2 will not replace it" in err
    assert "keep.txt" in err and "--overwrite" not in err
    with pytest.raises(OutputExistsError, match="keep.txt"):
        run_batch([path], fast_cfg, tmp_path, overwrite=True, progress=False)
    assert (tmp_path / "ph" / "keep.txt").read_text() == "mine"
    (tmp_path / "ph" / "keep.txt").unlink()
    (tmp_path / "ph").rmdir()
    [res] = run_batch([path], fast_cfg, tmp_path, progress=False)
    assert res.ok
    # its own earlier output: refused without --overwrite (now pointing to it), replaced with it
    assert main(["-q", "run", str(path), "--config", str(cfg), "--out", str(tmp_path)]) == 1
    assert "--overwrite to replace it" in capsys.readouterr().err
    first = (res.out_dir / "run.json").read_text()
    [res] = run_batch([path], fast_cfg, tmp_path, overwrite=True, progress=False)
    assert res.ok and (res.out_dir / "run.json").read_text() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "ph"]


def test_bad_config_via_cli(tmp_path, make_input, capsys):
    path, _ = make_input()
    cfg = tmp_path / "c.toml"
    cfg.write_text('[clustering]\nmethod = "kmeans"\n')
    assert main(["run", str(path), "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "The 'clustering.method' parameter must be one of 'GaussianMixture'" in err and "Got 'kmeans'" in err
    assert not (tmp_path / "o").exists()


def test_batch_with_corrupt_file(tmp_path, make_input, fast_cfg, capsys):
    a, _ = make_input("a", seed=1)
    bad = tmp_path / "broken.hspy"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 20)
    cfgp = tmp_path / "c.toml"
    import tomllib

    from sigma.pipeline.config import _toml_value

    lines = []
    for sec, sub in (("preprocess", fast_cfg["preprocess"]), ("clustering", {"method": "GaussianMixture"}),
                     ("clustering.method_args", fast_cfg["clustering"]["method_args"]),
                     ("nmf", {"n_components": 3}), ("report", {"enabled": False}),
                     ("latent", {"method": "autoencoder"}),
                     ("latent.autoencoder", {"hidden_layer_sizes": [32, 16]}),
                     ("latent.autoencoder.run", {"num_epochs": 10, "learning_rate": 3e-3})):
        lines.append(f"[{sec}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in sub.items()]
    cfgp.write_text("\n".join(lines) + "\n")
    tomllib.loads(cfgp.read_text())
    out = tmp_path / "out"
    rc = main(["-q", "run", str(bad), str(a), "--config", str(cfgp), "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 1
    assert "FAILED  " in cap.err and "broken.hspy" in cap.err
    assert "1 of 2 input(s) done, 1 failed" in cap.out
    assert (out / "a" / "labels.npy").exists() and not (out / "broken").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def _majority(labels, truth):
    return {int(t): int(np.bincount(labels[truth == t][labels[truth == t] >= 0]).argmax())
            for t in np.unique(truth)}


def test_shared_phases_same_id_for_same_phase(tmp_path, make_input, fast_cfg):
    a, pha = make_input("a", seed=1)
    b, phb = make_input("b", seed=2)
    missing = tmp_path / "missing.hspy"
    cfg = dict(fast_cfg)
    cfg["shared"] = {"pixels_per_input": 600, "seed": 0}
    res = run_batch([a, missing, b], cfg, tmp_path / "out", shared_phases=True, progress=False)
    assert [r.ok for r in res] == [True, False, True]
    assert "does not exist" in res[1].error
    la = np.load(res[0].out_dir / "labels.npy")
    lb = np.load(res[2].out_dir / "labels.npy")
    ma, mb = _majority(la, pha.labels), _majority(lb, phb.labels)
    assert ma == mb  # phase k of the phantom lands in the same cluster id in both maps
    assert len(set(ma.values())) == len(ma)  # and distinct phases in distinct clusters
    rec = json.loads((res[0].out_dir / "run.json").read_text())
    assert rec["shared"]["pixels_per_input"] == 600 and rec["shared"]["zscore"].startswith("pooled")
    with open(tmp_path / "out" / "shared_proportions.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["cluster", "a", "b"]
    assert abs(sum(float(r[1]) for r in rows[1:]) - 1) < 1e-9


def test_shared_phases_tiny_input_neither_shrinks_the_others_nor_crashes(tmp_path, make_input, fast_cfg):
    """A 3 x 4 map binned 3 x 3 has one pixel: every input used to be sampled down to one
    pixel (three inputs: 3 points, a raw error from the clusterer or UMAP)."""
    a, pha = make_input("a", seed=1)
    b, _ = make_input("b", seed=2)
    tiny, _ = make_input("tiny", seed=3, shape=(3, 4))
    cfg = dict(fast_cfg)
    cfg["preprocess"] = {**cfg["preprocess"], "bin": [3, 3]}
    cfg["shared"] = {"pixels_per_input": 60, "seed": 0}
    res = run_batch([a, b, tiny], cfg, tmp_path / "out", shared_phases=True, progress=False)
    assert [r.ok for r in res] == [True, True, True], [r.error for r in res]
    rec = json.loads((res[0].out_dir / "run.json").read_text())
    assert rec["shared"]["pixels_sampled"] == {"a": 60, "b": 60, "tiny": 1}
    assert rec["dataset"]["normalisation_chain"][-1] == "zscore (pooled over all inputs)"
    assert np.load(res[2].out_dir / "labels.npy").shape == (1, 1)
    la = np.load(res[0].out_dir / "labels.npy")
    assert la.shape == (8, 10) and len(np.unique(la)) >= 3


def test_shared_phases_on_too_few_pixels_fail_with_a_clear_error(tmp_path, make_input, fast_cfg):
    c, _ = make_input("c", seed=3, shape=(3, 4))
    d, _ = make_input("d", seed=4, shape=(3, 4))
    cfg = dict(fast_cfg)
    cfg["preprocess"] = {**cfg["preprocess"], "bin": [3, 3]}
    res = run_batch([c, d], cfg, tmp_path / "out", shared_phases=True, progress=False)
    assert [r.ok for r in res] == [False, False]
    assert re.search(r"'shared.pixels_per_input' parameter must be inputs with at least 10 "
                     r"pixels together.*these have 2 \(c: 1, d: 1 after binning\)", res[0].error)


def test_shared_hdbscan_assigns_with_the_library_rule(tmp_path, make_input, fast_cfg):
    from sigma.clustering import PixelSegmenter

    a, _ = make_input("a", seed=1)
    b, _ = make_input("b", seed=2)
    cfg = dict(fast_cfg)
    cfg["clustering"] = {**cfg["clustering"], "method": "HDBSCAN",
                         "method_args": {"min_cluster_size": 20, "min_samples": 10}}
    cfg["shared"] = {"pixels_per_input": 300, "seed": 0}
    res = run_batch([a, b], cfg, tmp_path / "out", shared_phases=True, progress=False)
    assert all(r.ok for r in res), [r.error for r in res]
    ps = PixelSegmenter.from_saved_state(res[0].out_dir / "segmenter_state.npz")
    assert ps.method == "HDBSCAN (shared)" and ps.membership is not None
    assert ps.n_clusters >= 2


@pytest.fixture(scope="module")
def dask_runs(make_input, real_dir, fast_cfg_shared, tmp_path_factory):
    """One .hspy and one .h5oina phantom and a real .bcf, run in this process (eager reads) and
    on a LocalCluster of 2 worker processes (lazy reads; one cluster start for all three)."""
    import torch

    inputs = {
        "hspy": make_input("dh", seed=3)[0],
        "h5oina": make_input("do", seed=3, fmt="h5oina")[0],
        "bcf": real_dir / "bcf/16x16_12bit_packed_8bit.bcf",
    }
    root = tmp_path_factory.mktemp("dask")
    b = bytearray(inputs["bcf"].read_bytes())  # a bit-flipped .bcf: once a KilledWorker
    b[int(len(b) * 0.7):int(len(b) * 0.7) + 256] = b"\xff" * 256
    (root / "bad.bcf").write_bytes(bytes(b))
    inputs["bad_bcf"] = root / "bad.bcf"
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        mem = run_batch(list(inputs.values()), fast_cfg_shared, root / "mem", progress=False)
        dist = run_batch(list(inputs.values()), fast_cfg_shared, root / "dist", workers=2,
                         progress=False)
    finally:
        torch.set_num_threads(n)
    return {fmt: (m, d) for fmt, m, d in zip(inputs, mem, dist, strict=True)}


def test_corrupt_bcf_fails_alone_in_memory_and_on_a_local_cluster(dask_runs):
    mem, dist = dask_runs["bad_bcf"]
    for r in (mem, dist):
        assert not r.ok and "bad.bcf' crashed the decoder (SIG" in r.error, r.error
    assert not [p for p in dist.input.parent.glob("*/.*partial*")]


@pytest.mark.parametrize("fmt", ["hspy", "h5oina", "bcf"])
def test_local_cluster_equals_in_memory(dask_runs, fmt):
    mem, dist = dask_runs[fmt]
    assert mem.ok and dist.ok, (mem.error, dist.error)
    labels = np.load(mem.out_dir / "labels.npy")
    assert len(np.unique(labels[labels >= 0])) == 5  # a real segmentation, not a degenerate one
    assert np.array_equal(labels, np.load(dist.out_dir / "labels.npy"))
    np.testing.assert_allclose(np.load(mem.out_dir / "abundance_maps.npy"),
                               np.load(dist.out_dir / "abundance_maps.npy"), rtol=1e-5, atol=1e-6)
    rec_mem = json.loads((mem.out_dir / "run.json").read_text())
    rec = json.loads((dist.out_dir / "run.json").read_text())
    assert rec["options"]["workers"] == 2 and rec["options"]["dask_workers"] == 2
    assert rec["dataset"]["lazy"] is True and rec_mem["dataset"]["lazy"] is False
    with open(mem.out_dir / "cluster_spectra.csv") as a, open(dist.out_dir / "cluster_spectra.csv") as b:
        np.testing.assert_allclose(np.loadtxt(a, delimiter=",", skiprows=1),
                                   np.loadtxt(b, delimiter=",", skiprows=1), rtol=1e-5, atol=1e-6)


def test_auto_lines_drop_lines_too_weak_per_pixel(caplog):
    from sigma.pipeline.config import validate_config
    from sigma.synthetic import make_phantom

    sig = make_phantom((24, 32), counts_per_pixel=30, seed=1).to_signal()
    cfg = validate_config({"preprocess": {"bin": [1, 1]}})
    with caplog.at_level("WARNING", logger="sigma.pipeline.runner"):
        ds = prepare_dataset(sig, cfg)
    assert "C_Ka" not in ds.feature_list and len(ds.feature_list) == 7  # 1.9 counts in its top 5 %
    assert ds.normalised_elemental_data.shape == (24, 32, 7)
    assert "dropped C_Ka from the automatic feature list" in caplog.text
    keep = prepare_dataset(sig, validate_config({"preprocess": {"bin": [1, 1]},
                                                 "features": {"min_line_counts": 0}}))
    assert "C_Ka" in keep.feature_list and len(keep.feature_list) == 8
    # an explicit list is the user's choice: kept as given
    mine = prepare_dataset(sig, validate_config({"preprocess": {"bin": [1, 1]},
                                                 "features": {"lines": ["Si_Ka", "C_Ka"]}}))
    assert mine.feature_list == ["Si_Ka", "C_Ka"]


def test_nmf_auto_seeds_when_components_equal_clusters():
    from sigma.clustering import PixelSegmenter
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.stages import _unmix
    from sigma.synthetic import make_phantom
    from sigma.synthetic.metrics import spectral_angle

    ph = make_phantom((32, 40), counts_per_pixel=150, seed=2)
    cfg = validate_config({"preprocess": {"bin": [1, 1]}, "nmf": {"n_components": 5}})
    ds = prepare_dataset(ph.to_signal(), cfg)
    x = ds.normalised_elemental_data.reshape(-1, len(ds.feature_list))
    ps = PixelSegmenter(x, ds, "GaussianMixture", {"n_components": 5, "random_state": 0}, refine="spectra")
    spectra = ps.get_cluster_spectra("mean")

    def worst_angle(components):
        a = spectral_angle(np.asarray(components)[:, None, :], spectra[None, :, :])
        return float(a.min(axis=1).max())  # each end-member against its closest cluster spectrum

    auto = _unmix(ps, cfg, False)
    assert worst_angle(auto["components"]) < 3.0
    cfg["nmf"]["seed_clusters"] = []
    plain = _unmix(ps, cfg, False)
    assert worst_angle(plain["components"]) > worst_angle(auto["components"])


def test_automatic_number_of_phases_in_run_json_and_report(tmp_path, make_input, fast_cfg):
    path, ph = make_input("auto", seed=4, shape=(48, 64))
    cfg = dict(fast_cfg)
    cfg["preprocess"] = {**cfg["preprocess"], "bin": [2, 2]}
    cfg["clustering"] = {**cfg["clustering"], "method_args": {"n_components": "auto", "random_state": 0}}
    cfg["report"] = {**cfg["report"], "enabled": True}
    [res] = run_batch([path], cfg, tmp_path / "out", progress=False)
    assert res.ok, res.error
    rec = json.loads((res.out_dir / "run.json").read_text())
    ev = rec["results"]["n_components_evidence"]
    assert ev["n_components"] == rec["results"]["n_clusters"] == 5  # the phantom's five minerals
    assert ev["bic_path"]["k"][0] == 1 and len(ev["bic_path"]["bic"]) == ev["n_start"]
    html = (res.out_dir / "report.html").read_text()
    assert "<h2>Number of phases</h2>" in html and "BIC along the merge path" in html


def test_shared_phases_with_an_automatic_number(tmp_path, make_input, fast_cfg):
    a, pha = make_input("sa", seed=1, shape=(48, 64))
    b, phb = make_input("sb", seed=2, shape=(48, 64))
    cfg = dict(fast_cfg)
    cfg["preprocess"] = {**cfg["preprocess"], "bin": [2, 2]}
    cfg["clustering"] = {**cfg["clustering"], "method_args": {"n_components": "auto", "random_state": 0}}
    cfg["shared"] = {"pixels_per_input": 600, "seed": 0}
    res = run_batch([a, b], cfg, tmp_path / "out", shared_phases=True, progress=False)
    assert all(r.ok for r in res), [r.error for r in res]
    la, lb = (np.load(r.out_dir / "labels.npy") for r in res)
    f = lambda ph: ph.labels[::2, ::2]  # noqa: E731  (2x2 binning keeps the block's first pixel)
    ma, mb = _majority(la, f(pha)), _majority(lb, f(phb))
    assert ma == mb and len(set(ma.values())) == 5
    rec = json.loads((res[0].out_dir / "run.json").read_text())
    assert rec["results"]["n_components_evidence"]["n_components"] == 5


def test_lazy_run_reads_the_file_once_and_the_cluster_spectra_once(make_input, fast_cfg, tmp_path,
                                                                   monkeypatch):
    """A lazy run with the number of phases from the counts, NMF, identification and outputs:
    the one summary pass is the only read of the file (band counts, cluster spectra and
    abundances read the in-memory copy), the cluster spectra are summed once for NMF,
    identification and outputs, and every result equals the eager run's."""
    import sigma.io._lazy as lazy_io
    import sigma.unmixing.spectra as spectra_mod

    path, _ = make_input("once", seed=5, shape=(30, 32))
    cfg = fast_cfg
    cfg["preprocess"]["bin"] = [2, 2]
    cfg["clustering"]["method_args"]["n_components"] = "auto"
    cfg["identify"]["enabled"] = True
    # every block a lazy .hspy run reads: as values (a dask task, or a pass through the open
    # file), or as the byte planes they are stored in
    blocks, real_read, real_planes = [], lazy_io._read_open, lazy_io._OpenRows.read_planes
    monkeypatch.setattr(lazy_io, "_read_open", lambda *a, **k: blocks.append(real_read(*a, **k)) or blocks[-1])
    monkeypatch.setattr(lazy_io._OpenRows, "read_planes",
                        lambda *a, **k: blocks.append(real_planes(*a, **k)) or blocks[-1])
    sums, real_sums = [], spectra_mod.cluster_spectra
    monkeypatch.setattr(spectra_mod, "cluster_spectra", lambda *a, **k: sums.append(1) or real_sums(*a, **k))
    runs = {}
    for lazy in (True, False):
        cfg["input"]["lazy"] = lazy
        blocks[:], sums[:] = [], []
        [res] = run_batch([path], cfg, tmp_path / f"lazy{lazy}", progress=False)
        assert res.ok, res.error
        runs[lazy] = (res, sum(b.nbytes for b in blocks if b is not None), len(sums))
    (lazy_res, lazy_read, lazy_sums), (eager_res, _, eager_sums) = runs[True], runs[False]
    cube_bytes = 30 * 32 * 512 * 2  # uint16
    assert lazy_read == cube_bytes  # once, whole
    assert lazy_sums == eager_sums == 1
    np.testing.assert_array_equal(np.load(lazy_res.out_dir / "labels.npy"), np.load(eager_res.out_dir / "labels.npy"))
    np.testing.assert_allclose(np.load(lazy_res.out_dir / "abundance_maps.npy"),
                               np.load(eager_res.out_dir / "abundance_maps.npy"), rtol=1e-6, atol=1e-9)
    for name in ("cluster_spectra.csv", "phase_identification.csv"):
        assert (lazy_res.out_dir / name).read_text() == (eager_res.out_dir / name).read_text()


def test_tem_run_writes_net_spectra(tmp_path, fast_cfg):
    """A TEM map gets cluster_net_spectra.csv (film subtracted) beside the core spectra; the
    film and the peeled cores are in run.json, and the report draws the net spectra and says
    which cluster is the film. An SEM map gets none (test_demo_writes_every_output)."""
    from sigma.synthetic.family import make_particle_phantom

    ph = make_particle_phantom((48, 48), counts_per_pixel=100, n_channels=512, energy_scale=0.04,
                               particles={"gold": 2, "titania": 2}, seed=1)
    path = ph.save_hspy(tmp_path / "particles.hspy")
    cfg = dict(fast_cfg)
    cfg["clustering"] = {**cfg["clustering"],
                         "method_args": {**cfg["clustering"]["method_args"], "n_components": 3}}
    cfg["nmf"] = {**cfg["nmf"], "n_components": 2}
    cfg["report"] = {**cfg["report"], "enabled": True}
    [res] = run_batch([path], cfg, tmp_path / "out", progress=False)
    assert res.ok, res.error
    with open(res.out_dir / "cluster_core_spectra.csv") as fh:
        header = next(csv.reader(fh))
    net = np.loadtxt(res.out_dir / "cluster_net_spectra.csv", delimiter=",", skiprows=1)
    core = np.loadtxt(res.out_dir / "cluster_core_spectra.csv", delimiter=",", skiprows=1)
    with open(res.out_dir / "cluster_net_spectra.csv") as fh:
        assert next(csv.reader(fh)) == header
    rec = json.loads((res.out_dir / "run.json").read_text())
    film = rec["results"]["net_spectra"]["film"]
    assert film is not None and "cluster_net_spectra.csv" in rec["outputs"]
    assert not (res.out_dir / "cluster_pure_spectra.csv").exists()  # the film is under every pixel
    col = header.index(f"cluster_{film}")
    np.testing.assert_allclose(net[:, col], core[:, col])  # the film keeps its own spectrum
    others = [i for i in range(1, len(header)) if i != col]
    from sigma.synthetic.metrics import spectral_angle

    sel = int(np.searchsorted(ph.energy_axis, net[0, 0] - 1e-9))
    ref = ph.phase_spectra[1:, sel : sel + len(net)]  # gold, titania
    a_core = spectral_angle(ref[:, None], core[:, others].T[None]).min(1)
    a_net = spectral_angle(ref[:, None], net[:, others].T[None]).min(1)
    assert (a_core > 6).all() and (a_net < a_core - 3).all(), (a_core, a_net)
    page = (res.out_dir / "report.html").read_text()
    section = page.split("<h2>Net spectra (TEM)</h2>")[1].split("</section>")[0]
    assert 'alt="net spectra"' in section and f"Film: cluster {film} (" in section
    assert "Pure spectra (SEM)" not in page
