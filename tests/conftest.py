"""Shared fixtures: where the real instrument files live, and quiet HyperSpy imports."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", module=r"hyperspy\..*")
os.environ.setdefault("SIGMA_PROGRESS", "0")
# no background UMAP compilation when a test imports umap before sigma.utils (see
# sigma.embedding.umap.tutorial_warm_up; tests/embedding/test_umap.py checks it on its own)
os.environ.setdefault("SIGMA_UMAP_WARMUP", "0")

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$SIGMA_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("SIGMA_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


REAL = shared_data_dir() / "real"
VENDOR = shared_data_dir() / "vendor_demo"


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL.exists():
        pytest.fail(f"real test data not found at {REAL}; set SIGMA_SHARED_DATA")
    return REAL


@pytest.fixture(scope="session")
def vendor_dir() -> Path:
    return VENDOR


@pytest.fixture(scope="session")
def manifest(real_dir) -> dict:
    data = json.loads((real_dir / "manifest.json").read_text())
    return {f["file"]: f for f in data["files"]}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    d = Path(os.environ.get("SIGMA_ARTIFACTS", ROOT / "artifacts"))
    d.mkdir(parents=True, exist_ok=True)
    return d
