"""Check that the autoencoder trains on CUDA, and compare it with the CPU in the same run.

Two steps, because the GPU machine has PyTorch and scikit-learn but not HyperSpy/eXSpy:

1. here (any machine with SIGMA2 installed) write the phantom's z-scored line maps and
   its ground-truth labels::

       python benchmarks/check_cuda_autoencoder.py prepare --out .gpu/features.npz

2. on the GPU machine (``PYTHONPATH=src``)::

       python benchmarks/check_cuda_autoencoder.py train --features .gpu/features.npz

``train`` runs :meth:`sigma.src.dim_reduction.Experiment.run_model` with the tutorial's
options on ``cuda`` and on ``cpu`` from the same seed, checks that the model and the data
live on the GPU, that the loss falls, that ``get_latent`` uses the best checkpoint, and
scores a Gaussian mixture on each latent space against the ground truth (adjusted Rand
index). It prints one line per device and exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def prepare(out: Path, shape=(256, 256), counts: float = 100.0) -> None:
    from sigma.datasets.base import SEMDataset
    from sigma.synthetic import make_phantom

    ph = make_phantom(shape, counts_per_pixel=counts, seed=3)
    ds = SEMDataset(ph.to_signal())
    ds.set_feature_list(ph.xray_lines)
    ds.normalisation(["zscore"])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, features=ds.normalised_elemental_data.astype(np.float32), labels=ph.labels)
    print(f"wrote {out}: features {ds.normalised_elemental_data.shape}")


def _train(features, labels, device: str, epochs: int) -> dict:
    import torch
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    from sigma.models.autoencoder import AutoEncoder
    from sigma.src.dim_reduction import Experiment
    from sigma.src.utils import same_seeds

    same_seeds(1)
    with tempfile.TemporaryDirectory() as tmp:
        ex = Experiment(
            descriptor="cuda_check",
            general_results_dir=tmp,
            model=AutoEncoder,
            model_args={"hidden_layer_sizes": (512, 256, 128)},
            chosen_dataset=features,
            save_model_every_epoch=False,
            device=device,
        )
        on = {p.device.type for p in ex.model.parameters()} | {ex.features.device.type}
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        ex.run_model(
            num_epochs=epochs,
            patience=50,
            batch_size=256,
            learning_rate=1e-4,
            weight_decay=0.0,
            task="train_eval",
            noise_added=0.0,
            KLD_lambda=0.0,
            criterion="MSE",
            print_latent=False,
            lr_scheduler_args={"factor": 0.5, "patience": 5, "threshold": 1e-2, "min_lr": 1e-6},
            progress_bar=False,
        )
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        latent = ex.get_latent()
        best = ex.best_epoch_
    gmm = GaussianMixture(int(labels.max()) + 1, random_state=0).fit(latent)
    ari = adjusted_rand_score(labels.ravel(), gmm.predict(latent))
    losses = ex.history["eval_loss"]
    return {
        "device": device,
        "tensors_on": sorted(on),
        "seconds": round(seconds, 2),
        "s_per_epoch": round(seconds / len(ex.history["train_loss"]), 3),
        "epochs": len(ex.history["train_loss"]),
        "best_epoch": best,
        "eval_loss_first": round(losses[0], 5),
        "eval_loss_best": round(min(losses), 5),
        "latent_shape": list(latent.shape),
        "gmm_ari": round(float(ari), 4),
    }


def train(path: Path, epochs: int, devices: list[str]) -> int:
    import torch

    data = np.load(path)
    features, labels = data["features"], data["labels"]
    print(
        f"torch {torch.__version__}, cuda available {torch.cuda.is_available()}"
        + (f", {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "")
    )
    results = {d: _train(features, labels, d, epochs) for d in devices}
    for r in results.values():
        print(json.dumps(r))
    failed = []
    for d, r in results.items():
        if r["tensors_on"] != [d]:
            failed.append(f"{d}: tensors on {r['tensors_on']}")
        if not r["eval_loss_best"] < 0.8 * r["eval_loss_first"]:
            failed.append(f"{d}: eval loss did not fall by 20 %")
        if r["latent_shape"] != [features.shape[0] * features.shape[1], 2]:
            failed.append(f"{d}: latent shape {r['latent_shape']}")
    if "cuda" in results and "cpu" in results:
        print(f"cpu/cuda time ratio: {results['cpu']['seconds'] / results['cuda']['seconds']:.2f}")
    for f in failed:
        print("FAILED:", f)
    return 1 if failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("--out", type=Path, default=Path(".gpu/features.npz"))
    b = sub.add_parser("train")
    b.add_argument("--features", type=Path, default=Path(".gpu/features.npz"))
    b.add_argument("--epochs", type=int, default=30)
    b.add_argument("--devices", nargs="+", default=["cuda", "cpu"])
    args = p.parse_args(argv)
    if args.cmd == "prepare":
        prepare(args.out)
        return 0
    return train(args.features, args.epochs, args.devices)


if __name__ == "__main__":
    sys.exit(main())
