"""Small phantoms and a fast configuration for pipeline tests."""

from __future__ import annotations

import pytest

from sigma.pipeline.config import validate_config

#: A configuration that runs in about a second: tiny autoencoder, GMM with 5 components.
FAST = {
    "preprocess": {"bin": [1, 1]},
    "latent": {
        "method": "autoencoder",
        "autoencoder": {
            "hidden_layer_sizes": [32, 16], "device": "cpu",
            "run": {"num_epochs": 8, "batch_size": 64, "learning_rate": 3e-3, "patience": 50,
                    "lr_scheduler_args": {}},
        },
    },
    "clustering": {"method_args": {"n_components": 5, "random_state": 0, "init_params": "kmeans"}},
    "nmf": {"n_components": 3, "method_args": {"init": "nndsvda", "random_state": 0, "max_iter": 500}},
    "report": {"enabled": False},
    "identify": {"enabled": False},  # naming has its own tests (test_identify_stage.py)
}


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory):
    """``sigma demo`` run once on a 48 × 64 phantom; the ``OUT/phantom`` folder."""
    from sigma.cli.main import main

    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["-q", "demo", "--out", str(out), "--size", "48", "64"]) == 0
    return out / "phantom"


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny networks train faster on one thread (and do not fight other test processes)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def fast_cfg():
    return validate_config(FAST)


@pytest.fixture(scope="session")
def fast_cfg_shared():
    """:data:`FAST` validated once, for module-scoped fixtures (read it, do not change it)."""
    return validate_config(FAST)


@pytest.fixture(scope="session")
def make_input(tmp_path_factory):
    """``make_input(name, seed=0, shape=(24, 32), fmt='hspy')`` writes a phantom file."""
    from sigma.synthetic import make_phantom

    root = tmp_path_factory.mktemp("inputs")
    cache = {}

    def make(name="ph", seed=0, shape=(24, 32), fmt="hspy", counts=300):
        key = (name, seed, shape, fmt, counts)
        if key not in cache:
            ph = make_phantom(shape, counts_per_pixel=counts, n_channels=512, energy_scale=0.04,
                              energy_offset=-0.1, seed=seed)
            d = root / f"{name}-{seed}-{fmt}"
            d.mkdir()
            path = d / f"{name}.{fmt}"
            (ph.save_hspy if fmt == "hspy" else ph.save_h5oina)(path)
            cache[key] = (path, ph)
        return cache[key]

    return make
