"""The tutorial's ``sigma.utils`` import path: thin re-exports of the core.

Importing it after ``from umap import UMAP`` (as the tutorial does) also readies umap-learn's
compiled code for the tutorial's own UMAP cell: see
:func:`sigma.embedding.umap.tutorial_warm_up`.
"""

from ..embedding.umap import tutorial_warm_up as _tutorial_warm_up

_tutorial_warm_up()
