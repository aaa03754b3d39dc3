"""The right phases with no tuning: ``sigma run``'s default against HyperSpy told the true K.

Two parts, each printing a table and adding to one JSON file:

``accuracy``
    Over the phantom family of :mod:`sigma.synthetic.family` (``family_specs(--n)``: SEM maps
    of Voronoi grains with look-alike phases, round inclusions, mixed pixels and gradients at
    boundaries, 4–10 phases, 10/25/100 counts per pixel, 128×128 to 512×512, binned 3×3; TEM
    maps of core–shell, gold, ceria and titania particles on a carbon film with Cu at 200 kV,
    20/60 counts per particle pixel, binned 2×2, labelled by each particle's footprint, a core
    before its shell), every phantom in its own process:

    * **sigma**: the shipped default configuration with no number of phases given (``sigma
      run``'s stages: load, bin, normalise, line features, UMAP, Gaussian mixture with
      ``n_components = "auto"``), the phantom's bin factor.
    * **HyperSpy**, written as its documentation shows: ``rebin`` to the same grid, the same
      crop below 0.1 keV, ``decomposition(normalize_poissonian_noise=True, output_dimension=20)``
      (the first 20 components; HyperSpy's ``svd_solver="auto"`` then uses its randomized
      solver on data over 500 × 500) and
      ``cluster_analysis("decomposition", n_clusters=K, number_of_components=K,
      preprocessing="norm", algorithm="kmeans", n_init=8)`` told the **true** K; and, for
      context, its own automatic K, ``estimate_number_of_clusters("decomposition",
      max_clusters=12, preprocessing="norm", metric="gap")`` (components from its elbow
      estimate).
    * **oracle**: each pixel to the true phase spectrum of highest likelihood (no spatial
      prior), the limit of any per-pixel classifier.

    Scores, against the majority true phase of each analysis pixel: adjusted Rand index, the
    number of phases found, missed phases (a true phase whose best-matching cluster mean
    spectrum is more than 5° from it; spectra are the noise-free expected spectra of the
    pixels, because the Poisson noise of a 20-pixel cluster's summed counts alone is 10–20°;
    the angle of the noisy sums is reported too; the reference of ``missed`` is the summed
    expected spectra of the pixels whose majority phase it is, so boundary mixing is inside it,
    and ``missed_pure`` / ``worst_angle_pure_deg`` measure the same cluster means against the
    phase's own pure spectrum, the issue's definition; ``missed_pure_core`` does so with each
    cluster's core spectrum, ``PixelSegmenter.get_cluster_spectra("core")``: the mean over its
    pixels whose eight neighbours share its label; ``missed_pure_net`` with each cluster's net
    spectrum on TEM maps, ``get_cluster_spectra("net")``: the film and an enclosing shell
    subtracted, and with its core spectrum on SEM maps; ``missed_own`` with the spectrum sigma
    reports as the phase's own: the net spectrum on TEM maps, the pure spectrum on SEM maps,
    ``get_cluster_spectra("pure")``, every pixel with its rims' neighbour share removed, the
    removed counts found on the counts and taken as the noise-free core shapes; each of these
    is also given for the true labels, the floor a perfect segmentation reaches) and wall time (sigma: from the loaded signal
    to the labels; HyperSpy: from the loaded signal to its labels, without the K estimate).
``labels``
    The last step of ``find_phases`` alone (:func:`sigma.clustering._phase_steps._final_labels`:
    averaged mixing shares, a mean-field pass, one ICM sweep) against the step it replaced (one
    ICM sweep on the best-share scores), on the same inputs in the same process, on a 384×512
    map of 8 phases in Voronoi grains at 40 counts per pixel (the tutorial's 2×2 binning of a
    1024×768 map), ``--repeats`` times; the ratio is the figure to compare across machines.
``speed``
    ``sigma run`` with the default configuration (or ``--speed-config``, e.g. a TOML with
    ``[preprocess] bin = [2, 2]``, the tutorial's binning, and ``[input] lazy = true``) on a
    1024×768×2048 phantom (``.hspy``; ``--speed-shape`` for another size), in fresh processes, alternating a baseline source tree (``--baseline-src``,
    e.g. ``git archive`` of the commit before this change), any ``--other-src NAME SRC`` and
    this one, ``--repeats`` rounds, so all see the same machine state. Stage times come from
    ``run.json``; peak RSS is each run's ``VmHWM``; ``cube_reads`` is the bytes a lazy run read
    from the file over the cube's bytes (the number of passes over the file).

Usage::

    python benchmarks/bench_phases.py --parts accuracy --n 24 --json phases.json
    python benchmarks/bench_phases.py --parts labels --repeats 5
    python benchmarks/bench_phases.py --parts speed --baseline-src /tmp/base/src --workdir /tmp/big
    python benchmarks/bench_phases.py --parts speed --baseline-src /tmp/base/src --workdir /tmp/big --speed-config tutorial.toml --other-src before /tmp/before/src
    python benchmarks/bench_phases.py --parts speed --baseline-src /tmp/base/src --workdir /tmp/big --speed-config lazy_tutorial.toml --speed-shape 2703 768 --repeats 1

Figures depend on the machine and its load; compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_analysis import _child  # noqa: E402  (one child-process runner for the benchmarks)

MISSED_DEG = 5.0


# ----------------------------------------------------------------------------- accuracy
def _binned_weights(ph, f):
    """``(Hb, Wb, P)`` expected counts per phase on the binned grid (counts x abundance)."""
    h, w = ph.labels.shape[0] // f, ph.labels.shape[1] // f
    wab = ph.abundances * (ph.counts_per_pixel * (1.0 if ph.intensity is None else ph.intensity))[..., None]
    return wab[: h * f, : w * f].reshape(h, f, w, f, -1).sum((1, 3))


def _own_or_all(flat, sel, ids):
    """Per cluster, its pixels in ``sel`` (core or net pixels) when it has
    ``CORE_MIN_PIXELS`` of them, else all its pixels: the rule of
    :func:`sigma.unmixing.spectra.core_means`, as pixel masks (the benchmark sums them both
    noise-free and noisy)."""
    from sigma.unmixing.spectra import CORE_MIN_PIXELS

    masks = [(flat == c, (flat == c) & sel) for c in ids]
    return [m if m.sum() >= CORE_MIN_PIXELS else whole for whole, m in masks]


def _scores(labels, truth, wab, spectra, counts, refs_idx, *, tem=False, energy=None):
    """ARI, K found, missed phases (noise-free and noisy angles) of one labelling.

    ``*_pure_net`` columns: on a TEM map (``tem``) each cluster's net spectrum
    (``PixelSegmenter.get_cluster_spectra("net")``, :mod:`sigma.unmixing.net`: the film and an
    enclosing shell subtracted), on an SEM map its core spectrum (a bulk map has no film and
    its inclusions do not sit on their hosts). As for the core columns, the net spectra are
    noise-free: the film, the pixels and the subtraction factors are found on the counts, and
    the same linear combination is applied to the expected spectra of the same pixels.
    """
    from sklearn.metrics import adjusted_rand_score

    from sigma.synthetic.metrics import spectral_angle
    from sigma.unmixing.spectra import core_pixels

    lab = np.asarray(labels).reshape(truth.shape)
    ids = np.unique(lab[lab >= 0])
    flat, t = lab.ravel(), truth.ravel()
    w = wab.reshape(-1, wab.shape[-1])
    present = np.unique(t)
    ref = np.stack([w[t == k].sum(0) for k in present]) @ spectra
    clus = np.stack([w[flat == c].sum(0) for c in ids]) @ spectra
    ang = spectral_angle(ref[:, None], clus[None]).min(1)
    x = counts.reshape(-1, counts.shape[-1])
    noisy = np.stack([np.asarray(x[flat == c].sum(0), dtype=np.float64) for c in ids])
    ang_noisy = spectral_angle(ref[:, None], noisy[None]).min(1)
    # the issue's own definition: against the true phase's pure spectrum, not the summed mixed
    # spectra of its pixels (which carry the boundary and film mixing inside the reference)
    ang_pure = spectral_angle(spectra[present][:, None], clus[None]).min(1)
    # the same with each cluster's core spectrum (PixelSegmenter.get_cluster_spectra("core"):
    # the mean over its pixels whose 8 neighbours share its label, or over all its pixels when
    # it has fewer than CORE_MIN_PIXELS of them), noise-free and noisy
    pick = _own_or_all(flat, core_pixels(lab).ravel(), ids)
    clus_core = np.stack([w[m].sum(0) for m in pick]) @ spectra
    ang_core = spectral_angle(spectra[present][:, None], clus_core[None]).min(1)
    noisy_core = np.stack([np.asarray(x[m].sum(0), dtype=np.float64) for m in pick])
    ang_core_noisy = spectral_angle(spectra[present][:, None], noisy_core[None]).min(1)
    core_mean = noisy_core / np.array([m.sum() for m in pick], dtype=np.float64)[:, None]  # per pixel, as ps's
    net_info = {}
    if tem:
        from sigma.unmixing.net import (
            net_pixels,
            net_spectra,
            peel_hosts,
            pick_film,
            window_channels,
        )

        film, _ = pick_film(core_mean, lab, ids)  # on the core spectra, as ps does
        net_px = net_pixels(lab, film, peel_hosts(lab, ids, film)).ravel()
        pick_n = _own_or_all(flat, net_px, ids)
        n_n = np.array([m.sum() for m in pick_n], dtype=np.float64)
        noisy_n = np.stack([np.asarray(x[m].sum(0), dtype=np.float64) for m in pick_n]) / n_n[:, None]
        res = net_spectra(noisy_n, n_n, lab, ids, film=film, window=window_channels(energy))
        clus_net = res.coefficients @ (np.stack([w[m].sum(0) for m in pick_n]) @ spectra / n_n[:, None])
        net_info = {"net_film": res.film, "net_peeled": {str(i): [h, round(res.factors[i], 4)]
                                                          for i, h in res.hosts.items()}}
        clus_own, noisy_own = clus_net, None
    else:
        clus_net = clus_core
        # SEM: the pure spectra (sigma.unmixing.boundary), found on the counts; noise-free, the
        # removed counts are taken from the expected spectra's core shapes instead
        from sigma.unmixing.boundary import pure_spectra, weight_smoothing_channels

        pure = pure_spectra(x.reshape(lab.shape + (-1,)), lab, ids, sums=noisy, core=core_mean,
                            weight_smoothing=weight_smoothing_channels(energy))
        h_nf = clus_core / clus_core.sum(1, keepdims=True)
        clus_own, noisy_own = clus - pure.removed @ h_nf, pure.spectra
    ang_net = spectral_angle(spectra[present][:, None], clus_net[None]).min(1)
    ang_own = spectral_angle(spectra[present][:, None], clus_own[None]).min(1)
    own_info = {} if noisy_own is None else {
        "worst_angle_own_noisy_deg": round(float(spectral_angle(spectra[present][:, None], noisy_own[None]).min(1).max()), 2)}
    return {
        "ari": round(float(adjusted_rand_score(t, flat)), 4),
        "k": int(len(ids)),
        "missed": int((ang > MISSED_DEG).sum()),
        "worst_angle_deg": round(float(ang.max()), 2),
        "missed_noisy": int((ang_noisy > MISSED_DEG).sum()),
        "worst_angle_noisy_deg": round(float(ang_noisy.max()), 2),
        "missed_pure": int((ang_pure > MISSED_DEG).sum()),
        "worst_angle_pure_deg": round(float(ang_pure.max()), 2),
        "angle_pure_deg": [round(float(a), 2) for a in ang_pure],
        "missed_pure_core": int((ang_core > MISSED_DEG).sum()),
        "worst_angle_pure_core_deg": round(float(ang_core.max()), 2),
        "angle_pure_core_deg": [round(float(a), 2) for a in ang_core],
        "worst_angle_pure_core_noisy_deg": round(float(ang_core_noisy.max()), 2),
        "missed_pure_net": int((ang_net > MISSED_DEG).sum()),
        "worst_angle_pure_net_deg": round(float(ang_net.max()), 2),
        "angle_pure_net_deg": [round(float(a), 2) for a in ang_net],
        "missed_own": int((ang_own > MISSED_DEG).sum()),
        "worst_angle_own_deg": round(float(ang_own.max()), 2),
        "angle_own_deg": [round(float(a), 2) for a in ang_own],
        **own_info,
        **net_info,
        "worst_angle_pure_noisy_deg": round(float(spectral_angle(spectra[present][:, None], noisy[None]).min(1).max()), 2),
    }


def _sigma_default(signal, kind, f, source=None):
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.second_look import cluster_dataset
    from sigma.pipeline.stages import prepare_dataset

    user = {"input": {"kind": kind}, "preprocess": {"bin": [f, f]}}
    if source:
        user["features"] = {"source": source}
    cfg = validate_config(user)
    t = time.perf_counter()
    ds = prepare_dataset(signal, cfg)
    ps, _ = cluster_dataset(ds, cfg)  # latent, clustering and the second look, as sigma run
    dt = time.perf_counter() - t
    return ps, ds, dt


#: Components HyperSpy's decomposition computes: enough for K ≤ 12 and its elbow estimate.
HS_COMPONENTS = 20


def _hyperspy(signal, k, f):
    import hyperspy.api as hs  # noqa: F401  (registers the signal classes)

    t = time.perf_counter()
    ny, nx = signal.data.shape[:2]
    s = signal.inav[: nx // f * f, : ny // f * f].rebin(scale=(f, f, 1))
    s.change_dtype("float32")
    s = s.isig[0.1:]
    # only the first components are used, so ask for them (output_dimension): HyperSpy's
    # svd_solver="auto" then picks the randomized solver for data over 500x500; the full SVD of
    # all ~2000 channels gave the same labels 25x slower (101 s vs 4 s, one 85x85 case, loaded)
    s.decomposition(normalize_poissonian_noise=True, print_info=False, output_dimension=HS_COMPONENTS)
    s.cluster_analysis("decomposition", n_clusters=k, number_of_components=k, preprocessing="norm",
                       algorithm="kmeans", n_init=8, random_state=0)
    labels = np.asarray(s.learning_results.cluster_labels).argmax(0).reshape(s.data.shape[:2])
    dt = time.perf_counter() - t
    t = time.perf_counter()
    k_gap = s.estimate_number_of_clusters("decomposition", max_clusters=12, preprocessing="norm",
                                          metric="gap", show_progressbar=False)
    return labels, dt, int(k_gap), time.perf_counter() - t


def accuracy_one(spec: dict, source=None, hyperspy: bool = True) -> dict:
    """One phantom of the family: sigma default, HyperSpy with the true K, oracle."""
    from sigma.synthetic.family import binned_truth, make_family_phantom

    f = int(spec["bin"])
    t = time.perf_counter()
    ph = make_family_phantom(spec)
    t_gen = time.perf_counter() - t
    truth = binned_truth(ph, f)
    k_true = int(len(np.unique(truth)))
    wab = _binned_weights(ph, f)
    ps, ds, t_sigma = _sigma_default(ph.to_signal(), spec["kind"], f, source)
    counts = np.asarray(ds.analysis_spectra.data)
    e = np.asarray(ds.energy_axis)
    sel = int(np.searchsorted(ph.energy_axis, e[0] - 1e-9))
    spectra = ph.phase_spectra[:, sel : sel + e.size]
    out = {"spec": spec, "phases": ph.phase_names, "k_true": k_true, "grid": list(truth.shape),
           "seconds_generate": round(t_gen, 1)}
    tem = spec["kind"] == "TEM"
    out["sigma"] = {**_scores(ps.labels, truth, wab, spectra, counts, None, tem=tem, energy=e),
                    "seconds": round(t_sigma, 1)}
    ev = ps.n_components_evidence
    out["sigma"]["evidence"] = ev.summary().splitlines()[0] if ev is not None else None
    # the true labels scored the same way: what a perfect segmentation leaves missed, because
    # boundary mixing (and, on TEM maps, the film) is inside every cluster's mean spectrum
    out["true_labels"] = _scores(truth, truth, wab, spectra, counts, None, tem=tem, energy=e)
    if hyperspy:
        hs_labels, t_hs, k_gap, t_gap = _hyperspy(ph.to_signal(), k_true, f)
        out["hyperspy_true_k"] = {**_scores(hs_labels, truth, wab, spectra, counts, None, tem=tem, energy=e),
                                  "seconds": round(t_hs, 1)}
        out["hyperspy_gap_k"] = {"k": k_gap, "seconds": round(t_gap, 1)}
    # oracle: maximum likelihood with the true (noise-free, per phase) spectra, no prior
    flat_t = truth.ravel()
    w = wab.reshape(-1, wab.shape[-1])
    present = np.unique(flat_t)
    ref = np.stack([w[flat_t == k].sum(0) for k in present]) @ spectra
    logp = np.log(ref / ref.sum(1, keepdims=True) + 1e-12).astype(np.float32)
    pred = (counts.reshape(-1, counts.shape[-1]).astype(np.float32) @ logp.T).argmax(1)
    from sklearn.metrics import adjusted_rand_score

    out["oracle_ari"] = round(float(adjusted_rand_score(flat_t, present[pred])), 4)
    return out


ACC_CHILD = r"""
import json, sys, warnings, logging
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
sys.path.insert(0, sys.argv[1])
import bench_phases as b
print("RESULT " + json.dumps(b.accuracy_one(json.loads(sys.argv[2]), sys.argv[3] or None, sys.argv[4] == "1")))
"""


def summarise(rows: list[dict]) -> dict:
    """The issue's targets over a list of :func:`accuracy_one` results."""
    n = len(rows)
    if not n:
        return {}
    if "hyperspy_true_k" not in rows[0]:
        ari = np.array([r["sigma"]["ari"] for r in rows])
        return {"cases": n, "k_exact_share": round(sum(r["sigma"]["k"] == r["k_true"] for r in rows) / n, 3),
                "median_ari": round(float(np.median(ari)), 4),
                "no_missed_share": round(sum(r["sigma"]["missed"] == 0 for r in rows) / n, 3),
                "no_missed_pure_share": round(sum(r["sigma"].get("missed_pure", 0) == 0 for r in rows) / n, 3),
                "no_missed_pure_core_share": round(sum(r["sigma"].get("missed_pure_core", 0) == 0 for r in rows) / n, 3),
                "no_missed_pure_net_share": round(sum(r["sigma"].get("missed_pure_net", 0) == 0 for r in rows) / n, 3)}
    ds = [r["sigma"]["k"] - r["k_true"] for r in rows]
    ari = np.array([r["sigma"]["ari"] for r in rows])
    hs = np.array([r["hyperspy_true_k"]["ari"] for r in rows])
    low = [r["sigma"]["ari"] for r in rows if r["spec"]["kind"] == "SEM" and r["spec"]["counts_per_pixel"] == 10]
    return {
        "cases": n,
        "k_exact_share": round(sum(d == 0 for d in ds) / n, 3),
        "k_max_abs_error": int(max(abs(d) for d in ds)),
        "ari_ge_hyperspy_share": round(float(np.mean(ari >= hs)), 3),
        "median_ari": round(float(np.median(ari)), 4),
        "median_ari_hyperspy": round(float(np.median(hs)), 4),
        "min_ari_sem_10_counts": round(float(min(low)), 4) if low else None,
        "no_missed_share": round(sum(r["sigma"]["missed"] == 0 for r in rows) / n, 3),
        "no_missed_share_hyperspy": round(sum(r["hyperspy_true_k"]["missed"] == 0 for r in rows) / n, 3),
        "no_missed_pure_share": round(sum(r["sigma"]["missed_pure"] == 0 for r in rows) / n, 3),
        "no_missed_pure_share_hyperspy": round(sum(r["hyperspy_true_k"]["missed_pure"] == 0 for r in rows) / n, 3),
        "no_missed_pure_core_share": round(sum(r["sigma"]["missed_pure_core"] == 0 for r in rows) / n, 3),
        "no_missed_pure_core_share_hyperspy": round(
            sum(r["hyperspy_true_k"]["missed_pure_core"] == 0 for r in rows) / n, 3),
        "no_missed_pure_net_share": round(sum(r["sigma"]["missed_pure_net"] == 0 for r in rows) / n, 3),
        "no_missed_pure_net_share_hyperspy": round(
            sum(r["hyperspy_true_k"]["missed_pure_net"] == 0 for r in rows) / n, 3),
        "no_missed_own_share": round(sum(r["sigma"].get("missed_own", 0) == 0 for r in rows) / n, 3),
        "no_missed_own_share_hyperspy": round(sum(r["hyperspy_true_k"].get("missed_own", 0) == 0 for r in rows) / n, 3),
        **{f"no_missed_{c}_share_true_labels": round(sum(r["true_labels"][f"missed_{c}"] == 0 for r in rows) / n, 3)
           for c in ("pure", "pure_core", "pure_net", "own") if all("true_labels" in r for r in rows)},
        "hyperspy_gap_k_exact_share": round(sum(r["hyperspy_gap_k"]["k"] == r["k_true"] for r in rows) / n, 3),
        "seconds_sigma_total": round(sum(r["sigma"]["seconds"] for r in rows), 1),
        "seconds_hyperspy_total": round(sum(r["hyperspy_true_k"]["seconds"] for r in rows), 1),
    }


def accuracy(n: int, seed: int, only=None, source=None, hyperspy: bool = True):
    from sigma.synthetic.family import family_specs

    here = str(Path(__file__).resolve().parent)
    specs = family_specs(n, seed=seed)
    rows = []
    print("case | kind shape counts | K true | K sigma (HS gap) | ARI sigma / HS(true K) / oracle | "
          "missed sigma / HS | worst angle sigma / HS | missed pure sigma / HS | worst angle pure sigma / HS | "
          "missed pure, core spectra sigma / HS | missed pure, net spectra sigma / HS | "
          "missed pure, own spectra sigma / HS | missed pure all / core / net / own, true labels | s sigma / HS")
    for i, spec in enumerate(specs):
        if only is not None and i not in only:
            continue
        r = _child(ACC_CHILD, here, json.dumps(spec), source or "", "1" if hyperspy else "0")
        r["case"] = i
        rows.append(r)
        s = r["sigma"]
        h = r.get("hyperspy_true_k", {"ari": float("nan"), "missed": -1, "worst_angle_deg": float("nan"),
                                      "missed_pure": -1, "worst_angle_pure_deg": float("nan"), "missed_pure_core": -1,
                                      "missed_pure_net": -1,
                                      "seconds": float("nan")})
        r.setdefault("hyperspy_gap_k", {"k": -1})
        tl = r["true_labels"]
        print(f"{i:4d} | {spec['kind']} {spec['shape'][0]}x{spec['shape'][1]} {spec['counts_per_pixel']:>3} | "
              f"{r['k_true']:2d} | {s['k']:2d} ({r['hyperspy_gap_k']['k']:2d}) | "
              f"{s['ari']:.3f} / {h['ari']:.3f} / {r['oracle_ari']:.3f} | {s['missed']} / {h['missed']} | "
              f"{s['worst_angle_deg']:.1f} / {h['worst_angle_deg']:.1f} | {s['missed_pure']} / {h['missed_pure']} | "
              f"{s['worst_angle_pure_deg']:.1f} / {h['worst_angle_pure_deg']:.1f} | "
              f"{s['missed_pure_core']} / {h['missed_pure_core']} | "
              f"{s['missed_pure_net']} / {h['missed_pure_net']} | "
              f"{s['missed_own']} / {h.get('missed_own', -1)} | "
              f"{tl['missed_pure']} / {tl['missed_pure_core']} / {tl['missed_pure_net']} / {tl['missed_own']} | "
              f"{s['seconds']:.0f} / {h['seconds']:.0f}",
              flush=True)
    summary = summarise(rows)
    print("\nsummary:", json.dumps(summary, indent=1))
    return {"rows": rows, "summary": summary}


# ----------------------------------------------------------------------------- speed
RUN_CHILD = r"""
import json, sys, threading, time
from sigma.cli.main import main
from sigma.io._lazy import HDF5Rows
# bytes a lazy run reads from its file (every block of every pass goes through HDF5Rows)
read, lock, get = [0], threading.Lock(), HDF5Rows.__getitem__
def counted(self, key):
    block = get(self, key)
    with lock:
        read[0] += block.nbytes
    return block
HDF5Rows.__getitem__ = counted
t, c = time.perf_counter(), time.process_time()
rc = main(sys.argv[1:])
# VmHWM: this process's own peak resident memory
hwm = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
print("BENCH " + json.dumps({"rc": rc, "wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c,
                             "peak_rss_bytes": hwm * 1024, "read_bytes": read[0]}))
"""


def _sigma_run(src: Path, path: Path, out: Path, config: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "SIGMA_PROGRESS": "0"}
    cfg = ["--config", str(config)] if config else []
    r = subprocess.run([sys.executable, "-c", RUN_CHILD, "-q", "run", str(path), "--out", str(out),
                        "--overwrite", *cfg], capture_output=True, text=True, env=env, cwd=ROOT)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("BENCH ")]
    if not line:
        raise RuntimeError(f"sigma run failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    res = json.loads(line[0][6:])
    run = json.loads((out / path.stem / "run.json").read_text())  # (out may hold other sizes' runs)
    res["stages_s"] = run.get("timings_s", {})
    res["n_clusters"] = run["results"]["n_clusters"]
    # the file is the uncompressed cube and a little metadata; 0 for an eager run (RosettaSciIO reads it)
    res["cube_reads"] = round(res["read_bytes"] / path.stat().st_size, 2)
    return res


def speed(workdir: Path, baseline_src: Path, repeats: int, shape=(1024, 768), channels=2048, *,
          config: Path | None = None, others: dict | None = None):
    """``sigma run`` of each source tree in turn (``baseline``, then ``others`` by name, then
    ``now``), ``repeats`` rounds; medians of wall and CPU seconds and of each stage."""
    from sigma.synthetic import write_large_phantom

    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"map{shape[0]}x{shape[1]}.hspy"
    if not path.exists():
        write_large_phantom(path, shape=shape, n_channels=channels, counts_per_pixel=25, num_workers=1)
    srcs = {"baseline": baseline_src, **(others or {}), "now": ROOT / "src"}
    res = {name: [] for name in srcs}
    res["config"] = config.read_text() if config else "(the defaults)"
    for _ in range(int(repeats)):
        for name, src in srcs.items():
            r = _sigma_run(src, path, workdir / f"out_{name}", config)
            res[name].append(r)
            print(name, json.dumps({k: r[k] for k in ("wall_s", "cpu_s", "peak_rss_bytes", "n_clusters",
                                                      "cube_reads")}),
                  json.dumps(r["stages_s"]), flush=True)
    med = {k: float(np.median([r["wall_s"] for r in res[k]])) for k in srcs}
    cpu = {k: float(np.median([r["cpu_s"] for r in res[k]])) for k in srcs}
    res["median_wall_s"], res["median_cpu_s"] = med, cpu
    res["median_stages_s"] = {
        k: {st: round(float(np.median([r["stages_s"].get(st, 0.0) for r in res[k]])), 2)
            for st in res[k][0]["stages_s"]} for k in srcs
    }
    res["ratio_now_over_baseline"] = round(med["now"] / med["baseline"], 3)
    res["cpu_ratio_now_over_baseline"] = round(cpu["now"] / cpu["baseline"], 3)
    print("median wall s:", med, "ratio now/baseline:", res["ratio_now_over_baseline"])
    print("median cpu s:", cpu, "ratio now/baseline:", res["cpu_ratio_now_over_baseline"])
    for k, st in res["median_stages_s"].items():
        print(f"median stages {k}: {json.dumps(st)}")
    return res


def labels_speed(repeats: int, shape=(384, 512), k: int = 8, bands: int = 64) -> dict:
    """Seconds of the final labelling step and of the one ICM sweep it replaced (see ``labels``)."""
    from sigma._blocks import one_blas_thread
    from sigma.clustering import _count_model as cm
    from sigma.clustering._phase_steps import _final_labels
    from sigma.synthetic.family import voronoi_grains

    rng = np.random.default_rng(0)
    truth = np.asarray(voronoi_grains(shape, 60, seed=1)) % k
    spectra = rng.dirichlet(np.ones(bands) * 2, k)
    y = cm.with_rate_band(rng.poisson(40 * spectra[truth]).reshape(-1, bands).astype(np.float32), 0.3, 3.0)
    valid = np.ones(shape, bool)
    noisy = np.where(rng.random(shape) < 0.05, rng.integers(0, k, shape), truth).astype(np.int32)
    sums, _ = cm.spectra_from_labels(y, noisy, k)
    logp = cm.log_spectra(sums)
    rows = []
    with one_blas_thread():  # as find_phases runs it
        for _ in range(int(repeats)):
            t = time.perf_counter()
            cm.icm(y, logp, np.zeros(k, np.float32), noisy, valid, beta=1.0, iters=1, rate_band=True)
            t_icm = time.perf_counter() - t
            t = time.perf_counter()
            _final_labels(y, logp, noisy, valid, 1.0, True)
            rows.append((t_icm, time.perf_counter() - t))
    a = np.array(rows)
    res = {"shape": list(shape), "phases": k, "bands": bands + 1, "one_icm_sweep_s": a[:, 0].round(3).tolist(),
           "final_labels_s": a[:, 1].round(3).tolist(), "median_ratio": round(float(np.median(a[:, 1] / a[:, 0])), 2)}
    print(f"final labels on {shape[0]}x{shape[1]}, {k} phases: one ICM sweep {np.median(a[:, 0]):.2f} s, "
          f"final labels {np.median(a[:, 1]):.2f} s, ratio {res['median_ratio']}")
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", nargs="+", default=["accuracy"], choices=["accuracy", "labels", "speed"])
    p.add_argument("--n", type=int, default=24, help="phantoms of the family")
    p.add_argument("--seed", type=int, default=0, help="seed offset of the family")
    p.add_argument("--cases", type=int, nargs="*", default=None, help="run only these case numbers")
    p.add_argument("--source", choices=["lines", "spectrum", "both"], default=None,
                   help="features.source of sigma (default: the shipped default)")
    p.add_argument("--no-hyperspy", action="store_true", help="sigma only (for variants)")
    p.add_argument("--baseline-src", type=Path, default=None, help="source tree (…/src) of the baseline for speed")
    p.add_argument("--repeats", type=int, default=2, help="speed: runs of each version; labels: timings")
    p.add_argument("--speed-config", type=Path, default=None,
                   help="speed: TOML passed to sigma run (e.g. preprocess.bin = [2, 2], the tutorial's)")
    p.add_argument("--other-src", nargs=2, action="append", default=[], metavar=("NAME", "SRC"),
                   help="speed: a further source tree to time between the baseline and this one")
    p.add_argument("--workdir", type=Path, default=None, help="folder for the big phantom (temporary by default)")
    p.add_argument("--speed-shape", type=int, nargs=2, default=(1024, 768), metavar=("H", "W"),
                   help="speed: map size of the phantom (2048 uint16 channels; 2703 768 is an 8.5 GB cube)")
    p.add_argument("--json", type=Path, default=None, help="write every figure here")
    a = p.parse_args(argv)
    os.environ.setdefault("SIGMA_PROGRESS", "0")
    warnings.filterwarnings("ignore")
    out = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        if "accuracy" in a.parts:
            out["accuracy"] = accuracy(a.n, a.seed, None if a.cases is None else set(a.cases), a.source,
                                       not a.no_hyperspy)
        if "labels" in a.parts:
            out["labels"] = labels_speed(a.repeats)
        if "speed" in a.parts:
            if a.baseline_src is None:
                p.error("--parts speed needs --baseline-src (the source tree to compare with)")
            out["speed"] = speed(a.workdir or Path(tmp), a.baseline_src, a.repeats, tuple(a.speed_shape),
                                 config=a.speed_config,
                                 others={n: Path(s) for n, s in a.other_src})
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
