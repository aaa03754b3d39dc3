"""Checkpoints of :class:`~sigma.embedding.experiment.Experiment`: plain ``state_dict`` files
with a JSON file of the model's constructor arguments beside them, read back with
``torch.load(..., weights_only=True)`` (never unpickling code)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from sigma._errors import bad_file
from sigma.embedding.autoencoder import MODEL_CLASSES

__all__: list[str] = []


class CheckpointMixin:
    """Writing and loading the model's checkpoints (``params_dir``, ``model_name``)."""

    def _checkpoint_path(self, tag: str) -> Path:
        return self.params_dir / f"{self.model_name}_{tag}.pt"

    def _save_checkpoint(self, path: Path, epoch: int, loss: float) -> None:
        torch.save(self.model.state_dict(), path)
        meta = {
            "model_class": type(self.model).__name__,
            "config": getattr(self.model, "config", None),
            "epoch": epoch,
            "loss": loss,
            "descriptor": self.descriptor,
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1))

    def load_model(self, path) -> nn.Module:
        """Load a checkpoint written by :meth:`run_model` into :attr:`model`.

        If the JSON file next to it describes a different
        :class:`~sigma.embedding.autoencoder.AutoEncoder` or
        :class:`~sigma.embedding.autoencoder.VariationalAutoEncoder`, the model is rebuilt
        from it first. Weights are read with ``torch.load(..., weights_only=True)``.
        Later :meth:`get_latent` calls use this checkpoint.

        Parameters
        ----------
        path : str or path-like
            A ``.pt`` state-dict file.

        Returns
        -------
        torch.nn.Module
            The model with the loaded weights.

        Examples
        --------
        >>> import tempfile; tmp = tempfile.TemporaryDirectory()
        >>> from sigma.embedding.autoencoder import AutoEncoder
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(20, 3)).astype("float32")
        >>> from sigma.embedding.experiment import Experiment
        >>> ex = Experiment("ld", tmp.name, AutoEncoder, {"hidden_layer_sizes": (4,)}, x)
        >>> _ = ex.run_model(num_epochs=1, batch_size=8, progress_bar=False)
        >>> type(ex.load_model(ex.best_checkpoint_)).__name__
        'AutoEncoder'
        >>> tmp.cleanup()
        """
        path = Path(path)
        if not path.is_file():
            raise bad_file(path, "does not exist", "a checkpoint written by Experiment.run_model")
        meta_path = path.with_suffix(".json")
        if meta_path.is_file():
            cfg = json.loads(meta_path.read_text()).get("config")
            if (
                cfg
                and cfg.get("model") in MODEL_CLASSES
                and cfg != getattr(self.model, "config", None)
            ):
                cls = MODEL_CLASSES[cfg["model"]]
                args = {k: v for k, v in cfg.items() if k != "model"}
                if args.get("in_dim") != self.n_features:
                    raise bad_file(
                        path,
                        f"holds a model for {args.get('in_dim')} features",
                        f"{self.n_features} features, as in chosen_dataset",
                    )
                self.model = cls(**args).to(self.device)
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
            self.model.load_state_dict(state)
        except Exception as exc:  # unpickling or shape errors
            raise bad_file(path, f"could not be loaded ({exc})", "a model state_dict") from None
        self._latent_checkpoint = path
        return self.model
