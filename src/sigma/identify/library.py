"""The phase library: named compositions (and reference spectra) that clusters are matched to.

The bundled library (``data/phases.csv``, :func:`default_library`) holds ideal compositions of
about 290 phases: rock-forming and ore minerals (silicates, oxides, hydroxides, sulfides and
sulfosalts, carbonates, phosphates, sulfates, halides, native elements) with the formula of the
IMA list, representative members of the common solid solutions (plagioclase An20–An80, olivine,
pyroxenes, amphiboles, micas) from Deer, Howie & Zussman, and common metals, alloys
(nominal compositions of the cited standards), intermetallics, ceramics, glasses and cement
phases. Every row names its source; the file's header explains the columns.

Users add their own entries (:meth:`PhaseLibrary.add`, a formula or a composition in wt %),
reference spectra (:meth:`PhaseLibrary.add_reference`: an EMSA/MSA file, e.g. one written by
:func:`sigma.io.emsa.write_emsa` from another map) and restrict the library
(:meth:`PhaseLibrary.restrict`, e.g. ``classes=["sulfide"]``).

Phases with the same composition (polymorphs: calcite / aragonite, quartz / cristobalite,
kyanite / andalusite / sillimanite …) cannot be told apart by EDS; :meth:`PhaseLibrary.same_composition`
finds them and identification reports them together.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .._errors import SigmaValueError, bad_file, bad_value
from . import physics

log = logging.getLogger(__name__)

#: Tolerance (wt %) on the total of a composition given in wt %.
WT_TOLERANCE = 2.0
_TOKEN = re.compile(r"([A-Z][a-z]?|\(|\)|\[|\]|\d+\.?\d*|\.\d+)")
_SUB = str.maketrans("0123456789.", "₀₁₂₃₄₅₆₇₈₉.")


def parse_formula(formula: str) -> dict[str, float]:
    """Atoms per formula unit of a chemical formula.

    Brackets, decimal subscripts and hydrate parts (``·nH2O``, also written ``*nH2O``) are
    understood.

    Examples
    --------
    >>> parse_formula("KAl2(AlSi3O10)(OH)2")
    {'K': 1.0, 'Al': 3.0, 'Si': 3.0, 'O': 12.0, 'H': 2.0}
    >>> parse_formula("CaSO4·2H2O")
    {'Ca': 1.0, 'S': 1.0, 'O': 6.0, 'H': 4.0}
    >>> parse_formula("Na0.5Ca0.5Al1.5Si2.5O8")["Na"]
    0.5
    """
    text = str(formula).replace(" ", "")
    if not text:
        raise bad_value("formula", formula, "a chemical formula such as 'SiO2'")
    total: dict[str, float] = {}
    for part in re.split(r"[·*]", text):
        m = re.match(r"^(\d+\.?\d*)(?=[A-Z(\[])", part)
        mult = 1.0
        if m:
            mult = float(m.group(1))
            part = part[m.end():]
        for el, n in _parse_group(part, formula).items():
            total[el] = total.get(el, 0.0) + mult * n
    return total


def _parse_group(text: str, original) -> dict[str, float]:
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != text:
        raise bad_value("formula", original, "a chemical formula such as 'SiO2' or 'Ca5(PO4)3F'")
    stack: list[dict[str, float]] = [{}]
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        count = float(nxt) if nxt and (nxt[0].isdigit() or nxt[0] == ".") else None
        if t in "([":
            stack.append({})
        elif t in ")]":
            if len(stack) < 2:
                raise bad_value("formula", original, "balanced brackets")
            inner = stack.pop()
            k = count if count is not None else 1.0
            for el, n in inner.items():
                stack[-1][el] = stack[-1].get(el, 0.0) + k * n
            if count is not None:
                i += 1
        elif t[0].isalpha():
            if not physics.is_element(t):
                raise bad_value("formula", original, f"chemical symbols only ({t!r} is not an element)")
            stack[-1][t] = stack[-1].get(t, 0.0) + (count if count is not None else 1.0)
            if count is not None:
                i += 1
        else:
            raise bad_value("formula", original, "a chemical formula such as 'SiO2'")
        i += 1
    if len(stack) != 1:
        raise bad_value("formula", original, "balanced brackets")
    return stack[0]


def formula_weight_fractions(formula: str) -> dict[str, float]:
    """Weight fractions of a formula (brackets and hydrates allowed).

    Examples
    --------
    >>> {k: round(v, 4) for k, v in formula_weight_fractions("FeTiO3").items()}
    {'Fe': 0.3681, 'Ti': 0.3155, 'O': 0.3164}
    """
    atoms = parse_formula(formula)
    mass = {el: n * physics.element_data(el)[1] for el, n in atoms.items()}
    total = sum(mass.values())
    return {el: m / total for el, m in mass.items()}


def pretty_formula(formula: str) -> str:
    """A formula with Unicode subscripts, as shown in legends.

    Examples
    --------
    >>> pretty_formula("FeTiO3"), pretty_formula("CaSO4·2H2O")
    ('FeTiO₃', 'CaSO₄·2H₂O')
    """
    out = []
    for part in str(formula).split("·"):
        m = re.match(r"^(\d+\.?\d*)", part)
        head = m.group(1) if m else ""
        rest = part[len(head):]
        out.append(head + re.sub(r"(?<=[A-Za-z)\]])(\d+\.?\d*)", lambda g: g.group(1).translate(_SUB), rest))
    return "·".join(out)


def parse_wt_percent(text: str, name: str = "wt_percent") -> dict[str, float]:
    """``'Fe:70.5;Cr:18.5;...'`` → ``{'Fe': 70.5, ...}`` (wt %).

    Examples
    --------
    >>> parse_wt_percent("Cu:63;Zn:37")
    {'Cu': 63.0, 'Zn': 37.0}
    """
    out = {}
    for item in str(text).split(";"):
        item = item.strip()
        if not item:
            continue
        el, _, v = item.partition(":")
        try:
            out[el.strip()] = float(v)
        except ValueError:
            raise bad_value(name, text, "'Element:wt%' pairs separated by ';', e.g. 'Cu:63;Zn:37'") from None
    return out


def composition_from(value, name: str) -> dict[str, float]:
    """Weight fractions from a formula string or a mapping in wt % (sum ~100) or fractions (~1).

    Raises a clear error naming the entry when an element is unknown or the total is not
    ~100 wt % (±2) or ~1.

    Examples
    --------
    >>> composition_from({"Cu": 63, "Zn": 37}, "brass")
    {'Cu': 0.63, 'Zn': 0.37}
    >>> composition_from({"Cu": 60, "Zn": 30}, "bad brass")
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaValueError: The 'composition of phase bad brass' parameter must be weight percentages summing to 100 ± 2 (or fractions summing to 1). Got "{'Cu': 60, 'Zn': 30} (total 90)" instead.
    """
    if isinstance(value, str):
        try:
            return formula_weight_fractions(value)
        except SigmaValueError as exc:
            raise SigmaValueError(f"Phase {name!r}: {exc}") from None
    if not isinstance(value, Mapping) or not value:
        raise bad_value(f"composition of phase {name}", value,
                        "a formula or a mapping {element: wt %}")  # fmt: skip
    for el, v in value.items():
        if not physics.is_element(el):
            raise bad_value(f"composition of phase {name}", dict(value),
                            f"chemical symbols only ({el!r} is not an element)")  # fmt: skip
        if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise bad_value(f"composition of phase {name}", dict(value), "non-negative numbers")
    total = float(sum(value.values()))
    if abs(total - 100.0) <= WT_TOLERANCE:
        scale = total
    elif abs(total - 1.0) <= WT_TOLERANCE / 100:
        scale = total
    else:
        raise bad_value(f"composition of phase {name}", f"{dict(value)} (total {total:g})",
                        "weight percentages summing to 100 ± 2 (or fractions summing to 1)")  # fmt: skip
    return {el: float(v) / scale for el, v in value.items() if v > 0}


@dataclass
class ReferenceSpectrum:
    """A measured spectrum of a known phase (e.g. a phase saved from another map).

    Attributes
    ----------
    counts, energy : ndarray
        Counts and channel energies (keV).
    beam_energy : float
        kV.
    fwhm_mnka : float
        Detector resolution (eV).
    kind : {'SEM', 'TEM'}
    source : str
        Where it came from (file path).

    Examples
    --------
    >>> import numpy as np
    >>> ref = ReferenceSpectrum(np.ones(100), np.arange(100) * 0.01, beam_energy=15.0)
    >>> ref.kind, ref.fwhm_mnka
    ('SEM', 130.0)
    """

    counts: np.ndarray
    energy: np.ndarray
    beam_energy: float
    fwhm_mnka: float = 130.0
    kind: str = "SEM"
    source: str = ""


@dataclass
class Phase:
    """One library entry.

    Attributes
    ----------
    name : str
    composition : dict
        Weight fractions summing to 1.
    formula : str
        Ideal formula ("" for alloys and glasses given in wt %).
    phase_class : str
        ``'silicate'``, ``'oxide'``, ``'sulfide'``, ``'alloy'`` ...
    group : str
        Mineral group or series (``'plagioclase'``, ``'spinel'`` …).
    source, note : str
    reference : ReferenceSpectrum or None
        When set, matching compares against this measured spectrum instead of the composition.

    Examples
    --------
    >>> p = default_library()["galena"]
    >>> p.label, p.phase_class, round(p.composition["Pb"], 3)
    ('galena PbS', 'sulfide', 0.866)
    """

    name: str
    composition: dict[str, float]
    formula: str = ""
    phase_class: str = ""
    group: str = ""
    source: str = ""
    note: str = ""
    reference: ReferenceSpectrum | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """``'ilmenite FeTiO₃'``; alloys without a formula give their name only, and a phase
        named by its formula gives the formula once (``'Mg₂Si'``, not ``'Mg2Si Mg₂Si'``)."""
        if not self.formula:
            return self.name
        if self.name.replace(" ", "") == self.formula.replace(" ", ""):
            return pretty_formula(self.formula)
        return f"{self.name} {pretty_formula(self.formula)}"

    def to_dict(self) -> dict:
        """JSON-ready entry (composition in wt %)."""
        return {"name": self.name, "formula": self.formula, "class": self.phase_class,
                "group": self.group, "source": self.source,
                "composition_wt_percent": {k: round(100 * v, 3) for k, v in self.composition.items()},
                "reference_spectrum": self.reference.source if self.reference is not None else None}  # fmt: skip


class PhaseLibrary:
    """An ordered collection of :class:`Phase` entries with unique names.

    Examples
    --------
    >>> lib = default_library()
    >>> len(lib) >= 150, lib["ilmenite"].label
    (True, 'ilmenite FeTiO₃')
    >>> sulfides = lib.restrict(classes=["sulfide"])
    >>> "galena" in sulfides.names, "quartz" in sulfides.names
    (True, False)
    >>> sorted(p.name for p in lib.same_composition(lib["calcite"]))
    ['aragonite', 'calcite']
    """

    def __init__(self, phases: Iterable[Phase] = ()):
        self._phases: dict[str, Phase] = {}
        for p in phases:
            self._insert(p)

    def _insert(self, phase: Phase, replace: bool = False):
        if phase.name in self._phases and not replace:
            raise bad_value("name", phase.name, "a name not already in the library (or replace=True)")
        self._phases[phase.name] = phase

    def __len__(self) -> int:
        return len(self._phases)

    def __iter__(self):
        return iter(self._phases.values())

    def __contains__(self, name) -> bool:
        return name in self._phases

    def __getitem__(self, name: str) -> Phase:
        try:
            return self._phases[name]
        except KeyError:
            raise bad_value("phase", name, "a name in the library") from None

    def __repr__(self) -> str:
        return f"PhaseLibrary({len(self)} phases)"

    @property
    def names(self) -> list[str]:
        """Entry names, in order."""
        return list(self._phases)

    @property
    def classes(self) -> list[str]:
        """The classes present (``'oxide'``, ``'sulfide'`` …), sorted."""
        return sorted({p.phase_class for p in self})

    def copy(self) -> PhaseLibrary:
        """A new library with the same entries (adding to it leaves this one unchanged)."""
        return PhaseLibrary(list(self))

    def add(self, name: str, composition, *, phase_class: str = "user", group: str = "",
            source: str = "user", note: str = "", replace: bool = False) -> Phase:
        """Add an entry from a formula (``'FeTiO3'``) or ``{element: wt %}`` summing to ~100.

        Examples
        --------
        >>> lib = PhaseLibrary()
        >>> lib.add("my slag", {"Ca": 30, "Si": 20, "O": 50}).composition["Ca"]
        0.3
        >>> lib.add("bad", {"Xx": 100})
        Traceback (most recent call last):
        ...
        sigma._errors.SigmaValueError: The 'composition of phase bad' parameter must be chemical symbols only ('Xx' is not an element). Got {'Xx': 100} instead.
        """
        formula = composition if isinstance(composition, str) else ""
        comp = composition_from(composition, name)
        phase = Phase(str(name), comp, formula, phase_class, group, source, note)
        self._insert(phase, replace)
        return phase

    def add_reference(self, name: str, spectrum, *, phase_class: str = "reference",
                      source: str | None = None, replace: bool = False) -> Phase:
        """Add a measured reference spectrum: an EMSA/MSA path or a :class:`ReferenceSpectrum`.

        Identification fits the reference on its own energy axis and compares its line
        intensities with the cluster's, so a reference with another energy calibration needs no
        resampling; one recorded at another beam energy is refused at matching time.
        """
        if not isinstance(spectrum, ReferenceSpectrum):
            from ..io.emsa import read_emsa

            path = Path(spectrum)
            sig = read_emsa(path)
            spectrum = ReferenceSpectrum(sig["counts"], sig["energy"], sig["beam_energy"],
                                         sig["fwhm_mnka"] or 130.0, sig["kind"], str(path))  # fmt: skip
            if not sig["beam_energy"]:
                raise bad_file(path, "has no beam energy (#BEAMKV)", "a reference spectrum with #BEAMKV")
        comp = {}
        phase = Phase(str(name), comp, "", phase_class, "", source or spectrum.source, "",
                      spectrum)  # fmt: skip
        self._insert(phase, replace)
        return phase

    def restrict(self, *, classes=None, groups=None, names=None, exclude=None) -> PhaseLibrary:
        """A library holding only the chosen classes / groups / names, minus ``exclude``.

        Unknown class or group names raise an error listing the accepted ones.
        """
        def _norm(v):
            return None if v is None else ([v] if isinstance(v, str) else list(v))

        classes, groups, names, exclude = map(_norm, (classes, groups, names, exclude))
        for vals, known, what in ((classes, self.classes, "classes"),
                                  (groups, sorted({p.group for p in self}), "groups"),
                                  (names, self.names, "names"),
                                  (exclude, self.names, "exclude")):  # fmt: skip
            for v in vals or []:
                if v not in known:
                    raise bad_value(what, v, "one of " + ", ".join(map(repr, known)))
        out = []
        for p in self:
            if classes is not None and p.phase_class not in classes:
                continue
            if groups is not None and p.group not in groups:
                continue
            if names is not None and p.name not in names:
                continue
            if exclude is not None and p.name in exclude:
                continue
            out.append(p)
        if not out:
            raise bad_value("restriction", {"classes": classes, "groups": groups, "names": names},
                            "a selection that leaves at least one phase")  # fmt: skip
        return PhaseLibrary(out)

    def composition_groups(self) -> dict[str, list[str]]:
        """``{name: names of the entries of the same composition}`` (itself included), computed
        once per state of the library (:meth:`same_composition` for all entries).

        Examples
        --------
        >>> sorted(default_library().composition_groups()["calcite"])
        ['aragonite', 'calcite']
        """
        key = tuple((p.name, id(p)) for p in self)
        cached = getattr(self, "_groups", None)
        if cached is None or cached[0] != key:
            phases = list(self)
            comps = [p for p in phases if p.reference is None]
            out = {p.name: [p.name] for p in phases if p.reference is not None}
            els = sorted({el for p in comps for el in p.composition})
            col = {el: j for j, el in enumerate(els)}
            x = np.zeros((len(comps), len(els)))
            for i, p in enumerate(comps):
                for el, c in p.composition.items():
                    x[i, col[el]] = c
            near = np.ones((len(comps), len(comps)), dtype=bool)
            for j in range(len(els)):  # one element at a time: no (N, N, E) array
                near &= np.abs(x[:, None, j] - x[None, :, j]) <= 0.005
            for i, p in enumerate(comps):
                out[p.name] = [comps[k].name for k in np.flatnonzero(near[i])]
            self._groups = (key, out)
        return self._groups[1]

    @staticmethod
    def _same(p: Phase, phase: Phase, tolerance: float) -> bool:
        els = set(p.composition) | set(phase.composition)
        return all(abs(p.composition.get(e, 0.0) - phase.composition.get(e, 0.0)) <= tolerance for e in els)

    def same_composition(self, phase: Phase, tolerance: float = 0.005) -> list[Phase]:
        """Entries whose composition equals ``phase``'s within ``tolerance`` (weight fraction)
        for every element: polymorphs, and duplicates under other names."""
        if phase.reference is not None:
            return [phase]
        out = []
        for p in self:
            if p.reference is not None:
                continue
            if self._same(p, phase, tolerance):
                out.append(p)
        return out

    def to_csv(self, path) -> Path:
        """Write the composition entries as a library file (reference spectra are left out)."""
        from .._files import atomic_write_text

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["name", "formula", "wt_percent", "class", "group", "source", "note"])
        for p in self:
            if p.reference is not None:
                continue
            wt = "" if p.formula else ";".join(f"{k}:{100 * v:.4g}" for k, v in p.composition.items())
            w.writerow([p.name, p.formula, wt, p.phase_class, p.group, p.source, p.note])
        return atomic_write_text(Path(path), buf.getvalue())


def read_library(path_or_text, *, source_name: str | None = None) -> PhaseLibrary:
    """Read a library CSV (the bundled file's columns; ``#`` lines are comments).

    Each row needs ``name`` and either ``formula`` or ``wt_percent``; a row with an unknown
    element or a wt % total away from 100 raises an error naming the file, row and entry.

    Examples
    --------
    >>> lib = read_library("name,formula,wt_percent\\nslag,,Ca:40;Si:20;O:40\\nspinel,MgAl2O4,\\n")
    >>> lib.names, lib["slag"].composition["Ca"]
    (['slag', 'spinel'], 0.4)
    """
    if isinstance(path_or_text, Path) or (isinstance(path_or_text, str) and "\n" not in path_or_text):
        path = Path(path_or_text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise bad_file(path, f"cannot be read ({exc.strerror or exc})", "a phase library CSV") from exc
        where = str(path)
    else:
        text, where = str(path_or_text), source_name or "<library text>"
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    need = {"name", "formula"}
    if reader.fieldnames is None or not need <= set(reader.fieldnames):
        raise bad_file(where, f"has columns {reader.fieldnames}", "a header with at least name, formula")
    lib = PhaseLibrary()
    for row_no, row in enumerate(reader, start=2):
        name = (row.get("name") or "").strip()
        formula = (row.get("formula") or "").strip()
        wt = (row.get("wt_percent") or "").strip()
        if not name:
            raise bad_file(where, f"row {row_no} has no name", "a name in every row")
        try:
            if formula:
                comp = composition_from(formula, name)
            elif wt:
                comp = composition_from(parse_wt_percent(wt, f"wt_percent of {name!r}"), name)
            else:
                raise bad_value(f"entry {name!r}", row, "a formula or a wt_percent composition")
        except Exception as exc:
            raise bad_file(where, f"row {row_no} ({name!r}) is invalid: {exc}",
                           "valid chemical symbols and wt % summing to 100 ± 2") from exc  # fmt: skip
        if name in lib:
            raise bad_file(where, f"row {row_no} repeats the name {name!r}", "unique names")
        lib._insert(Phase(name, comp, formula, (row.get("class") or "").strip(),
                          (row.get("group") or "").strip(), (row.get("source") or "").strip(),
                          (row.get("note") or "").strip()))  # fmt: skip
    if not len(lib):
        raise bad_file(where, "holds no phases", "at least one row")
    return lib


_DEFAULT: PhaseLibrary | None = None


def default_library() -> PhaseLibrary:
    """The bundled library (a fresh copy each call, so edits do not leak between uses).

    Examples
    --------
    >>> lib = default_library()
    >>> len(lib) >= 150, "plagioclase" in {p.group for p in lib}
    (True, True)
    """
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("sigma.identify").joinpath("data/phases.csv").read_text(encoding="utf-8")
        _DEFAULT = read_library(text, source_name="sigma/identify/data/phases.csv")
    return _DEFAULT.copy()
