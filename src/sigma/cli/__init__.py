"""Command line interface: ``sigma demo | run | config | info`` (see :mod:`sigma.cli.main`)."""

from .main import main

__all__ = ["main"]
