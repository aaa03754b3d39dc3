"""Data, noise and loss helpers of the autoencoder's training loop (:mod:`sigma.embedding.experiment`).

Seeding, the denoising noise, the KL term of a variational model, scaling to [0, 1], the
train/evaluation split, the feature matrix of a dataset, the torch device and argument checks;
:class:`FeatureDataset` is the tutorial's ``sigma.src.utils.FeatureDataset``.
"""

from __future__ import annotations

import math
import os
import random
from numbers import Integral, Real

import numpy as np
import torch

from sigma._errors import bad_value

__all__ = [
    "EVAL_FRACTION",
    "FeatureDataset",
    "SPLIT_SEED",
    "add_feature_noise",
    "kld_loss",
    "same_seeds",
    "scale_to_unit",
    "train_eval_split",
]

#: Share of the samples held out for evaluation with ``task='train_eval'`` (the tutorial's 85/15).
EVAL_FRACTION = 0.15
#: Seed of the train/eval split, so the split does not depend on the global random state.
SPLIT_SEED = 42


def same_seeds(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) and ask for deterministic kernels.

    After ``same_seeds(n)`` the model initialisation, batch order, denoising noise and VAE
    sampling of an :class:`Experiment` repeat exactly on the same device.

    Parameters
    ----------
    seed : int
        Seed for :mod:`random`, :mod:`numpy.random` and :mod:`torch`.

    Notes
    -----
    This sets process-wide state, which is its purpose: cuDNN benchmarking is turned off,
    ``torch.use_deterministic_algorithms(True, warn_only=True)`` is set and, if unset, the
    ``CUBLAS_WORKSPACE_CONFIG`` environment variable that deterministic cuBLAS needs.

    Examples
    --------
    >>> import torch
    >>> same_seeds(3); a = torch.rand(2)
    >>> same_seeds(3); b = torch.rand(2)
    >>> bool(torch.equal(a, b))
    True
    """
    if not isinstance(seed, Integral) or isinstance(seed, bool) or seed < 0:
        raise bad_value("seed", seed, "a non-negative int")
    seed = int(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)


def add_feature_noise(
    x: torch.Tensor,
    noise_added: float,
    feature_std: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Return ``x`` plus Gaussian noise whose std is ``noise_added * feature_std`` per column.

    Parameters
    ----------
    x : torch.Tensor
        Batch ``(N, F)``; it is not modified.
    noise_added : float
        Noise level as a multiple of each feature's standard deviation.
    feature_std : torch.Tensor
        Per-feature standard deviation ``(F,)``.
    generator : torch.Generator, optional
        Random generator; the global one when omitted.

    Returns
    -------
    torch.Tensor
        Noisy copy of ``x``.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.zeros(100_000, 2)
    >>> noisy = add_feature_noise(x, 0.5, torch.tensor([1.0, 4.0]), generator=g)
    >>> [round(v, 1) for v in noisy.std(0).tolist()]
    [0.5, 2.0]
    """
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + eps * (noise_added * feature_std)


def kld_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL divergence of ``N(mu, exp(logvar))`` from ``N(0, 1)``, averaged over all elements.

    ``-0.5 * mean(1 + logvar - mu**2 - exp(logvar))``.

    Examples
    --------
    >>> import torch
    >>> abs(float(kld_loss(torch.zeros(3, 2), torch.zeros(3, 2))))
    0.0
    >>> round(float(kld_loss(torch.ones(1, 2), torch.zeros(1, 2))), 3)
    0.5
    """
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())


def scale_to_unit(x: torch.Tensor) -> torch.Tensor:
    """Targets in ``[0, 1]`` for binary cross-entropy.

    Data already inside ``[0, 1]`` are returned unchanged; otherwise each feature is min-max
    scaled to ``[0, 1]`` (a constant feature becomes 0).

    Examples
    --------
    >>> import torch
    >>> scale_to_unit(torch.tensor([[-1.0, 5.0], [1.0, 5.0]])).tolist()
    [[0.0, 0.0], [1.0, 0.0]]
    >>> scale_to_unit(torch.tensor([[0.2, 0.8]])).tolist()
    [[0.20000000298023224, 0.800000011920929]]
    """
    if bool((x.min() >= 0) & (x.max() <= 1)):
        return x
    lo = x.min(dim=0).values
    span = x.max(dim=0).values - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    return (x - lo) / span


def train_eval_split(
    n_samples: int, eval_fraction: float = EVAL_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Random split of ``range(n_samples)`` into sorted train and eval indices.

    The eval set has ``ceil(eval_fraction * n_samples)`` samples (15 % by default, the
    tutorial's 85/15 split); both sets must be non-empty.

    Examples
    --------
    >>> tr, ev = train_eval_split(100)
    >>> len(tr), len(ev)
    (85, 15)
    >>> sorted(set(tr) | set(ev)) == list(range(100))
    True
    """
    if not isinstance(eval_fraction, Real) or not 0 < eval_fraction < 1:
        raise bad_value("eval_fraction", eval_fraction, "a float in (0, 1)")
    n_eval = math.ceil(eval_fraction * n_samples)
    if n_eval < 1 or n_samples - n_eval < 1:
        raise bad_value(
            "chosen_dataset",
            f"{n_samples} samples",
            f"at least 2 samples to split with eval_fraction={eval_fraction}",
        )
    perm = np.random.default_rng(seed).permutation(n_samples)
    return np.sort(perm[n_eval:]), np.sort(perm[:n_eval])


def _as_feature_matrix(chosen_dataset) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate and flatten ``(H, W, F)`` or ``(N, F)`` data to float32 ``(N, F)``."""
    if chosen_dataset is None:
        raise bad_value("chosen_dataset", None, "an array of shape (H, W, F) or (N, F)")
    if not isinstance(chosen_dataset, np.ndarray) and hasattr(chosen_dataset, "data"):
        chosen_dataset = chosen_dataset.data  # e.g. a HyperSpy signal
    arr = np.asarray(chosen_dataset)
    if arr.dtype.kind not in "biuf":
        raise bad_value("chosen_dataset", f"an array of dtype {arr.dtype}", "a numeric array")
    if arr.ndim not in (2, 3):
        raise bad_value(
            "chosen_dataset",
            f"an array of shape {arr.shape}",
            "an array of shape (H, W, F) or (N, F)",
        )
    if arr.size == 0:
        raise bad_value("chosen_dataset", f"an array of shape {arr.shape}", "a non-empty array")
    arr = arr.reshape(-1, arr.shape[-1]).astype(np.float32, copy=False)
    n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    if n_bad:
        raise bad_value(
            "chosen_dataset",
            f"an array with {n_bad} NaN/inf values",
            "an array of finite numbers",
        )
    return np.ascontiguousarray(arr), tuple(np.shape(chosen_dataset))


def _resolve_device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise bad_value("device", device, "None, 'cpu', 'cuda', 'cuda:N' or 'mps'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise bad_value("device", device, "'cpu' (CUDA is not available on this machine)")
    if dev.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise bad_value("device", device, "'cpu' (MPS is not available on this machine)")
    return dev


def _check_number(name, value, *, integer=False, minimum=0, allow_none=False):
    if value is None and allow_none:
        return None
    kind = Integral if integer else Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and not integer:
        ok = math.isfinite(value)
    if not ok or value < minimum:
        what = "an int" if integer else "a finite number"
        extra = " or None" if allow_none else ""
        raise bad_value(name, value, f"{what} >= {minimum}{extra}")
    return int(value) if integer else float(value)


# --------------------------------------------------------------------------- dataset
class FeatureDataset(torch.utils.data.Dataset):
    """Pixels of a feature cube as a map-style torch dataset (tutorial compatibility).

    :class:`Experiment` does not need it (it slices one device tensor); it is kept for code
    that used ``sigma.src.utils.FeatureDataset`` with a :class:`torch.utils.data.DataLoader`.

    Parameters
    ----------
    dataset : array_like
        Features ``(H, W, F)`` or ``(N, F)``.
    setname : {'all', 'train', 'test'}, default 'all'
        Which part of the 85/15 split of :func:`train_eval_split` to serve.
    noise : float, optional
        If set, items get Gaussian noise with std ``noise * std_f`` (``std_f`` of the whole
        dataset), as in :func:`add_feature_noise`.

    Examples
    --------
    >>> import numpy as np
    >>> ds = FeatureDataset(np.arange(40, dtype="float32").reshape(2, 10, 2), "test")
    >>> len(ds), tuple(ds[0].shape)
    (3, (2,))
    """

    def __init__(self, dataset, setname: str = "all", noise: float | None = None) -> None:
        data, _ = _as_feature_matrix(dataset)
        if setname not in ("all", "train", "test"):
            raise bad_value("setname", setname, "one of 'all', 'train', 'test'")
        self.noise = _check_number("noise", noise, allow_none=True)
        self.data = torch.from_numpy(data)
        self.feature_std = self.data.std(dim=0)
        if setname == "all":
            self.indices = np.arange(len(data))
        else:
            train, test = train_eval_split(len(data))
            self.indices = train if setname == "train" else test

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx) -> torch.Tensor:
        x = self.data[self.indices[idx]]
        if self.noise:
            x = add_feature_noise(x, self.noise, self.feature_std)
        return x


# --------------------------------------------------------------------------- experiment
