"""Pre-processing speed and memory: SIGMA2 against HyperSpy/eXSpy, plain NumPy and the I/O floor.

The work is the tutorial's: load → ``rebin_signal((2, 2))`` → ``peak_intensity_normalisation``
→ ``remove_first_peak(0.1)`` → 12 X-ray line maps → neighbour averaging → z-score.

Every route runs in its own fresh process (so its peak RSS is its own), on the same phantom
file, after the parent has read the file once so that it is in the page cache. In that process
the route runs twice: **cold** (the first run after the imports) and **warm** (the second run;
the allocator's memory and numba's kernels are then already there). Peak RSS is ``VmHWM`` from
``/proc/self/status``, reset between the two runs (``/proc/self/clear_refs``).

Routes, each written the way its own experts would write it:

- ``floor-h5py``: stream the cube once with h5py (one HDF5 chunk at a time, read by h5py,
  summed by NumPy in a second thread). This is what reading the file costs through HDF5.
- ``floor-bytes``: read the stored bytes of every chunk in 2 threads, each into a buffer it
  reuses (``os.preadv`` at the chunk's address, which takes no HDF5 lock), in pieces of
  ``FINE_BLOCK_BYTES`` (sigma's block for an uncompressed file, so the bytes are still in the
  cache when summed), and sum them, no decoding: the least any pass over the file can cost.
- ``numpy``: plain NumPy in row blocks (h5py reads, 2 threads): bin 2×2, pixel totals, window
  sums of the binned block, divided by the totals; no SIGMA2 code except the line windows.
- ``hs-lazy``: ``hs.load(lazy=True)`` (chunks aligned to the file's), ``rebin``, division by the
  pixel sums, ``isig[0.1:]``, ``get_lines_intensity`` of the 12 lines, the 12 maps computed in
  **one** graph (``dask.compute``), so the cube is read once.
- ``hs-eager``: the same, eager.
- ``sigma-eager`` / ``sigma-lazy``: ``SEMDataset(path, lazy=...)`` and the tutorial's calls.

Every route ends with the same neighbour averaging and z-score (NumPy), and its features are
compared with ``sigma-eager``'s (largest absolute difference).

Run (defaults: the issue's 768×1024×2048 uint16 phantom, 3.2 GB, written once to
``--data-dir``)::

    .venv/bin/python benchmarks/bench_preprocessing.py
    .venv/bin/python benchmarks/bench_preprocessing.py --compression gzip      # HyperSpy's default
    .venv/bin/python benchmarks/bench_preprocessing.py --shape 256 256 --channels 1024 --quick

``--json`` writes the table as JSON (the CI guard, ``tests/benchmarks``, reads it). Timings
are only comparable within one run: compare the ratios, and rerun on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINES = ["O_Ka", "Na_Ka", "Mg_Ka", "Al_Ka", "Si_Ka", "P_Ka", "K_Ka", "Ca_Ka", "Ti_Ka", "Fe_Ka",
         "Fe_La", "F_Ka"]
ROOT = Path(__file__).resolve().parents[1]
ROUTES = ["floor-bytes", "floor-h5py", "numpy", "sigma-lazy", "sigma-eager", "hs-lazy", "hs-eager"]


# ----------------------------------------------------------------------------- in the child
def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def _dataset_name(path) -> str:
    import h5py

    with h5py.File(path, "r") as f:
        found = []
        f.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) and o.ndim == 3 else None)
        return "/" + max(found, key=lambda n: f[n].size)


def _energy(path):
    import h5py

    with h5py.File(path, "r") as f:
        name = _dataset_name(path)
        grp = f[name].parent
        ax = grp["axis-2"].attrs
        return float(ax["scale"]), float(ax["offset"]), f[name].shape


def _finish(maps):
    import numpy as np

    from sigma.utils import normalisation as norm

    return norm.zscore(norm.neighbour_averaging(np.nan_to_num(np.asarray(maps, np.float32))))


def _route_floor_h5py(path):
    from concurrent.futures import ThreadPoolExecutor

    import h5py
    import numpy as np

    name = _dataset_name(path)
    total = 0
    with h5py.File(path, "r") as f, ThreadPoolExecutor(1) as pool:
        ds = f[name]
        rows = ds.chunks[0] if ds.chunks else 32
        futures = []
        for r0 in range(0, ds.shape[0], rows):
            blk = ds[r0:r0 + rows]  # h5py decodes (unshuffles, inflates) in this thread
            futures.append(pool.submit(np.sum, blk, dtype=np.uint64))
            if len(futures) > 2:
                total += int(futures.pop(0).result())
        total += sum(int(x.result()) for x in futures)
    return {"total": total}


def _route_floor_bytes(path):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import h5py
    import numpy as np

    from sigma._blocks import FINE_BLOCK_BYTES

    name = _dataset_name(path)
    local = threading.local()
    with h5py.File(path, "r") as f:
        ds = f[name]
        infos = [ds.id.get_chunk_info(i) for i in range(ds.id.get_num_chunks())]
        fd = f.id.get_vfd_handle() if f.driver == "sec2" and f.userblock_size == 0 else None
        # at the chunk's address (no HDF5 lock, the GIL released), in pieces as large as the
        # blocks of sigma's pass, so that what is read is still in the cache when it is summed
        piece = FINE_BLOCK_BYTES if fd is not None else None

        def one(info):  # the stored bytes, read into this thread's own buffer, then summed
            size = info.size if piece is None else min(piece, info.size)
            buf = getattr(local, "buf", None)
            if buf is None or buf.size < size:
                buf = local.buf = np.empty(size, np.uint8)
            if fd is None:
                got = np.frombuffer(ds.id.read_direct_chunk(info.chunk_offset, out=buf)[1], np.uint8)
                return int(got.sum(dtype=np.uint64))
            total = 0
            for at in range(0, info.size, piece):
                n = os.preadv(fd, [buf[: min(piece, info.size - at)]], info.byte_offset + at)
                total += int(buf[:n].sum(dtype=np.uint64))
            return total

        with ThreadPoolExecutor(2) as pool:
            total = sum(pool.map(one, infos))
    return {"byte_total": total}


def _route_numpy(path):
    from concurrent.futures import ThreadPoolExecutor

    import h5py
    import numpy as np

    from sigma.preprocessing import line_windows

    scale, offset, shape = _energy(path)
    h, w, c = shape
    c0 = int(round((0.1 - offset) / scale))
    e0 = offset + c0 * scale
    wins = line_windows(LINES, scale, e0, c - c0)
    out = np.zeros((h // 2, w // 2, len(wins)), np.float32)
    name = _dataset_name(path)

    def work(r0, blk):
        b = blk[: blk.shape[0] // 2 * 2, : w // 2 * 2].reshape(blk.shape[0] // 2, 2, w // 2, 2, c)
        b = b.sum(axis=(1, 3), dtype=np.uint32)
        tot = b.sum(-1, dtype=np.float64)
        safe = np.where(tot > 0, tot, 1).astype(np.float32)
        for i, wn in enumerate(wins):
            out[r0 // 2: r0 // 2 + b.shape[0], :, i] = b[..., c0 + wn.lo: c0 + wn.hi].sum(-1) / safe

    with h5py.File(path, "r") as f, ThreadPoolExecutor(2) as pool:
        ds = f[name]
        rows = ds.chunks[0] if ds.chunks else 32
        rows += rows % 2
        list(pool.map(lambda r0: work(r0, ds[r0:r0 + rows]), range(0, h, rows)))
    return {"features": _finish(out)}


def _route_sigma(path, lazy):
    from sigma.datasets import SEMDataset
    from sigma.utils import normalisation as norm

    sem = SEMDataset(path, lazy=lazy)
    sem.set_feature_list(LINES)
    sem.rebin_signal(size=(2, 2))
    sem.peak_intensity_normalisation()
    sem.remove_first_peak(end=0.1)
    return {"features": sem.normalisation([norm.neighbour_averaging, norm.zscore])}


def _route_hs(path, lazy):
    import dask
    import hyperspy.api as hs
    import numpy as np

    s = hs.load(path, lazy=lazy, signal_type="EDS_SEM")  # lazy: chunks are the file's
    s = s.rebin(scale=(2, 2, 1))
    s = s / s.sum(-1)
    s = s.isig[0.1:]
    maps = s.get_lines_intensity(LINES)
    if lazy:
        data = dask.compute(*[m.data for m in maps])  # one graph: the cube is read once
    else:
        data = [m.data for m in maps]
    return {"features": _finish(np.stack(data, axis=-1))}


def _child(route: str, path: str, out_dir: str) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    os.environ["SIGMA_PROGRESS"] = "0"
    # every route pays its imports before the clock starts
    import exspy  # noqa: F401
    import hyperspy.api  # noqa: F401
    import numpy as np

    import sigma.datasets  # noqa: F401
    import sigma.preprocessing.cubepass as cp
    from sigma.xray import line_energy

    line_energy("Fe_Ka")  # the X-ray line table is loaded
    if route.startswith("sigma"):
        from sigma.io._hdf5chunks import _kernels

        cp._kernel()  # numba's cached kernels loaded, like an import
        _kernels()
    run = {
        "floor-h5py": _route_floor_h5py, "floor-bytes": _route_floor_bytes, "numpy": _route_numpy,
        "sigma-lazy": lambda p: _route_sigma(p, True), "sigma-eager": lambda p: _route_sigma(p, False),
        "hs-lazy": lambda p: _route_hs(p, True), "hs-eager": lambda p: _route_hs(p, False),
    }[route]
    res = {"rss_after_imports": _status("VmRSS")}
    for phase in ("cold", "warm"):
        _reset_peak()
        base = _status("VmRSS")
        t0 = time.perf_counter()
        out = run(path)
        res[phase] = {"seconds": time.perf_counter() - t0, "peak_rss": _status("VmHWM"), "base_rss": base}
        feats = out.pop("features", None)
        res.update(out)
        if feats is not None and phase == "cold":
            np.save(Path(out_dir) / f"{route}.npy", feats)
        del out, feats
    return res


# ----------------------------------------------------------------------------- in the parent
def _run(route: str, path: Path, out_dir: Path, timeout: int) -> dict:
    cmd = [sys.executable, __file__, "--child", route, "--file", str(path), "--out", str(out_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if res.returncode != 0:
        tail = (res.stderr or "").strip().splitlines()
        return {"error": tail[-1] if tail else f"exit {res.returncode}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def ensure_phantom(path: Path, shape, channels: int, counts: float, compression=None) -> Path:
    """Write the phantom once (HyperSpy's layout, 32-row chunks); reuse it afterwards."""
    if path.exists():
        return path
    from sigma.synthetic import write_large_phantom

    t0 = time.perf_counter()
    rows = min(32, shape[0])
    write_large_phantom(path, shape=tuple(shape), n_channels=channels, counts_per_pixel=counts,
                        format="hspy", compression=compression, chunks=(rows, shape[1], channels),
                        seed=0)
    print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.1f} s",
          flush=True)
    return path


def _warm_cache(path: Path) -> float:
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        while fh.read(64 * 2**20):
            pass
    return time.perf_counter() - t0


def run_benchmark(path: Path, routes, cube_bytes: int, timeout: int = 1800) -> dict:
    """Run every route on ``path`` (each in its own process); returns the results by route."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for r in routes:
            _warm_cache(path)
            results[r] = _run(r, path, Path(tmp), timeout)
        ref = Path(tmp) / "sigma-eager.npy"
        ref = np.load(ref) if ref.exists() else None
        for r, res in results.items():
            f = Path(tmp) / f"{r}.npy"
            if ref is not None and f.exists() and "error" not in res:
                x = np.load(f)
                res["max_abs_diff_vs_sigma_eager"] = float(np.abs(x - ref).max()) if x.shape == ref.shape else None
    for res in results.values():
        for phase in ("cold", "warm"):
            if phase in res:
                res[phase]["peak_over_cube"] = res[phase]["peak_rss"] / cube_bytes
                res[phase]["delta_peak_over_cube"] = (res[phase]["peak_rss"] - res["rss_after_imports"]) / cube_bytes
    return results


def print_table(results: dict) -> None:
    def sec(r, ph):
        return r.get(ph, {}).get("seconds")

    floor = {ph: sec(results.get("floor-h5py", {}), ph) for ph in ("cold", "warm")}
    hs = {ph: sec(results.get("hs-lazy", {}), ph) for ph in ("cold", "warm")}
    print(f"{'route':<12} {'cold s':>7} {'warm s':>7} {'cold/floor-h5py':>15} {'hs-lazy/route (cold)':>20} "
          f"{'peak RSS/cube':>13} {'Δpeak/cube':>10} {'max|Δ| vs sigma-eager':>21}")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<12} ERROR {r['error']}")
            continue
        c, w = sec(r, "cold"), sec(r, "warm")
        ratio = f"{c / floor['cold']:.2f}" if floor["cold"] else "-"
        speed = f"{hs['cold'] / c:.2f}" if hs["cold"] else "-"
        diff = r.get("max_abs_diff_vs_sigma_eager")
        print(f"{name:<12} {c:7.2f} {w:7.2f} {ratio:>15} {speed:>20} "
              f"{r['cold']['peak_over_cube']:13.2f} {r['cold']['delta_peak_over_cube']:10.2f} "
              f"{'-' if diff is None else f'{diff:.2e}':>21}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", nargs=2, type=int, default=[768, 1024], metavar=("H", "W"))
    ap.add_argument("--channels", type=int, default=2048)
    ap.add_argument("--counts", type=float, default=100.0, help="mean counts per pixel")
    ap.add_argument("--compression", choices=["none", "gzip", "lzf"], default="none")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench_data")
    ap.add_argument("--routes", nargs="+", default=ROUTES, choices=ROUTES)
    ap.add_argument("--quick", action="store_true", help="skip the HyperSpy routes")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_child(a.child, a.file, a.out)))
        return 0
    a.data_dir.mkdir(parents=True, exist_ok=True)
    h, w = a.shape
    comp = None if a.compression == "none" else a.compression
    suffix = "" if comp is None else f"_{comp}"
    path = ensure_phantom(a.data_dir / f"phantom_{h}x{w}x{a.channels}{suffix}.hspy", (h, w),
                          a.channels, a.counts, comp)
    cube_bytes = h * w * a.channels * 2
    print(f"cube {h}×{w}×{a.channels} uint16 = {cube_bytes / 1e9:.2f} GB, file {path.stat().st_size / 1e9:.2f} GB "
          f"({a.compression}); page-cache read {_warm_cache(path):.2f} s; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    routes = [r for r in a.routes if not (a.quick and r.startswith("hs"))]
    results = run_benchmark(path, routes, cube_bytes, a.timeout)
    print_table(results)
    print(f"load average after: {os.getloadavg()[0]:.1f} (2 CPUs: above 2, other work shared them)")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
