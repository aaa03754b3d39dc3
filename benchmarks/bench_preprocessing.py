"""Pre-processing speed and memory: SIGMA2 against HyperSpy/eXSpy and against the I/O floor.

Each contender runs in its own fresh process (so peak RSS is its own) on the same phantom file,
after the file has been read once so that every contender finds it in the page cache ("warm").
The work is the issue's pipeline: load → rebin 2×2 → per-pixel normalisation → 12 line maps →
neighbour averaging → z-score.

- ``floor``: stream the cube once and sum it (dask, threads), the least any pass can cost.
- ``sigma-lazy`` / ``sigma-eager``: ``SEMDataset(path, lazy=True|False)`` and the tutorial calls.
- ``hs-lazy`` / ``hs-eager``: ``hs.load`` + ``rebin`` + division by the pixel sums +
  ``get_lines_intensity`` (eXSpy), the same normalisations on the result.

Run (defaults reproduce the issue's 1024×768×2048 uint16 phantom, 3.2 GB)::

    .venv/bin/python benchmarks/bench_preprocessing.py
    .venv/bin/python benchmarks/bench_preprocessing.py --shape 256 192 --quick   # small smoke run
    .venv/bin/python benchmarks/bench_preprocessing.py --big-gb 8.5              # adds the >8 GB lazy run

Prints one line per contender with seconds, ratios to the floor and to SIGMA2, and peak RSS as a
fraction of the cube.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

LINES = ["O_Ka", "Na_Ka", "Mg_Ka", "Al_Ka", "Si_Ka", "P_Ka", "K_Ka", "Ca_Ka", "Ti_Ka", "Fe_Ka",
         "Fe_La", "F_Ka"]
ROOT = Path(__file__).resolve().parents[1]


def _peak_rss() -> int:
    """Peak resident memory of this process's own address space (bytes).

    ``VmHWM`` from ``/proc/self/status``: ``getrusage``'s ``ru_maxrss`` also keeps the high-water
    mark of the process that forked this one, so a child of a large parent would report the
    parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(mode: str, path: str) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    os.environ["SIGMA_PROGRESS"] = "0"
    import numpy as np

    import sigma.datasets  # noqa: F401  (imports paid before the clock starts)
    from sigma.utils import normalisation as norm

    if mode.startswith("hs"):
        import exspy  # noqa: F401
        import hyperspy.api as hs
    base = _peak_rss()
    t0 = time.perf_counter()
    if mode == "floor":
        from sigma.io import load

        raw = load(path, lazy=True)
        total = raw.data.sum(dtype=np.uint64).compute(scheduler="threads")
        out = {"total": int(total)}
    elif mode.startswith("sigma"):
        from sigma.datasets import SEMDataset

        sem = SEMDataset(path, lazy=(mode == "sigma-lazy"))
        sem.rebin_signal((2, 2))
        sem.peak_intensity_normalisation()
        sem.set_feature_list(LINES)
        data = sem.normalisation([norm.neighbour_averaging, norm.zscore])
        out = {"checksum": float(np.abs(data).sum())}
    else:
        lazy = mode == "hs-lazy"
        s = hs.load(path, lazy=lazy)
        s = s.rebin(scale=(2, 2, 1))
        s = s / s.sum(-1)  # per-pixel normalisation (broadcast over channels)
        maps = s.get_lines_intensity(LINES)
        cube = np.stack([np.asarray(m.data.compute() if lazy else m.data, np.float32) for m in maps], -1)
        data = norm.zscore(norm.neighbour_averaging(np.nan_to_num(cube)))
        out = {"checksum": float(np.abs(data).sum())}
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss"] = _peak_rss()
    out["rss_after_imports"] = base
    return out


def _run(mode: str, path: Path, timeout: int = 1800) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--file", str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1] if res.stderr else f"exit {res.returncode}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def _ensure_phantom(path: Path, shape, channels: int, cpp: float) -> None:
    if path.exists():
        return
    from sigma.synthetic import write_large_phantom

    t0 = time.perf_counter()
    write_large_phantom(path, shape=tuple(shape), n_channels=channels, counts_per_pixel=cpp,
                        format="hspy", overwrite=False, seed=0)
    gb = path.stat().st_size / 1e9
    print(f"wrote {path} ({gb:.2f} GB) in {time.perf_counter() - t0:.1f} s", flush=True)


def _warm(path: Path) -> float:
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        while fh.read(64 * 2**20):
            pass
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", nargs=2, type=int, default=[1024, 768], metavar=("H", "W"))
    ap.add_argument("--channels", type=int, default=2048)
    ap.add_argument("--counts", type=float, default=100.0, help="mean counts per pixel")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench_data")
    ap.add_argument("--modes", nargs="+", default=["floor", "sigma-lazy", "sigma-eager", "hs-lazy", "hs-eager"])
    ap.add_argument("--big-gb", type=float, default=0.0, help="also run sigma-lazy on a phantom of this size")
    ap.add_argument("--quick", action="store_true", help="skip the HyperSpy contenders")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_child(a.child, a.file)))
        return 0
    a.data_dir.mkdir(parents=True, exist_ok=True)
    h, w = a.shape
    path = a.data_dir / f"phantom_{h}x{w}x{a.channels}.hspy"
    _ensure_phantom(path, (h, w), a.channels, a.counts)
    cube_bytes = h * w * a.channels * 2
    print(f"cube {h}×{w}×{a.channels} uint16 = {cube_bytes / 1e9:.2f} GB; warm read {_warm(path):.2f} s", flush=True)
    modes = [m for m in a.modes if not (a.quick and m.startswith("hs"))]
    results = {m: _run(m, path) for m in modes}
    floor = results.get("floor", {}).get("seconds")
    ours = results.get("sigma-lazy", {}).get("seconds")
    print(f"{'contender':<12} {'seconds':>8} {'×floor':>7} {'÷sigma-lazy':>11} {'peak RSS GB':>11} {'RSS/cube':>8} {'Δ RSS/cube':>10}")
    for m, r in results.items():
        if "error" in r:
            print(f"{m:<12} ERROR {r['error']}")
            continue
        t = r["seconds"]
        print(f"{m:<12} {t:8.2f} {t / floor if floor else float('nan'):7.2f} "
              f"{t / ours if ours else float('nan'):11.2f} {r['peak_rss'] / 1e9:11.2f} "
              f"{r['peak_rss'] / cube_bytes:8.3f} {(r['peak_rss'] - r['rss_after_imports']) / cube_bytes:10.3f}")
    if a.big_gb:
        n_rows = int(a.big_gb * 1e9 / (w * a.channels * 2)) + 1
        big = a.data_dir / f"phantom_{n_rows}x{w}x{a.channels}.hspy"
        _ensure_phantom(big, (n_rows, w), a.channels, a.counts)
        _warm(big)
        r = _run("sigma-lazy", big, timeout=3600)
        if "error" in r:
            print(f"big sigma-lazy ERROR {r['error']}")
        else:
            print(f"big phantom {big.stat().st_size / 1e9:.2f} GB: sigma-lazy {r['seconds']:.1f} s, "
                  f"peak RSS {r['peak_rss'] / 2**30:.2f} GiB")
    (a.data_dir / "bench_preprocessing.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
