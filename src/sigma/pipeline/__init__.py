"""The end-to-end pipeline behind ``sigma run`` / ``sigma demo``.

:mod:`~sigma.pipeline.config` (TOML schema and validation), :mod:`~sigma.pipeline.runner`
(one input or a batch; the stages in :mod:`~sigma.pipeline.stages`, shared phases in
:mod:`~sigma.pipeline.shared`, outputs and ``run.json`` in :mod:`~sigma.pipeline.results`), :mod:`~sigma.pipeline.outputs` (atomic files, staging folders),
:mod:`~sigma.pipeline.provenance` (``run.json``) and :mod:`~sigma.pipeline.scaleout`
(dask.distributed).
"""

from .config import ConfigError, default_config, example_toml, load_config, validate_config

__all__ = ["ConfigError", "default_config", "example_toml", "load_config", "validate_config"]
