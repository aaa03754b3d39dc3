"""``input.kind = "auto"``: a TEM file opens as a TEMDataset without being told."""

from __future__ import annotations

import pytest

from sigma.datasets import SEMDataset, TEMDataset
from sigma.pipeline.config import validate_config
from sigma.pipeline.stages import load_dataset


@pytest.mark.parametrize("name, cls", [("bcf/test_TEM.bcf", TEMDataset),
                                       ("hspy/core_shell.hspy", TEMDataset),
                                       ("bcf/16x16_12bit_packed_8bit.bcf", SEMDataset)])
def test_auto_kind_follows_the_file(real_dir, name, cls):
    cfg = validate_config({})
    assert cfg["input"]["kind"] == "auto"
    ds = load_dataset(real_dir / name, cfg)
    assert type(ds) is cls
    assert ds.file_path == real_dir / name
    assert ds.spectra.metadata.Signal.signal_type == cls._signal_type


def test_a_given_kind_wins(real_dir):
    ds = load_dataset(real_dir / "bcf" / "test_TEM.bcf", validate_config({"input": {"kind": "SEM"}}))
    assert type(ds) is SEMDataset


def test_auto_kind_of_a_lazy_file_and_a_signal(real_dir):
    from sigma.pipeline.runner import prepare_dataset

    cfg = validate_config({"preprocess": {"bin": [1, 1]}})
    ds = load_dataset(real_dir / "hspy" / "core_shell.hspy", cfg, lazy=True)
    assert type(ds) is TEMDataset and ds.lazy
    prepared = prepare_dataset(ds.spectra, cfg)
    assert type(prepared) is TEMDataset
