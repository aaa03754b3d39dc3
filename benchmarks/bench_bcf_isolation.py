"""Cost of decoding ``.bcf`` cubes in the crash-proof helper process instead of in-process.

For every real ``.bcf`` (``$SIGMA_SHARED_DATA/real/bcf``, default ``../shared/data/real/bcf``)
it times, in one process and interleaved:

* ``in-process``: RosettaSciIO's ``file_reader`` (what SIGMA2 did before; a corrupt file can
  kill the interpreter);
* ``isolated``: :func:`sigma.io.load` (metadata here, the cube decoded in the helper and sent
  back over a pipe);

and reports the median of ``--repeat`` runs per file, the ratio, and once the helper's start-up
cost (paid by the first ``.bcf`` a process reads). Each timing includes one pass over the cube
(its sum), as every use of it does: in-process, RosettaSciIO's cube is mostly untouched zero
pages until then. Run: ``python benchmarks/bench_bcf_isolation.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args(argv)
    data = Path(os.environ.get("SIGMA_SHARED_DATA", ROOT.parent / "shared" / "data")) / "real" / "bcf"
    files = sorted(data.glob("*.bcf"))
    if not files:
        print(f"no .bcf files in {data}")
        return 1
    from rsciio.bruker import file_reader

    from sigma.io import _isolate, load

    t = time.perf_counter()
    _isolate.prestart()
    _isolate.decode_isolated("bcf", files[0], want_data=False)
    print(f"helper start-up and first decode: {time.perf_counter() - t:.3f} s (once per process)")
    print(f"{'file':48s} {'MB cube':>8s} {'in-process s':>13s} {'isolated s':>11s} {'ratio':>6s}")
    tot_a = tot_b = 0.0
    for f in files:
        ta, tb = [], []
        for _ in range(a.repeat):
            t = time.perf_counter()
            ref = file_reader(str(f))[-1]["data"]
            ref.sum()
            ta.append(time.perf_counter() - t)
            t = time.perf_counter()
            got = load(f).data
            got.sum()
            tb.append(time.perf_counter() - t)
            assert (ref == got).all() and ref.dtype == got.dtype
        ma, mb = statistics.median(ta), statistics.median(tb)
        tot_a, tot_b = tot_a + ma, tot_b + mb
        print(f"{f.name:48s} {ref.nbytes / 1e6:8.1f} {ma:13.4f} {mb:11.4f} {mb / ma:6.2f}")
    print(f"{'total':48s} {'':8s} {tot_a:13.4f} {tot_b:11.4f} {tot_b / tot_a:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
