"""Training loop for the autoencoder latent space: :class:`Experiment` and its helpers.

:class:`Experiment` keeps the tutorial's interface (``Experiment(...)``, ``run_model(...)``,
``get_latent()``) and fixes the upstream defects listed in ``docs/upstream-behaviour.md``:

* the latent space comes from the **best** checkpoint, not from the last epoch;
* ``KLD_lambda > 0`` really makes the model variational (see :meth:`Experiment.run_model`);
* ``task='train_eval'`` holds out 15 % of the pixels, as the tutorial documents;
* denoising noise has standard deviation ``noise_added * std_f`` per feature ``f``;
* early stopping counts epochs exactly, and ``print_latent`` uses matplotlib only;
* the whole dataset lives in one tensor on the device and batches are index slices.

Checkpoints are plain ``state_dict`` files written with :func:`torch.save` next to a small
JSON file with the model's constructor arguments; they are read back with
``torch.load(..., weights_only=True)``, which never unpickles code.

Examples
--------
>>> import tempfile; tmp = tempfile.TemporaryDirectory()
>>> import numpy as np
>>> from sigma.embedding import Experiment, AutoEncoder, same_seeds
>>> same_seeds(0)
>>> cube = np.random.default_rng(0).normal(size=(6, 5, 3)).astype("float32")
>>> ex = Experiment("demo", tmp.name, AutoEncoder, {"hidden_layer_sizes": (8, 4)}, cube)
>>> ex = ex.run_model(num_epochs=1, patience=5, batch_size=8, learning_rate=1e-3,
...                   weight_decay=0.0, progress_bar=False)
>>> ex.get_latent().shape
(30, 2)
>>> tmp.cleanup()
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from sigma._errors import bad_value
from sigma._progress import progress_enabled
from sigma.embedding._checkpoints import CheckpointMixin
from sigma.embedding._training import (
    EVAL_FRACTION,
    FeatureDataset,
    _as_feature_matrix,
    _check_number,
    _resolve_device,
    add_feature_noise,
    kld_loss,
    same_seeds,
    scale_to_unit,
    train_eval_split,
)
from sigma.embedding.autoencoder import VariationalAutoEncoder

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "The autoencoder needs PyTorch, which is not installed. "
        "Install it with: pip install 'sigma2-eds[torch]'"
    ) from exc

__all__ = [
    "Experiment",
    "FeatureDataset",
    "add_feature_noise",
    "kld_loss",
    "same_seeds",
    "scale_to_unit",
    "train_eval_split",
]

logger = logging.getLogger(__name__)

#: A monitored loss counts as improved only if it drops by more than this relative amount, so
#: float rounding (e.g. a different batch order at learning rate 0) is not an improvement.
MIN_REL_IMPROVEMENT = 1e-6
#: Rows per forward pass when evaluating or encoding without gradients.
INFERENCE_BATCH = 65536

_CRITERIA = ("MSE", "BCE", "L1")
_TASKS = ("train_all", "train_eval")
#: ``ReduceLROnPlateau`` arguments that older torch accepted and newer torch removed.
_DROPPED_SCHEDULER_KEYS = ("verbose",)


class Experiment(CheckpointMixin):
    """Train an autoencoder on pixel feature vectors and return their latent coordinates.

    Parameters
    ----------
    descriptor : str
        Short name of the run; checkpoints go to
        ``<general_results_dir>/Model-<descriptor>/params/``.
    general_results_dir : str or path-like
        Folder under which the run's folder is created (on the first :meth:`run_model`).
    model : type or torch.nn.Module
        :class:`~sigma.embedding.autoencoder.AutoEncoder`,
        :class:`~sigma.embedding.autoencoder.VariationalAutoEncoder` (built as
        ``model(in_dim=F, **model_args)``) or an already built instance with ``in_dim == F``.
    model_args : dict, optional
        Constructor arguments, e.g. ``{'hidden_layer_sizes': (512, 256, 128)}``.
    chosen_dataset : array_like
        Features, ``(H, W, F)`` or ``(N, F)``, finite; usually
        ``sem.normalised_elemental_data``.
    save_model_every_epoch : bool, default False
        Also keep one checkpoint per epoch (``..._epochNNN.pt``). The best checkpoint
        (``..._best.pt``) is always kept.
    device : str or torch.device, optional
        ``None`` picks CUDA when available, else the CPU; ``'mps'`` may be given explicitly.

    Attributes
    ----------
    model : torch.nn.Module
        The network; after :meth:`run_model` it holds the last epoch's weights until
        :meth:`get_latent` or :meth:`load_model` loads a checkpoint.
    history : dict of list
        Per-epoch ``train_loss``, ``eval_loss`` (NaN for ``'train_all'``) and ``lr``.
    results_dir, params_dir : pathlib.Path
        The run's folder and its checkpoint folder.
    best_checkpoint_, best_epoch_, best_loss_ : Path, int, float
        Best checkpoint of the last :meth:`run_model` (epochs count from 1).
    stopped_epoch_ : int or None
        Epoch at which early stopping ended training, else None.
    train_indices_, eval_indices_ : numpy.ndarray
        Flat pixel indices used for training and evaluation in the last run.

    Examples
    --------
    >>> import tempfile; tmp = tempfile.TemporaryDirectory()
    >>> from sigma.embedding.autoencoder import AutoEncoder
    >>> import numpy as np
    >>> same_seeds(1)
    >>> x = np.random.default_rng(1).normal(size=(40, 4)).astype("float32")
    >>> ex = Experiment(descriptor="toy", general_results_dir=tmp.name, model=AutoEncoder,
    ...                 model_args={"hidden_layer_sizes": (8,)}, chosen_dataset=x)
    >>> _ = ex.run_model(num_epochs=1, patience=5, batch_size=16, learning_rate=1e-3,
    ...                  weight_decay=0.0, task="train_eval", progress_bar=False)
    >>> len(ex.train_indices_), len(ex.eval_indices_), ex.best_checkpoint_.name
    (34, 6, 'Model-toy_best.pt')
    >>> tmp.cleanup()
    """

    def __init__(
        self,
        descriptor: str,
        general_results_dir,
        model,
        model_args: Mapping | None = None,
        chosen_dataset=None,
        save_model_every_epoch: bool = False,
        *,
        device=None,
    ) -> None:
        if (
            not isinstance(descriptor, str)
            or not descriptor.strip()
            or any(sep in descriptor for sep in ("/", "\\", os.sep))
            or descriptor in (".", "..")
        ):
            raise bad_value("descriptor", descriptor, "a non-empty name without path separators")
        if not isinstance(save_model_every_epoch, bool):
            raise bad_value("save_model_every_epoch", save_model_every_epoch, "True or False")
        self.descriptor = descriptor
        self.model_name = f"Model-{descriptor}"
        self.general_results_dir = Path(general_results_dir)
        self.results_dir = self.general_results_dir / self.model_name
        self.params_dir = self.results_dir / "params"
        self.save_model_every_epoch = save_model_every_epoch
        self.device = _resolve_device(device)

        data, self.data_shape = _as_feature_matrix(chosen_dataset)
        self.n_samples, self.n_features = data.shape
        self.features = torch.from_numpy(data).to(self.device)
        self.model = self._build_model(model, model_args)

        self.history: dict[str, list[float]] = {"train_loss": [], "eval_loss": [], "lr": []}
        self.best_checkpoint_: Path | None = None
        self.best_epoch_: int | None = None
        self.best_loss_: float | None = None
        self.stopped_epoch_: int | None = None
        self.train_indices_: np.ndarray | None = None
        self.eval_indices_: np.ndarray | None = None
        self.latent_figure_ = None
        self._latent_checkpoint: Path | None = None

    def __repr__(self) -> str:
        return (
            f"Experiment(descriptor={self.descriptor!r}, model={type(self.model).__name__}, "
            f"n_samples={self.n_samples}, n_features={self.n_features}, device='{self.device}')"
        )

    # ------------------------------------------------------------------ model handling
    def _build_model(self, model, model_args) -> nn.Module:
        if model_args is None:
            model_args = {}
        if not isinstance(model_args, Mapping):
            raise bad_value("model_args", model_args, "a dict of model constructor arguments")
        if isinstance(model, nn.Module):
            if model_args:
                raise bad_value("model_args", dict(model_args), "empty when model is an instance")
            in_dim = getattr(model, "in_dim", self.n_features)
            if in_dim != self.n_features:
                raise bad_value(
                    "model",
                    f"{type(model).__name__} with in_dim={in_dim}",
                    f"a model with in_dim={self.n_features} (the number of features)",
                )
            built = model
        elif isinstance(model, type) and issubclass(model, nn.Module):
            if "in_dim" in model_args or "in_channel" in model_args:
                raise bad_value(
                    "model_args", dict(model_args), "no 'in_dim' (it is taken from chosen_dataset)"
                )
            try:
                built = model(in_dim=self.n_features, **model_args)
            except TypeError as exc:
                raise bad_value(
                    "model_args",
                    dict(model_args),
                    f"arguments accepted by {model.__name__} ({exc})",
                ) from None
        else:
            raise bad_value(
                "model", model, "AutoEncoder, VariationalAutoEncoder or a torch.nn.Module instance"
            )
        if not hasattr(built, "encode"):
            raise bad_value("model", type(built).__name__, "a module with an 'encode' method")
        return built.to(self.device)

    def _make_variational(self) -> None:
        """Replace a deterministic model by a VAE of the same shape (fresh weights)."""
        old = self.model
        cfg = getattr(old, "config", None)
        if cfg is None:
            raise bad_value(
                "KLD_lambda",
                "> 0 with a custom non-variational model",
                "0.0, or a model with a 'config' (AutoEncoder/VariationalAutoEncoder)",
            )
        args = {k: v for k, v in cfg.items() if k != "model"}
        self.model = VariationalAutoEncoder(**args).to(self.device)
        logger.info(
            "KLD_lambda > 0: training a VariationalAutoEncoder with the same layer sizes "
            "(%s) instead of %s; its weights start fresh.",
            args,
            type(old).__name__,
        )

    # ------------------------------------------------------------------ checkpoints
    # ------------------------------------------------------------------ training
    def _loss(self, xin, target, crit, kld_lambda) -> torch.Tensor:
        m = self.model
        if getattr(m, "variational", False):
            mu, logvar = m.encode_distribution(xin)
            z = m.reparameterise(mu, logvar) if m.training else mu
            loss = crit(m.decode(z), target)
            if kld_lambda:
                loss = loss + kld_lambda * kld_loss(mu, logvar)
            return loss
        return crit(m(xin), target)

    @staticmethod
    def _scheduler_kwargs(lr_scheduler_args) -> tuple[dict, bool] | None:
        if lr_scheduler_args is None:
            return None
        if not isinstance(lr_scheduler_args, Mapping):
            raise bad_value("lr_scheduler_args", lr_scheduler_args, "a dict or None")
        accepted = set(inspect.signature(torch.optim.lr_scheduler.ReduceLROnPlateau).parameters)
        accepted.discard("optimizer")
        kwargs, verbose = {}, False
        for key, val in lr_scheduler_args.items():
            if key in accepted:
                kwargs[key] = val
            elif key in _DROPPED_SCHEDULER_KEYS:
                verbose = bool(val)
                warnings.warn(
                    f"lr_scheduler_args key {key!r} is not accepted by this torch version's "
                    "ReduceLROnPlateau and was dropped; learning-rate changes are logged "
                    "at INFO level instead.",
                    UserWarning,
                    stacklevel=3,
                )
            else:
                raise bad_value(
                    "lr_scheduler_args",
                    dict(lr_scheduler_args),
                    f"keys among {sorted(accepted)} (unknown key {key!r})",
                )
        return kwargs, verbose

    def run_model(
        self,
        num_epochs: int = 50,
        patience: int | None = 50,
        batch_size: int = 64,
        learning_rate: float = 1e-4,
        weight_decay: float = 0.0,
        task: str = "train_all",
        noise_added: float | None = 0.0,
        KLD_lambda: float | None = 0.0,  # noqa: N803 - tutorial name
        criterion: str = "MSE",
        print_latent: bool = False,
        lr_scheduler_args: Mapping | None = None,
        *,
        eval_fraction: float = EVAL_FRACTION,
        progress_bar: bool | None = None,
    ) -> Experiment:
        """Train :attr:`model` with Adam, early stopping and an optional LR scheduler.

        Parameters
        ----------
        num_epochs : int, default 50
            Maximum number of passes over the training pixels.
        patience : int or None, default 50
            Stop after this many consecutive epochs without improvement of the monitored
            loss (the eval loss for ``'train_eval'``, the train loss for ``'train_all'``).
            With a constant loss, training stops after ``patience + 1`` epochs. ``None``
            never stops early.
        batch_size : int, default 64
            Pixels per optimiser step.
        learning_rate : float, default 1e-4
            Initial Adam learning rate.
        weight_decay : float, default 0.0
            Adam L2 penalty.
        task : {'train_all', 'train_eval'}, default 'train_all'
            Train on every pixel, or on 85 % of them while monitoring the loss on the
            held-out 15 % (:func:`train_eval_split`, fixed seed).
        noise_added : float or None, default 0.0
            Denoising autoencoder: inputs (not targets) get Gaussian noise with std
            ``noise_added * std_f`` per feature, ``std_f`` from the training pixels.
            0 or None: no noise.
        KLD_lambda : float or None, default 0.0
            Weight of the KL divergence (:func:`kld_loss`). ``> 0`` trains a variational
            autoencoder: if :attr:`model` is not variational, it is replaced by a
            :class:`~sigma.embedding.autoencoder.VariationalAutoEncoder` with the same
            ``in_dim``, ``hidden_layer_sizes`` and ``latent_dim`` and fresh weights.
        criterion : {'MSE', 'BCE', 'L1'}, default 'MSE'
            Reconstruction loss. ``'BCE'`` reads the decoder's linear output as logits
            (:class:`torch.nn.BCEWithLogitsLoss`); its targets are the inputs when they lie in
            ``[0, 1]`` and otherwise the inputs min-max scaled per feature
            (:func:`scale_to_unit`). The encoder always sees the unscaled inputs.
        print_latent : bool, default False
            After training, log a summary of the latent space and draw it with matplotlib
            (:meth:`plot_latent`; stored in :attr:`latent_figure_`).
        lr_scheduler_args : dict, optional
            Arguments of :class:`torch.optim.lr_scheduler.ReduceLROnPlateau`, which then
            steps on the monitored loss each epoch. ``verbose`` (removed from torch) is
            dropped with a warning and learning-rate changes are logged instead. None: constant
            learning rate.
        eval_fraction : float, default 0.15
            Held-out share for ``'train_eval'``.
        progress_bar : bool or None, default None
            Show a tqdm bar over epochs with the losses (on stderr). ``None`` follows the
            ``SIGMA_PROGRESS`` environment variable like every other SIGMA2 bar: shown unless
            it is ``0``, ``false`` or ``no``. ``True`` or ``False`` shows or hides the bar
            whatever the variable says.

        Returns
        -------
        Experiment
            ``self``; losses are in :attr:`history` and the best checkpoint in
            :attr:`best_checkpoint_`.

        Examples
        --------
        >>> import tempfile; tmp = tempfile.TemporaryDirectory()
        >>> from sigma.embedding.autoencoder import AutoEncoder
        >>> import numpy as np
        >>> same_seeds(0)
        >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        >>> ex = Experiment("run", tmp.name, AutoEncoder, {"hidden_layer_sizes": (8,)}, x)
        >>> _ = ex.run_model(num_epochs=3, patience=1, batch_size=16, learning_rate=0.0,
        ...                  progress_bar=False)
        >>> len(ex.history["train_loss"]), ex.stopped_epoch_
        (2, 2)
        >>> tmp.cleanup()
        """
        num_epochs = _check_number("num_epochs", num_epochs, integer=True, minimum=1)
        patience = _check_number("patience", patience, integer=True, minimum=0, allow_none=True)
        batch_size = _check_number("batch_size", batch_size, integer=True, minimum=1)
        learning_rate = _check_number("learning_rate", learning_rate)
        weight_decay = _check_number("weight_decay", weight_decay)
        noise = _check_number("noise_added", noise_added, allow_none=True) or 0.0
        kld_lambda = _check_number("KLD_lambda", KLD_lambda, allow_none=True) or 0.0
        if task not in _TASKS:
            raise bad_value("task", task, "one of 'train_all', 'train_eval'")
        crit_name = criterion.upper() if isinstance(criterion, str) else criterion
        if crit_name not in _CRITERIA:
            raise bad_value("criterion", criterion, "one of 'MSE', 'BCE', 'L1'")
        if not isinstance(print_latent, bool):
            raise bad_value("print_latent", print_latent, "True or False")
        if progress_bar is not None and not isinstance(progress_bar, bool):
            raise bad_value("progress_bar", progress_bar, "True, False or None")
        show_bar = progress_enabled() if progress_bar is None else progress_bar
        sched = self._scheduler_kwargs(lr_scheduler_args)

        if kld_lambda > 0 and not getattr(self.model, "variational", False):
            self._make_variational()
        model = self.model

        x_all = self.features
        if task == "train_eval":
            train_idx, eval_idx = train_eval_split(self.n_samples, eval_fraction)
        else:
            train_idx, eval_idx = np.arange(self.n_samples), np.arange(0)
        self.train_indices_, self.eval_indices_ = train_idx, eval_idx
        train_idx_t = torch.from_numpy(train_idx).to(self.device)
        eval_idx_t = torch.from_numpy(eval_idx).to(self.device)

        if crit_name == "BCE":
            target_all = scale_to_unit(x_all)
            crit = nn.BCEWithLogitsLoss()
        else:
            target_all = x_all
            crit = nn.MSELoss() if crit_name == "MSE" else nn.L1Loss()
        feature_std = x_all[train_idx_t].std(dim=0, correction=0) if noise else None

        # On CUDA the fused Adam kernel updates every parameter in one launch: small models
        # are bound by kernel launches there, not by arithmetic.
        optimiser = torch.optim.Adam(
            model.parameters(),
            lr=learning_rate,
            weight_decay=weight_decay,
            fused=self.device.type == "cuda" or None,
        )
        scheduler, sched_verbose = None, False
        if sched is not None:
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, **sched[0])
            sched_verbose = sched[1]

        self.params_dir.mkdir(parents=True, exist_ok=True)
        best_path = self._checkpoint_path("best")
        self.history = {"train_loss": [], "eval_loss": [], "lr": []}
        self.best_checkpoint_, self.best_epoch_, self.best_loss_ = None, None, None
        self.stopped_epoch_ = None
        best, wait = math.inf, 0
        n_train = len(train_idx)

        from tqdm.auto import tqdm

        bar = tqdm(
            range(1, num_epochs + 1), desc=self.model_name, unit="epoch", disable=not show_bar
        )
        for epoch in bar:
            lr = optimiser.param_groups[0]["lr"]
            model.train()
            order = train_idx_t[torch.randperm(n_train).to(self.device)]
            total = torch.zeros((), device=self.device)
            for start in range(0, n_train, batch_size):
                idx = order[start : start + batch_size]
                xb = x_all[idx]
                xin = add_feature_noise(xb, noise, feature_std) if noise else xb
                loss = self._loss(xin, target_all[idx], crit, kld_lambda)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total += loss.detach() * len(idx)
            train_loss = float(total) / n_train

            if task == "train_eval":
                eval_loss = self._evaluate(eval_idx_t, target_all, crit, kld_lambda)
                monitored = eval_loss
            else:
                eval_loss, monitored = math.nan, train_loss
            self.history["train_loss"].append(train_loss)
            self.history["eval_loss"].append(eval_loss)
            self.history["lr"].append(lr)

            if not math.isfinite(monitored):
                logger.warning(
                    "Epoch %d: the monitored loss is %s; training stopped (try a lower "
                    "learning_rate).",
                    epoch,
                    monitored,
                )
                self.stopped_epoch_ = epoch
                break
            if monitored < best - MIN_REL_IMPROVEMENT * abs(best) or self.best_epoch_ is None:
                best, wait = monitored, 0
                self.best_epoch_, self.best_loss_ = epoch, monitored
                self._save_checkpoint(best_path, epoch, monitored)
                self.best_checkpoint_ = best_path
            else:
                wait += 1
            if self.save_model_every_epoch:
                self._save_checkpoint(self._checkpoint_path(f"epoch{epoch:03d}"), epoch, monitored)
            if scheduler is not None:
                scheduler.step(monitored)
                new_lr = optimiser.param_groups[0]["lr"]
                if sched_verbose and new_lr != lr:
                    logger.info("Epoch %d: learning rate reduced to %.3g.", epoch, new_lr)
            postfix = {"train_loss": f"{train_loss:.4g}", "lr": f"{lr:.2g}"}
            if task == "train_eval":
                postfix["eval_loss"] = f"{eval_loss:.4g}"
            bar.set_postfix(postfix, refresh=False)
            if patience is not None and wait >= patience:
                self.stopped_epoch_ = epoch
                logger.info(
                    "Early stopping at epoch %d: no improvement for %d epochs (best epoch %d).",
                    epoch,
                    wait,
                    self.best_epoch_,
                )
                break
        bar.close()
        self._latent_checkpoint = self.best_checkpoint_
        if print_latent:
            self.plot_latent()
        return self

    def _evaluate(self, idx_t, target_all, crit, kld_lambda) -> float:
        self.model.eval()
        total = torch.zeros((), device=self.device)
        with torch.inference_mode():
            for start in range(0, len(idx_t), INFERENCE_BATCH):
                idx = idx_t[start : start + INFERENCE_BATCH]
                loss = self._loss(self.features[idx], target_all[idx], crit, kld_lambda)
                total += loss * len(idx)
        return float(total) / len(idx_t)

    # ------------------------------------------------------------------ results
    def get_latent(self, checkpoint=None) -> np.ndarray:
        """Latent coordinates of every pixel, from the best checkpoint.

        Parameters
        ----------
        checkpoint : str or path-like, optional
            Checkpoint to encode with. By default the best checkpoint of the last
            :meth:`run_model` (or the one last given to :meth:`load_model`); with neither,
            the current weights. For a VAE the latent is the posterior mean.

        Returns
        -------
        numpy.ndarray
            ``(N, latent_dim)`` float32, rows in the flattened pixel order of
            ``chosen_dataset`` (``N = H * W``).

        Examples
        --------
        >>> import tempfile; tmp = tempfile.TemporaryDirectory()
        >>> from sigma.embedding.autoencoder import AutoEncoder
        >>> import numpy as np
        >>> x = np.zeros((2, 3, 4), dtype="float32")
        >>> ex = Experiment("gl", tmp.name, AutoEncoder, {"hidden_layer_sizes": (4,)}, x)
        >>> ex.get_latent().shape, ex.get_latent().dtype
        ((6, 2), dtype('float32'))
        >>> tmp.cleanup()
        """
        path = checkpoint if checkpoint is not None else self._latent_checkpoint
        if path is not None:
            self.load_model(path)
        self.model.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, self.n_samples, INFERENCE_BATCH):
                z = self.model.encode(self.features[start : start + INFERENCE_BATCH])
                out.append(z.float().cpu())
        return torch.cat(out).numpy()

    def plot_latent(self, latent: np.ndarray | None = None):
        """Log a summary of the latent space and draw it as a scatter plot.

        Uses matplotlib (imported here only); works headless. The figure is stored in
        :attr:`latent_figure_` and returned; in Jupyter's inline backend it is shown.

        Examples
        --------
        >>> import tempfile; tmp = tempfile.TemporaryDirectory()
        >>> from sigma.embedding.autoencoder import AutoEncoder
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
        >>> ex = Experiment("pl", tmp.name, AutoEncoder, {"hidden_layer_sizes": (4,)}, x)
        >>> fig = ex.plot_latent()
        >>> len(fig.axes)
        1
        >>> tmp.cleanup()
        """
        import matplotlib.pyplot as plt

        if latent is None:
            latent = self.get_latent()
        latent = np.asarray(latent)
        logger.info(
            "Latent space %s: min %s, max %s, mean %s",
            latent.shape,
            np.round(latent.min(0), 4).tolist(),
            np.round(latent.max(0), 4).tolist(),
            np.round(latent.mean(0), 4).tolist(),
        )
        fig, ax = plt.subplots(figsize=(5, 5))
        if latent.shape[1] >= 2:
            ax.scatter(latent[:, 0], latent[:, 1], s=1, alpha=0.3, linewidths=0)
            ax.set_xlabel("z0")
            ax.set_ylabel("z1")
        else:
            ax.scatter(np.arange(len(latent)), latent[:, 0], s=1, alpha=0.3, linewidths=0)
            ax.set_xlabel("pixel")
            ax.set_ylabel("z0")
        title = self.model_name
        if self.best_epoch_ is not None:
            title += f" (best epoch {self.best_epoch_})"
        ax.set_title(title)
        self.latent_figure_ = fig
        return fig
