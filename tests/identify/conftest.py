"""Fixtures of the identification tests (the helpers live in ``_spectra.py``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def energy():
    from sigma.synthetic import energy_axis

    return energy_axis(1024, 0.02, -0.1)
