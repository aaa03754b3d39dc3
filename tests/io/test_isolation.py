"""A corrupt .bcf is a clear error naming it, never a dead interpreter (issue 14, item 2).

RosettaSciIO's compiled decoder writes outside its array on a few flipped bytes (SIGSEGV /
SIGBUS); SIGMA2 decodes in a helper process, so the caller sees a SigmaFileError instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from sigma._errors import SigmaFileError
from sigma.io import load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def flipped_bcf(real_dir, tmp_path, name="16x16_12bit_packed_8bit.bcf", fill=b"\xff"):
    """256 bytes overwritten at 70 % of an uncompressed .bcf: the issue's crash."""
    b = bytearray((real_dir / "bcf" / name).read_bytes())
    at = int(len(b) * 0.7)
    b[at:at + 256] = fill * 256 if len(fill) == 1 else fill
    dst = tmp_path / f"flipped_{name}"
    dst.write_bytes(bytes(b))
    return dst


def _in_child(code: str, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or os.path.join(ROOT, "src")}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.mark.parametrize("name", ["16x16_12bit_packed_8bit.bcf", "test_TEM.bcf"])
def test_bit_flipped_bcf_is_an_error_not_a_crash(real_dir, tmp_path, name):
    bad = flipped_bcf(real_dir, tmp_path, name)
    # in a fresh interpreter (as a kernel or `sigma run` would be): it must survive the load
    code = ("import sys\nfrom sigma.io import load\ntry:\n    load(sys.argv[1])\n"
            "except Exception as e:\n    print(type(e).__name__, e)\nprint('alive')\n")
    r = _in_child(code, bad)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert "alive" in r.stdout
    assert f"SigmaFileError File '{bad}' crashed the decoder (SIG" in r.stdout
    with pytest.raises(SigmaFileError, match=r"crashed the decoder \(SIG(SEGV|BUS)\).*probably corrupt"):
        load(bad)
    # the helper is replaced after the crash: good files still load, identical to RosettaSciIO
    from rsciio.bruker import file_reader

    good = real_dir / "bcf" / name
    ref = file_reader(str(good))[-1]["data"]
    got = load(good).data
    assert got.dtype == ref.dtype and np.array_equal(got, ref)


def test_lazy_bcf_decode_is_isolated_too(real_dir, tmp_path):
    bad = flipped_bcf(real_dir, tmp_path)
    lazy = load(bad, lazy=True)  # metadata only: fine
    with pytest.raises(SigmaFileError, match="crashed the decoder"):
        lazy.data.compute()


def test_stream_header_disagreeing_with_the_file_header_is_refused(real_dir, tmp_path):
    from rsciio.bruker._api import SFS_reader

    src = real_dir / "bcf" / "P45_12bit_packed_8bit.bcf"
    sfs = SFS_reader(str(src))
    item = sfs.get_file("EDSDatabase/SpectrumData0")
    item._fill_pointer_table()
    b = bytearray(src.read_bytes())
    b[int(item.pointers[0]) : int(item.pointers[0]) + 4] = np.uint32(750).tobytes()  # height 75 -> 750
    dst = tmp_path / "tall.bcf"
    dst.write_bytes(bytes(b))
    with pytest.raises(SigmaFileError, match=r"pixel stream of 750 x 100 pixels but a header describing 75 x 100"):
        load(dst)


def test_info_on_a_corrupt_bcf_exits_non_zero(real_dir, tmp_path, capsys):
    from sigma.cli.main import main

    bad = flipped_bcf(real_dir, tmp_path)
    assert main(["info", str(bad)]) == 1
    assert f"File '{bad}' crashed the decoder" in capsys.readouterr().err
    assert main(["info", "--json", str(real_dir / "bcf" / "16x16_12bit_packed_8bit.bcf")]) == 0
    assert json.loads(capsys.readouterr().out)["total_counts"] == 20194.0  # manifest.json
