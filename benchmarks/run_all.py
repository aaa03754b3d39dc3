"""Run every benchmark of this folder in turn (``make bench``), each in its own process.

They are long (tens of minutes on a 2-core machine, and several GB of temporary files): the
pre-processing benchmark, the analysis benchmark (accuracy against HyperSpy, speed, UMAP's
first-call cost), the end-to-end ``sigma run`` benchmark and the GUI's kernel time per edit. Each prints its own tables;
``--only`` picks some. ``check_cuda_autoencoder.py`` is not run here: it needs a GPU machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "preprocessing": ["bench_preprocessing.py"],
    "analysis": ["bench_analysis.py"],
    "cli": ["bench_cli.py"],
    "gui": ["bench_gui.py"],
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=list(BENCHMARKS))
    a = p.parse_args(argv)
    failed = []
    for name in a.only:
        cmd = [sys.executable, str(HERE / BENCHMARKS[name][0]), *BENCHMARKS[name][1:]]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        t = time.perf_counter()
        rc = subprocess.call(cmd)
        print(f"=== {name}: exit {rc} after {time.perf_counter() - t:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
