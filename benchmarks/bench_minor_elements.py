"""Elements only a minority phase carries: ``sigma run``'s default with and without the second look.

When a file names no elements, the feature lines come from the peaks of the map's sum spectrum;
an element that only a few pixels carry (gold particles on a film, monazite grains in a
granite) may make no peak there, and its phase then merges with others. The second look
(:mod:`sigma.pipeline.second_look`, ``features.second_look``) searches each cluster's summed
spectrum for significant elements no feature line covers, adds their lines and clusters once
more. This benchmark runs the shipped default (``sigma run``'s stages, no K given) on phantoms
whose signal names **no elements** (``Sample`` metadata removed, as in a file without them),
once with ``features.second_look = false`` ("before") and once with the default ("after"):

* ``minor``: hard cases built with :mod:`sigma.synthetic.family`. TEM: few core–shell
  (magnetite in a thin silica shell), gold, ceria and titania particles on a carbon film with
  the Cu of the grid, 200 kV, binned 2×2, 13 or 40 counts per particle pixel on average (about
  20 / 60 at particle centres; the film 0.18 of the mean), with the phantom's continuum and a
  10× stronger one. SEM: a granite-like map (quartz, albite, orthoclase, anorthite: feldspar
  look-alikes) with a few small monazite (CePO₄) grains, binned 3×3.
* ``real``: the real files of ``$SIGMA_SHARED_DATA/real`` with the elements of their headers
  ignored: the lines proposed, the lines added with their evidence, the header's elements.
* ``family``: cases of the project's 24-case family (:func:`~sigma.synthetic.family.family_specs`)
  with their element names removed too: the control for false elements (every added line
  must belong to an element of the phantom).

Per case: true K, K found and ARI before / after, the proposed lines, the lines added (with the
cluster, counts and significance that justified them), lines of elements the phantom does not
hold (before: in the proposal; after: in the final list), the lines removed (a proposed line
whose peak is another element's line), and the seconds of the second look against the rest of
the run.

Usage::

    python benchmarks/bench_minor_elements.py --parts minor --json minor.json
    python benchmarks/bench_minor_elements.py --parts family --cases 0 3 7 --json family.json
    python benchmarks/bench_minor_elements.py --parts timing   # 512x512 TEM map, ratio of the second look
    SIGMA_SHARED_DATA=/work/shared/data python benchmarks/bench_minor_elements.py --parts real

Figures depend on the machine and its load; compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

RADII = {"core-shell": (9.0, 14.0), "gold": (3.0, 6.0), "ceria": (5.0, 9.0), "titania": (5.0, 9.0)}
GRANITE = {"quartz": "SiO2", "albite": "NaAlSi3O8", "orthoclase": "KAlSi3O8", "anorthite": "CaAl2Si2O8",
           "monazite": "CePO4"}  # fmt: skip


def minor_specs() -> list[dict]:
    """The hard cases: TEM particles (few, with an element each) and SEM monazite grains."""
    out = []
    for seed in (11, 12):
        for counts in (13, 40):
            for continuum in (1.0, 10.0):
                out.append({"kind": "TEM", "shape": (256, 256), "counts_per_pixel": counts, "seed": seed,
                            "bin": 2, "continuum": continuum, "film_counts": 0.18, "radii": RADII,
                            "core_fraction": (0.75, 0.9),
                            "particles": {"core-shell": 3, "gold": 3, "ceria": 2, "titania": 4}})
    for seed in (21, 22):
        for counts in (25, 100):
            out.append({"kind": "SEM", "shape": (256, 256), "counts_per_pixel": counts, "seed": seed,
                        "bin": 3, "n_phases": len(GRANITE), "phases": GRANITE, "inclusions": 4,
                        "inclusion_radius": (3.0, 5.0)})
    return out


def _anonymous(signal):
    """The signal without the elements and lines the phantom wrote into its metadata."""
    if signal.metadata.has_item("Sample"):
        del signal.metadata.Sample
    return signal


def _run(signal, kind, f, second_look: bool):
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.provenance import StageTimer
    from sigma.pipeline.second_look import cluster_dataset
    from sigma.pipeline.stages import prepare_dataset

    cfg = validate_config({"input": {"kind": kind}, "preprocess": {"bin": [f, f]},
                           "features": {"second_look": second_look}})
    timer = StageTimer()
    t = time.perf_counter()
    ds = prepare_dataset(signal, cfg, timer)
    proposed = [x for x in ds.feature_list if x != "Navigator"]
    ps, review = cluster_dataset(ds, cfg, timer)
    return ps, ds, proposed, review, time.perf_counter() - t, dict(timer.timings)


def _lines_record(proposed, review, ds, held) -> dict:
    """Proposed, added, removed and final lines; those of elements the phantom does not hold."""
    final = [x for x in ds.feature_list if x != "Navigator"]
    added = [] if review is None else [a.to_dict() for a in review.added]
    return {"proposed": proposed, "added": added,
            "removed": [] if review is None else [r.to_dict() for r in review.removed],
            "final": final, "false_added": [a["line"] for a in added if a["element"] not in held],
            "false_final": [x for x in final if x.split("_")[0] not in held]}


def one_case(spec: dict) -> dict:
    """Before / after on one phantom (its element names removed)."""
    from bench_phases import _binned_weights, _scores

    from sigma.synthetic.family import binned_truth, make_family_phantom

    f = int(spec["bin"])
    ph = make_family_phantom({k: v for k, v in spec.items() if k != "family_case"})
    truth = binned_truth(ph, f)
    wab = _binned_weights(ph, f)
    held = set(ph.elements)
    out = {"spec": {k: v for k, v in spec.items() if k != "radii"}, "phases": ph.phase_names,
           "k_true": int(len(np.unique(truth))),
           "pixel_share": [round(float(x), 4) for x in np.bincount(truth.ravel(), minlength=len(ph.phase_names))
                           / truth.size]}  # fmt: skip
    for name, look in (("before", False), ("after", True)):
        ps, ds, proposed, review, dt, timings = _run(_anonymous(ph.to_signal()), spec["kind"], f, look)
        counts = np.asarray(ds.analysis_spectra.data)
        e = np.asarray(ds.energy_axis)
        sel = int(np.searchsorted(ph.energy_axis, e[0] - 1e-9))
        spectra = ph.phase_spectra[:, sel : sel + e.size]
        out[name] = {**_scores(ps.labels, truth, wab, spectra, counts, None), "seconds": round(dt, 1),
                     **_lines_record(proposed, review, ds, held),
                     "seconds_second_look": round(timings.get("second_look", 0.0), 2),
                     "seconds_review": round((ds.lines_review or {}).get("seconds_review", 0.0), 2),
                     "timings": timings}  # fmt: skip
    return out


def family_cases(cases) -> list[dict]:
    from sigma.synthetic.family import family_specs

    specs = family_specs(24)
    return [{**specs[i], "family_case": i} for i in cases]


def timing(seed: int = 5) -> dict:
    """512x512 TEM map: seconds of the review (the clusters' fits) and of the whole second look
    (review, then features, latent and clustering again) against the first pass (load to labels)."""
    from sigma.synthetic.family import make_family_phantom

    spec = {"kind": "TEM", "shape": (512, 512), "counts_per_pixel": 13, "seed": seed, "bin": 2,
            "continuum": 10.0, "film_counts": 0.18, "radii": RADII, "core_fraction": (0.75, 0.9),
            "particles": {"core-shell": 10, "gold": 10, "ceria": 8, "titania": 14}}
    ph = make_family_phantom(spec)
    ps, ds, proposed, review, dt, timings = _run(_anonymous(ph.to_signal()), "TEM", 2, True)
    look = timings.get("second_look", 0.0)  # the review and, when the lines changed, the second pass
    review_s = (ds.lines_review or {}).get("seconds_review", 0.0)  # the clusters' fits alone
    rest = dt - look
    return {"spec": {k: v for k, v in spec.items() if k != "radii"}, "seconds_total": round(dt, 1),
            "seconds_first_pass": round(rest, 2), "seconds_review": round(review_s, 2),
            "seconds_second_look": round(look, 2), "ratio_review_to_first_pass": round(review_s / rest, 3),
            "ratio_second_look_to_first_pass": round(look / rest, 3),
            **_lines_record(proposed, review, ds, set(ph.elements)), "timings": timings}


REAL = ["bcf/P45_12bit_packed_8bit.bcf", "bcf/P45_the_default_job.bcf", "bcf/P45_job_hyperspy.bcf",
        "bcf/30x30_instructively_packed_16bit_compressed.bcf", "bcf/bcf-edx-ebsd.bcf", "bcf/bcf_v2_50x50px.bcf",
        "bcf/Hitachi_TM3030Plus.bcf", "bcf/test_TEM.bcf", "hspy/core_shell.hspy", "hspy/bare_core.hspy"]


def real_files(folder: Path) -> list[dict]:
    """The real files with the elements their headers name ignored: lines proposed from the sum
    spectrum, then the second look; every added or removed line is listed with its evidence,
    beside the header's elements (a line outside them is not necessarily false, but must be
    explained)."""
    from sigma.io import load
    from sigma.pipeline.config import validate_config
    from sigma.pipeline.provenance import StageTimer
    from sigma.pipeline.second_look import cluster_dataset
    from sigma.pipeline.stages import _dataset_class, feature_dataset, preprocess_dataset

    rows = []
    for rel in REAL:
        path = folder / rel
        if not path.exists():
            continue
        raw = load(path)
        header = sorted(raw.elements or {x.split("_")[0] for x in raw.xray_lines})
        raw.elements, raw.xray_lines = [], []
        h, w = raw.shape[:2]
        f = 1 if min(h, w) < 48 else 2 if min(h, w) < 96 else 3
        cfg = validate_config({"preprocess": {"bin": [f, f]}})
        timer = StageTimer()
        t = time.perf_counter()
        ds = _dataset_class("auto", raw.signal_type)(raw)
        preprocess_dataset(ds, cfg)
        feature_dataset(ds, cfg)
        proposed = [x for x in ds.feature_list if x != "Navigator"]
        ps, review = cluster_dataset(ds, cfg, timer)
        dt = time.perf_counter() - t
        r = {"file": rel, "header_elements": header, "bin": f, **_lines_record(proposed, review, ds, set(header)),
             "k": int(len(ps.cluster_ids)), "seconds": round(dt, 1),
             "seconds_second_look": round(timer.timings.get("second_look", 0.0), 2)}  # fmt: skip
        print(f"{rel}: header {header} | proposed {proposed} | added "
              f"{[(a['line'], a['cluster'], a['pixels'], a['significance']) for a in r['added']] or '-'} | removed "
              f"{[(x['line'], x['explained_by']) for x in r['removed']] or '-'} | not in header {r['false_final'] or '-'} | "
              f"K {r['k']} | look {r['seconds_second_look']:.1f} s of {dt:.0f} s", flush=True)
        rows.append(r)
    return rows


def _print(r):
    b, a = r["before"], r["after"]
    sp = r["spec"]
    tag = f"{sp['kind']} {sp['counts_per_pixel']:>3} c{sp.get('continuum', 1)} s{sp['seed']}"
    if "family_case" in sp:
        tag = f"family {sp['family_case']:2d} {tag}"
    added = ", ".join(f"{x['line']}(cl {x['cluster']}, {x['pixels']} px, {x['significance']:.0f}σ)" for x in a["added"])
    print(f"{tag} | K {r['k_true']} | before K {b['k']} ARI {b['ari']:.3f} missed {b['missed']} | "
          f"after K {a['k']} ARI {a['ari']:.3f} missed {a['missed']} | proposed {','.join(b['proposed'])} | "
          f"added {added or '-'} | removed {[(x['line'], x['explained_by']) for x in a['removed']] or '-'} | "
          f"false proposed {b['false_final'] or '-'} final {a['false_final'] or '-'} | review "
          f"{a['seconds_review']:.1f} s, second look {a['seconds_second_look']:.1f} s of {a['seconds']:.0f} s",
          flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", nargs="+", default=["minor"], choices=["minor", "family", "timing", "real"])
    p.add_argument("--cases", type=int, nargs="*", default=None,
                   help="minor: indices of minor_specs(); family: family case numbers (default all 24)")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    os.environ.setdefault("SIGMA_PROGRESS", "0")
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    out = {"cpus": os.cpu_count()}
    if "minor" in a.parts:
        specs = minor_specs()
        idx = range(len(specs)) if a.cases is None else a.cases
        out["minor"] = []
        for i in idx:
            r = one_case(specs[i])
            r["case"] = i
            _print(r)
            out["minor"].append(r)
    if "family" in a.parts:
        out["family"] = []
        for spec in family_cases(range(24) if a.cases is None else a.cases):
            r = one_case(spec)
            _print(r)
            out["family"].append(r)
    if "real" in a.parts:
        out["real"] = real_files(Path(os.environ.get("SIGMA_SHARED_DATA", "/work/shared/data")) / "real")
    if "timing" in a.parts:
        out["timing"] = timing()
        print("timing:", json.dumps({k: v for k, v in out["timing"].items() if k != "timings"}))
    for part in ("minor", "family"):
        rows = out.get(part)
        if rows:
            s = {w: {"k_exact": sum(r[w]["k"] == r["k_true"] for r in rows),
                     "median_ari": round(float(np.median([r[w]["ari"] for r in rows])), 4),
                     "missed_total": sum(r[w]["missed"] for r in rows)} for w in ("before", "after")}
            s["cases"] = len(rows)
            s["false_added"] = sum(len(r["after"]["false_added"]) for r in rows)
            s["false_lines_before"] = sum(len(r["before"]["false_final"]) for r in rows)
            s["false_lines_after"] = sum(len(r["after"]["false_final"]) for r in rows)
            out[f"{part}_summary"] = s
            print(f"{part} summary:", json.dumps(s))
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, default=str))
    return out


if __name__ == "__main__":
    main()
