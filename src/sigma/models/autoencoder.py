"""Tutorial import path ``sigma.models.autoencoder``; see :mod:`sigma.embedding.autoencoder`.

Examples
--------
>>> from sigma.models.autoencoder import AutoEncoder
>>> AutoEncoder(4, hidden_layer_sizes=(8,)).latent_dim
2
"""

from sigma.embedding.autoencoder import AutoEncoder, VariationalAutoEncoder

__all__ = ["AutoEncoder", "VariationalAutoEncoder"]
