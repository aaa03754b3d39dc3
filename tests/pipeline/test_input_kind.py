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


@pytest.mark.parametrize(("name", "user", "size"), [("bcf/test_TEM.bcf", {}, (2, 2)),
                                                     ("hspy/core_shell.hspy", {}, (2, 2)),
                                                     ("bcf/30x30_instructively_packed_16bit_compressed.bcf", {}, (3, 3)),
                                                     ("bcf/test_TEM.bcf", {"input": {"kind": "SEM"}}, (3, 3)),
                                                     ("bcf/test_TEM.bcf", {"preprocess": {"bin": [4, 4]}}, (4, 4))])
def test_the_default_bin_follows_the_kind(real_dir, name, user, size):
    """``preprocess.bin = "auto"`` (the default): 2 × 2 for a TEM map, 3 × 3 for an SEM map; a
    given size or kind wins."""
    from sigma.pipeline.stages import preprocess_dataset

    cfg = validate_config(user)
    ds = load_dataset(real_dir / name, cfg)
    h, w = ds.shape[:2]
    preprocess_dataset(ds, cfg)
    assert tuple(ds.bin_size) == size
    assert ds.analysis_spectra.data.shape[:2] == (h // size[0], w // size[1])


def test_a_bad_bin_names_the_key():
    with pytest.raises(Exception, match=r"preprocess\.bin.*\"auto\" or a pair of positive ints"):
        validate_config({"preprocess": {"bin": "big"}})
