"""Tutorial import paths (``sigma.src.segmentation``, ``sigma.src.dim_reduction``, ...)."""
