"""Reuse the generated dataset of tests/clustering (loaded by path; tests are not packages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "sigma_test_toydata", Path(__file__).parents[1] / "clustering" / "toydata.py"
)
toydata = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toydata)


@pytest.fixture(scope="session")
def toy():
    return toydata.ToyDataset()


@pytest.fixture(scope="session")
def toy_lazy():
    return toydata.ToyDataset(lazy=True)
