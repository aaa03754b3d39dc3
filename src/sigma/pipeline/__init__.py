"""The end-to-end pipeline behind ``sigma run`` / ``sigma demo``.

:mod:`~sigma.pipeline.config` (TOML schema and validation), :mod:`~sigma.pipeline.runner`
(the stages), :mod:`~sigma.pipeline.outputs` (atomic files, staging folders),
:mod:`~sigma.pipeline.provenance` (``run.json``) and :mod:`~sigma.pipeline.scaleout`
(dask.distributed).
"""

from .config import ConfigError, default_config, example_toml, load_config, validate_config

__all__ = ["ConfigError", "default_config", "example_toml", "load_config", "validate_config"]
