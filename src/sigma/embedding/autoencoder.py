"""Fully connected autoencoders that project feature vectors to a small latent space.

Both models are stacks of ``Linear -> LayerNorm -> LeakyReLU(0.02)`` blocks. The decoder ends in
a plain ``Linear`` layer, so its output is unbounded and can reproduce z-scored features (which
are negative in places and do not sum to one); a softmax output layer could not.

:class:`AutoEncoder` maps ``x -> z -> x_hat`` deterministically. :class:`VariationalAutoEncoder`
predicts a Gaussian ``N(mu, exp(logvar))`` per sample, draws ``z = mu + exp(logvar / 2) * eps``
while training and uses ``z = mu`` otherwise, so :meth:`~VariationalAutoEncoder.encode` is
deterministic.

Examples
--------
>>> import torch
>>> from sigma.embedding.autoencoder import AutoEncoder
>>> _ = torch.manual_seed(0)
>>> ae = AutoEncoder(in_dim=5, hidden_layer_sizes=(16, 8))
>>> x = torch.randn(4, 5)
>>> ae.encode(x).shape, ae(x).shape
(torch.Size([4, 2]), torch.Size([4, 5]))
"""

from __future__ import annotations

from collections.abc import Sequence

from sigma._errors import bad_value

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "The autoencoder needs PyTorch, which is not installed. "
        "Install it with: pip install 'sigma2-eds[torch]'"
    ) from exc

__all__ = ["AutoEncoder", "VariationalAutoEncoder", "MODEL_CLASSES"]

_LEAKY_SLOPE = 0.02


def _check_sizes(in_dim, hidden_layer_sizes, latent_dim) -> tuple[int, tuple[int, ...], int]:
    def _is_pos_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    if not _is_pos_int(in_dim):
        raise bad_value("in_dim", in_dim, "a positive int (the number of features)")
    if not _is_pos_int(latent_dim):
        raise bad_value("latent_dim", latent_dim, "a positive int")
    if isinstance(hidden_layer_sizes, int | str) or not isinstance(hidden_layer_sizes, Sequence):
        raise bad_value(
            "hidden_layer_sizes",
            hidden_layer_sizes,
            "a sequence of positive ints, e.g. (512, 256, 128)",
        )
    sizes = tuple(hidden_layer_sizes)
    if len(sizes) == 0 or not all(_is_pos_int(s) for s in sizes):
        raise bad_value(
            "hidden_layer_sizes", hidden_layer_sizes, "a non-empty sequence of positive ints"
        )
    return in_dim, sizes, latent_dim


def _block(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.LayerNorm(n_out), nn.LeakyReLU(_LEAKY_SLOPE))


def _stack(sizes: Sequence[int]) -> nn.Sequential:
    return nn.Sequential(*(_block(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)))


class _MLPAutoEncoderBase(nn.Module):
    """Shared constructor, decoder and configuration of the two models."""

    variational: bool = False

    def __init__(
        self,
        in_dim: int,
        hidden_layer_sizes: Sequence[int] = (512, 256, 128),
        latent_dim: int = 2,
    ) -> None:
        super().__init__()
        in_dim, sizes, latent_dim = _check_sizes(in_dim, hidden_layer_sizes, latent_dim)
        self.in_dim = in_dim
        self.hidden_layer_sizes = sizes
        self.latent_dim = latent_dim
        # Decoder mirrors the encoder and ends in a linear (unbounded) layer.
        rev = (latent_dim, *sizes[::-1])
        self.decoder = nn.Sequential(_stack(rev), nn.Linear(sizes[0], in_dim))

    @property
    def config(self) -> dict:
        """Constructor arguments, JSON-serialisable, that rebuild this model."""
        return {
            "model": type(self).__name__,
            "in_dim": self.in_dim,
            "hidden_layer_sizes": list(self.hidden_layer_sizes),
            "latent_dim": self.latent_dim,
        }

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes ``(N, latent_dim)`` back to features ``(N, in_dim)``."""
        return self.decoder(z)

    def extra_repr(self) -> str:
        return (
            f"in_dim={self.in_dim}, hidden_layer_sizes={self.hidden_layer_sizes}, "
            f"latent_dim={self.latent_dim}"
        )


class AutoEncoder(_MLPAutoEncoderBase):
    """Deterministic fully connected autoencoder with a linear output layer.

    Parameters
    ----------
    in_dim : int
        Number of input features ``F``.
    hidden_layer_sizes : sequence of int, default (512, 256, 128)
        Widths of the encoder's hidden blocks; the decoder uses them in reverse.
    latent_dim : int, default 2
        Size of the latent space.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> ae = AutoEncoder(3, hidden_layer_sizes=(8,), latent_dim=2)
    >>> ae.encode(torch.zeros(1, 3)).shape
    torch.Size([1, 2])
    >>> ae.config
    {'model': 'AutoEncoder', 'in_dim': 3, 'hidden_layer_sizes': [8], 'latent_dim': 2}
    """

    variational = False

    def __init__(
        self,
        in_dim: int,
        hidden_layer_sizes: Sequence[int] = (512, 256, 128),
        latent_dim: int = 2,
    ) -> None:
        super().__init__(in_dim, hidden_layer_sizes, latent_dim)
        sizes = (self.in_dim, *self.hidden_layer_sizes)
        self.encoder = nn.Sequential(_stack(sizes), nn.Linear(sizes[-1], self.latent_dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code ``(N, latent_dim)`` of features ``(N, in_dim)``."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``(N, in_dim)`` of ``x``."""
        return self.decode(self.encode(x))


class VariationalAutoEncoder(_MLPAutoEncoderBase):
    """Variational autoencoder with a Gaussian latent and the reparameterisation trick.

    Parameters
    ----------
    in_dim : int
        Number of input features ``F``.
    hidden_layer_sizes : sequence of int, default (512, 256, 128)
        Widths of the encoder's hidden blocks; the decoder uses them in reverse.
    latent_dim : int, default 2
        Size of the latent space.

    Notes
    -----
    In training mode :meth:`forward` samples ``z = mu + exp(logvar / 2) * eps`` with
    ``eps ~ N(0, 1)``; in eval mode it uses ``z = mu``. :meth:`encode` always returns ``mu``.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> vae = VariationalAutoEncoder(3, hidden_layer_sizes=(8,)).eval()
    >>> x = torch.zeros(2, 3)
    >>> mu, logvar = vae.encode_distribution(x)
    >>> bool(torch.equal(vae.encode(x), mu)), logvar.shape
    (True, torch.Size([2, 2]))
    """

    variational = True

    def __init__(
        self,
        in_dim: int,
        hidden_layer_sizes: Sequence[int] = (512, 256, 128),
        latent_dim: int = 2,
    ) -> None:
        super().__init__(in_dim, hidden_layer_sizes, latent_dim)
        sizes = (self.in_dim, *self.hidden_layer_sizes)
        self.encoder = _stack(sizes)
        self.mu_head = nn.Linear(sizes[-1], self.latent_dim)
        self.logvar_head = nn.Linear(sizes[-1], self.latent_dim)

    def encode_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance, each ``(N, latent_dim)``, of the posterior of ``x``."""
        h = self.encoder(x)
        return self.mu_head(h), self.logvar_head(h)

    @staticmethod
    def reparameterise(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Draw ``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, 1)``."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior mean ``(N, latent_dim)`` of ``x`` (deterministic)."""
        return self.encode_distribution(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x``: sampled latent in training mode, the mean otherwise."""
        mu, logvar = self.encode_distribution(x)
        z = self.reparameterise(mu, logvar) if self.training else mu
        return self.decode(z)


MODEL_CLASSES: dict[str, type[_MLPAutoEncoderBase]] = {
    "AutoEncoder": AutoEncoder,
    "VariationalAutoEncoder": VariationalAutoEncoder,
}
