"""X-ray lines whose peaks overlap at the detector's resolution (their maps share counts).

Two lines overlap when their energies are closer than the detector FWHM at that energy: the
window summed for one line then holds much of the other's peak, so its map shows both
elements. :func:`line_overlaps` finds such pairs among chosen features, and the classic
interferences of EDS practice (e.g. S Kα / Pb Mα / Mo Lα, Mn Kβ / Fe Kα, Ti Kα / Ba Lα) for a
line whose partner is not among them.
"""

from __future__ import annotations

from itertools import combinations

from .lines import DEFAULT_FWHM_MNKA_EV, fwhm, is_xray_line, line_energy

__all__ = ["COMMON_INTERFERENCES", "line_overlaps"]

#: Groups of lines that EDS analysts know to interfere (a line of a group is flagged even when
#: the other members are not features, if they lie within the FWHM).
COMMON_INTERFERENCES = (
    ("S_Ka", "Pb_Ma", "Mo_La"),
    ("Mn_Kb", "Fe_Ka"),
    ("Fe_Kb", "Co_Ka"),
    ("Cr_Kb", "Mn_Ka"),
    ("V_Kb", "Cr_Ka"),
    ("Ti_Kb", "V_Ka"),
    ("Ti_Ka", "Ba_La"),
    ("Si_Ka", "W_Ma", "Ta_Ma", "Sr_La"),
    ("P_Ka", "Zr_La", "Ir_Ma"),
    ("Al_Ka", "Br_La"),
    ("Na_Ka", "Zn_La"),
    ("K_Ka", "In_La"),
    ("Ca_Ka", "Sb_La"),
    ("O_Ka", "V_La", "Cr_La"),
    ("As_Ka", "Pb_La"),
)


def line_overlaps(lines, fwhm_mnka: float = DEFAULT_FWHM_MNKA_EV, *, known: bool = True):
    """Pairs of X-ray lines closer than the detector FWHM.

    Parameters
    ----------
    lines : iterable of str
        Features such as ``'Fe_Ka'``; names that are not X-ray lines (``'Navigator'``) are
        ignored.
    fwhm_mnka : float
        Detector FWHM at Mn Kα in eV.
    known : bool
        Also report members of :data:`COMMON_INTERFERENCES` that are not in ``lines``.

    Returns
    -------
    list of (line, other, delta_keV, fwhm_keV, in_lines)
        ``in_lines`` says whether ``other`` is among ``lines`` too.

    Examples
    --------
    >>> [(a, b, in_list) for a, b, _, _, in_list in line_overlaps(["Fe_Ka", "Mn_Kb", "Si_Ka"], known=False)]
    [('Fe_Ka', 'Mn_Kb', True)]
    >>> sorted(b for a, b, *_ in line_overlaps(["S_Ka"]))
    ['Mo_La', 'Pb_Ma']
    """
    feats = list(dict.fromkeys(str(x) for x in lines if is_xray_line(str(x))))
    out = []

    def close(a, b):
        ea, eb = line_energy(a), line_energy(b)
        width = float(fwhm((ea + eb) / 2, fwhm_mnka))
        return abs(ea - eb) < width, abs(ea - eb), width

    for a, b in combinations(sorted(feats, key=line_energy), 2):
        hit, d, width = close(a, b)
        if hit:
            out.append((a, b, round(d, 4), round(width, 4), True))
    if known:
        for a in feats:
            for group in COMMON_INTERFERENCES:
                if a not in group:
                    continue
                for b in group:
                    if b == a or b in feats or not is_xray_line(b):
                        continue
                    hit, d, width = close(a, b)
                    if hit:
                        out.append((a, b, round(d, 4), round(width, 4), False))
    return out
