"""Mineral formulae for phantoms, grouped so that a map can hold look-alike phases.

Formulae are written without brackets or water (the X-ray model ignores H), as
:func:`sigma.synthetic.spectra.formula_to_weight_fractions` reads them.

Examples
--------
>>> MINERALS["albite"], len(SIMILAR_GROUPS) >= 5
('NaAlSi3O8', True)
"""

from __future__ import annotations

#: Rock-forming and accessory minerals (formula per name).
MINERALS: dict[str, str] = {
    "quartz": "SiO2",
    "albite": "NaAlSi3O8",
    "orthoclase": "KAlSi3O8",
    "anorthite": "CaAl2Si2O8",
    "nepheline": "NaAlSiO4",
    "forsterite": "Mg2SiO4",
    "enstatite": "MgSiO3",
    "fayalite": "Fe2SiO4",
    "ferrosilite": "FeSiO3",
    "diopside": "CaMgSi2O6",
    "wollastonite": "CaSiO3",
    "kyanite": "Al2SiO5",
    "almandine": "Fe3Al2Si3O12",
    "pyrope": "Mg3Al2Si3O12",
    "magnetite": "Fe3O4",
    "ilmenite": "FeTiO3",
    "ulvospinel": "Fe2TiO4",
    "rutile": "TiO2",
    "chromite": "FeCr2O4",
    "spinel": "MgAl2O4",
    "corundum": "Al2O3",
    "calcite": "CaCO3",
    "dolomite": "CaMgC2O6",
    "pyrite": "FeS2",
    "pyrrhotite": "FeS",
    "chalcopyrite": "CuFeS2",
    "sphalerite": "ZnS",
    "galena": "PbS",
    "barite": "BaSO4",
    "zircon": "ZrSiO4",
    "apatite": "Ca5P3O12F",
    "monazite": "CePO4",
    "titanite": "CaTiSiO5",
}

#: Groups of minerals made of (nearly) the same elements in different ratios; a phantom that
#: draws two of a group holds phases that only their ratios tell apart (spectral angles of
#: 15–25° between members at 20 kV, against 25–80° for most unrelated pairs). Closer pairs
#: (albite/jadeite, kyanite/mullite: 8°) are left out: at 10 counts per pixel even the true
#: spectra cannot tell their pixels apart.
SIMILAR_GROUPS: tuple[tuple[str, ...], ...] = (
    ("albite", "orthoclase", "nepheline"),
    ("forsterite", "enstatite"),
    ("fayalite", "ferrosilite"),
    ("pyrite", "pyrrhotite"),
    ("ilmenite", "ulvospinel"),
    ("wollastonite", "diopside"),
)

#: Minerals found as small inclusions (accessory phases).
INCLUSION_MINERALS: tuple[str, ...] = (
    "zircon", "apatite", "monazite", "rutile", "chromite", "pyrite", "sphalerite", "barite",
    "titanite", "galena", "chalcopyrite",
)  # fmt: skip

#: TEM particle phantom: the support film and the particle materials (formula or weight fractions).
TEM_MATERIALS: dict[str, str | dict[str, float]] = {
    "carbon film": {"C": 0.95, "O": 0.05},
    "magnetite": "Fe3O4",
    "silica": "SiO2",
    "gold": "Au",
    "ceria": "CeO2",
    "titania": "TiO2",
}
