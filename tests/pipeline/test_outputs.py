"""Atomic writes, staging folders, overwrite safety and Ctrl-C cleanup."""

from __future__ import annotations

import numpy as np
import pytest

from sigma.pipeline import results, runner
from sigma.pipeline.outputs import (
    OutputExistsError,
    StagedOutput,
    atomic_write_npy,
    atomic_write_text,
)


def test_atomic_write_leaves_no_temporary(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "x")
    atomic_write_npy(tmp_path / "b.npy", np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.npy"]


def test_staged_output_commit_and_abort(tmp_path):
    with StagedOutput(tmp_path, "s") as st:
        atomic_write_text(st.path / "f.txt", "1")
        assert st.path.name.startswith(".s.partial-")
    assert (tmp_path / "s" / "f.txt").read_text() == "1"
    with pytest.raises(OutputExistsError, match=r"File '.*s' already exists; expected .*--overwrite"):
        with StagedOutput(tmp_path, "s"):
            pass
    with pytest.raises(RuntimeError), StagedOutput(tmp_path, "s", overwrite=True) as st:
        atomic_write_text(st.path / "g.txt", "2")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert (tmp_path / "s" / "f.txt").exists()  # the old output survives a failed overwrite
    with StagedOutput(tmp_path, "s", overwrite=True) as st:
        atomic_write_text(st.path / "g.txt", "2")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["g.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_keyboard_interrupt_leaves_no_partial_files(tmp_path, make_input, fast_cfg, monkeypatch):
    path, _ = make_input()

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "write_outputs", lambda folder, *a, **k: (
        atomic_write_text(folder / "labels.npy", "half"), interrupted()))
    with pytest.raises(KeyboardInterrupt):
        runner.run_batch([path], fast_cfg, tmp_path / "out", progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_keyboard_interrupt_in_cli_exits_130(tmp_path, make_input, monkeypatch, capsys):
    from sigma.cli.main import main

    path, _ = make_input()
    monkeypatch.setattr(runner, "_unmix", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    cfg = tmp_path / "c.toml"
    cfg.write_text('[latent]\nmethod = "autoencoder"\n[latent.autoencoder]\nhidden_layer_sizes = [8]\n'
                   '[latent.autoencoder.run]\nnum_epochs = 1\n[preprocess]\nbin = [1, 1]\n')
    assert main(["-q", "run", str(path), "--config", str(cfg), "--out", str(tmp_path / "o")]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert list((tmp_path / "o").iterdir()) == []
