"""Readers for every supported file format, behind one :func:`load`."""
