"""End-to-end ``sigma run`` benchmark: seconds per stage and peak memory.

Three scenarios, each in its own child process (peak RSS from ``VmHWM`` of ``/proc/self/status`` inside
that child, so it is the run's own):

1. ``single``: ``sigma run`` on one phantom of ``--shape`` × ``--channels`` (uint16, .hspy).
2. ``batch``: ``sigma run --shared-phases`` on ``--batch`` phantoms of ``--batch-shape``.
3. ``lazy``: ``sigma run`` with ``input.lazy = true`` on a phantom of about ``--big-gb`` GB
   written by :func:`sigma.synthetic.write_large_phantom` (skipped when ``--big-gb 0``).

Stage times come from each output's ``run.json``. The latent space is fitted on at most
``--fit-pixels`` pixels and the rest are projected (``latent.fit_pixels``), as one would on
maps of this size.

Run::

    .venv/bin/python benchmarks/bench_cli.py                      # small: 256×192×2048, 4×128×96
    .venv/bin/python benchmarks/bench_cli.py --shape 1024 768     # the issue's 1024×768×2048 (3.2 GB)
    .venv/bin/python benchmarks/bench_cli.py --shape 1024 768 --big-gb 8.5   # + the >8 GB lazy run
    .venv/bin/python benchmarks/bench_cli.py --workers 4 ...      # the chunked stages on a LocalCluster

Writes ``bench_cli.json`` in ``--workdir`` and prints one line per scenario.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
[preprocess]
bin = [2, 2]
[latent]
method = "umap"
fit_pixels = {fit_pixels}
[latent.umap]
n_neighbors = 15
min_dist = 0.02
random_state = 0
n_epochs = 200
[clustering]
method = "GaussianMixture"
[clustering.method_args]
n_components = 6
random_state = 0
init_params = "kmeans"
[nmf]
n_components = 5
[nmf.method_args]
init = "nndsvda"
random_state = 0
[shared]
pixels_per_input = {fit_per_input}
[input]
lazy = {lazy}
"""

CHILD = """
import json, sys, time
from sigma.cli.main import main
t = time.perf_counter()
rc = main(sys.argv[1:])
# VmHWM: this address space's own peak (ru_maxrss would keep the forking parent's peak)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print("BENCH " + json.dumps({"rc": rc, "wall_s": time.perf_counter() - t,
      "peak_rss_bytes": hwm * 1024}))
"""


def _child(args: list[str]) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, "-q", *args], capture_output=True, text=True, cwd=ROOT)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("BENCH ")]
    if not line:
        sys.stderr.write(r.stdout[-3000:] + r.stderr[-3000:])
        raise SystemExit(f"child failed ({r.returncode})")
    return json.loads(line[-1][6:])


def _phantom(path: Path, shape, channels, seed=0, big=False):
    from sigma.synthetic import make_phantom, write_large_phantom

    if path.exists():
        return path
    t = time.perf_counter()
    if big:
        write_large_phantom(path, shape=tuple(shape), n_channels=channels, counts_per_pixel=100, seed=seed)
    else:
        make_phantom(tuple(shape), n_channels=channels, counts_per_pixel=100, seed=seed).save_hspy(path)
    print(f"wrote {path.name} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.1f} s", flush=True)
    return path


def _timings(out: Path, stems) -> dict:
    """Stage seconds summed over the inputs (shared stages, which ran once, counted once)."""
    t = {}
    for s in stems:
        rec = json.loads((out / s / "run.json").read_text())
        for k, v in rec["timings_s"].items():
            t[k] = round(v if k.startswith("shared_") else t.get(k, 0.0) + v, 2)
    return t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shape", type=int, nargs=2, default=(256, 192), metavar=("H", "W"))
    p.add_argument("--channels", type=int, default=2048)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--batch-shape", type=int, nargs=2, default=(128, 96), metavar=("H", "W"))
    p.add_argument("--big-gb", type=float, default=0.0, help="size of the lazy-run phantom; 0 skips it")
    p.add_argument("--fit-pixels", type=int, default=20000)
    p.add_argument("--workers", type=int, help="run the chunked stages on a LocalCluster")
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "sigma_bench_cli")
    p.add_argument("--only", nargs="*", choices=("single", "batch", "lazy"))
    a = p.parse_args(argv)
    work = a.workdir
    work.mkdir(parents=True, exist_ok=True)
    extra = ["--workers", str(a.workers)] if a.workers else []
    results = {}

    def cfg(name, lazy=False):
        c = work / f"{name}.toml"
        c.write_text(CONFIG.format(fit_pixels=a.fit_pixels, fit_per_input=max(10, a.fit_pixels // a.batch),
                                   lazy="true" if lazy else "false"))
        return str(c)

    todo = a.only or ["single", "batch", "lazy"]
    if "single" in todo:
        h, w = a.shape
        src = _phantom(work / f"single_{h}x{w}x{a.channels}.hspy", a.shape, a.channels)
        out = work / "out_single"
        r = _child(["run", str(src), "--config", cfg("single"), "--out", str(out), "--overwrite", *extra])
        r["stages_s"] = _timings(out, [src.stem])
        r["cube_bytes"] = h * w * a.channels * 2
        results["single"] = r
    if "batch" in todo:
        h, w = a.batch_shape
        srcs = [_phantom(work / f"batch{i}_{h}x{w}.hspy", a.batch_shape, a.channels, seed=i) for i in range(a.batch)]
        out = work / "out_batch"
        r = _child(["run", *map(str, srcs), "--config", cfg("batch"), "--out", str(out), "--overwrite",
                    "--shared-phases", *extra])
        r["stages_s"] = _timings(out, [s.stem for s in srcs])
        results["batch"] = r
    if "lazy" in todo and a.big_gb > 0:
        w = 768
        h = int(a.big_gb * 1e9 / (w * a.channels * 2)) + 1
        src = _phantom(work / f"big_{h}x{w}x{a.channels}.hspy", (h, w), a.channels, big=True)
        out = work / "out_lazy"
        r = _child(["run", str(src), "--config", cfg("lazy", lazy=True), "--out", str(out), "--overwrite", *extra])
        r["stages_s"] = _timings(out, [src.stem])
        r["file_bytes"] = src.stat().st_size
        results["lazy"] = r
    (work / "bench_cli.json").write_text(json.dumps(results, indent=2))
    for name, r in results.items():
        size = r.get("cube_bytes") or r.get("file_bytes")
        rss = r["peak_rss_bytes"] / 1e9
        rel = f" ({r['peak_rss_bytes'] / size:.2f}× the cube)" if size else ""
        print(f"{name:7s} rc={r['rc']} wall {r['wall_s']:.1f} s, peak RSS {rss:.2f} GB{rel}; stages {r['stages_s']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
