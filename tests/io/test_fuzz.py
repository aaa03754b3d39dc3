"""Fuzzing the readers with mutated real files (issue 14): bit flips, runs of 0xFF, truncations
and header edits. Every mutation must give a clean error (a SigmaError naming the file) or a
load whose array matches its declared shape, and never kill the process.

Each reader's mutated files are read by one child process (``fuzz_child.py``), so a crash is
seen as a dead child and names the file that caused it. The mutations are seeded: the same
files are tested on every run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
N_MUTATIONS = 6  # per file and kind of mutation family; kept small for CI


def _mutations(data: bytes, seed: int, header: int = 512):
    """``(name, bytes)`` of seeded mutations of ``data``."""
    rng = np.random.default_rng(seed)
    n = len(data)
    for i in range(N_MUTATIONS):
        b = bytearray(data)
        kind = ("flip", "ff", "truncate", "header", "flip", "random")[i % 6]
        if kind == "flip":  # 16 single-bit flips anywhere
            for pos in rng.integers(0, n, 16):
                b[pos] ^= 1 << int(rng.integers(0, 8))
        elif kind == "ff":  # 256 bytes of 0xFF in the second half (pixel data)
            at = int(rng.integers(n // 2, max(n // 2 + 1, n - 256)))
            b[at:at + 256] = b"\xff" * 256
        elif kind == "truncate":
            b = b[: int(rng.integers(1, n))]
        elif kind == "header":  # 8 random bytes in the header
            for pos in rng.integers(0, min(header, n), 8):
                b[pos] = int(rng.integers(0, 256))
        else:  # 64 random bytes anywhere
            at = int(rng.integers(0, max(1, n - 64)))
            b[at:at + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        yield f"{kind}{i}", bytes(b)


def _run_child(requests: list[dict]) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(SRC),
           "SIGMA_PROGRESS": "0", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, str(HERE / "fuzz_child.py")],
                          input="".join(json.dumps(r) + "\n" for r in requests),
                          capture_output=True, text=True, timeout=600, env=env)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    results = [x for x in lines if "result" in x]
    if proc.returncode != 0:
        begun = [x["begin"] for x in lines if "begin" in x]
        pytest.fail(f"the reader process died (exit {proc.returncode}) while loading "
                    f"{begun[-1] if begun else '?'}: {proc.stderr[-1500:]}")
    return results


def _fuzz(files: dict[str, Path], tmp_path: Path, main: str, seed: int, lazy: bool = False,
          kwargs=None):
    """Mutate ``files[main]`` (the others are copied as they are) and load each mutant."""
    requests = []
    for name, blob in _mutations(files[main].read_bytes(), seed):
        d = tmp_path / name
        d.mkdir(parents=True)
        for role, f in files.items():
            if role != main:
                shutil.copy(f, d / f.name)
        (d / files[main].name).write_bytes(blob)
        target = d / files["open"].name
        requests.append({"path": str(target), "lazy": lazy, "kwargs": kwargs or {}})
    results = _run_child(requests)
    assert len(results) == len(requests)
    bad = [r for r in results if r["result"] == "raw exception"
           or (r["result"] == "loaded" and not r["consistent"])]
    assert not bad, bad
    return results


REAL = {
    "bcf": {"open": "bcf/16x16_12bit_packed_8bit.bcf"},
    "bcf-tem": {"open": "bcf/test_TEM.bcf"},
    "emi": {"open": "emi_ser/16x16-spectrum_image_5x5x4000-not_square.emi",
            "ser": "emi_ser/16x16-spectrum_image_5x5x4000-not_square_1.ser"},
    "hspy": {"open": "hspy/core_shell.hspy"},
}


@pytest.mark.parametrize("case", sorted(REAL))
def test_fuzz_real_files(real_dir, tmp_path, case):
    files = {role: real_dir / rel for role, rel in REAL[case].items()}
    results = _fuzz(files, tmp_path, "open", seed=len(case))
    if "ser" in files:  # the data file of the pair, mutated too
        results += _fuzz(files, tmp_path / "ser", "ser", seed=7)
    assert any(r["result"] == "clean error" for r in results)


def test_fuzz_ripple(vendor_dir, tmp_path):
    src = vendor_dir / "ripple_bruker_esprit_demo"
    files = {"open": src / "4on3_full.rpl", "raw": src / "4on3_full.raw"}
    _fuzz(files, tmp_path / "rpl", "open", seed=3, kwargs={"energy_scale": 0.01})
    _fuzz(files, tmp_path / "raw", "raw", seed=4, kwargs={"energy_scale": 0.01})


def test_fuzz_h5oina_and_lazy_bcf(tmp_path, real_dir):
    from sigma.synthetic import make_phantom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = make_phantom((12, 16), n_channels=128, energy_scale=0.08, seed=0).save_h5oina(
            tmp_path / "ph.h5oina")
    _fuzz({"open": p}, tmp_path / "h5", "open", seed=5)
    _fuzz({"open": real_dir / "bcf/16x16_12bit_packed_8bit.bcf"}, tmp_path / "lazy", "open",
          seed=6, lazy=True)
