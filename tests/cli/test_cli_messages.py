"""Exit codes and messages of the command line (issue 14, item 10)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigma.cli.main import main

SRC = Path(__file__).resolve().parents[2] / "src"


def _env():
    return {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(SRC)}


@pytest.mark.parametrize(
    ("text", "message"),
    [("a = [\n", "is not valid TOML"), (None, "does not exist; expected a TOML configuration file")],
)
def test_bad_or_missing_config_exits_2(real_dir, tmp_path, capsys, text, message):
    cfg = tmp_path / "c.toml"
    if text is not None:
        cfg.write_text(text)
    rc = main(["run", str(real_dir / "hspy/core_shell.hspy"), "--config", str(cfg),
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_workers_0_is_a_usage_error(real_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(real_dir / "hspy/core_shell.hspy"), "--workers", "0", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "--workers: must be an int >= 1, got 0" in capsys.readouterr().err


def test_demo_with_a_missing_or_broken_config_exits_2(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "o"), "--config", str(tmp_path / "no.toml")]) == 2
    (tmp_path / "bad.toml").write_text("x = \n")
    assert main(["demo", "--out", str(tmp_path / "o"), "--config", str(tmp_path / "bad.toml")]) == 2
    err = capsys.readouterr().err
    assert "no.toml' does not exist" in err and "bad.toml' is not valid TOML" in err


def test_closed_pipe_prints_no_broken_pipe_error(real_dir):
    """`sigma info F | head` (the reader leaves before the output is written)."""
    for argv in (["config", "--example"], ["info", str(real_dir / "bcf/test_TEM.bcf")]):
        r, w = os.pipe()
        os.close(r)  # nobody reads
        p = subprocess.run([sys.executable, "-m", "sigma", *argv], stdout=w, stderr=subprocess.PIPE,
                           env=_env(), text=True, timeout=120)
        os.close(w)
        assert "Broken pipe" not in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert p.returncode == 141


def test_info_exits_non_zero_on_a_file_it_cannot_load(tmp_path, capsys):
    bad = tmp_path / "x.hspy"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"junk" * 50)
    assert main(["info", str(bad)]) == 1
    assert f"File '{bad}' could not be read" in capsys.readouterr().err
