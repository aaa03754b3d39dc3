"""How the final labels of :func:`sigma.clustering.auto_k.find_phases` treat a pixel's count
rate and a pixel that straddles a boundary: the count-rate band, the share of each phase's
counts a boundary pixel must hold (bulk against thin specimens), the core seen through its
shell, and the pixels that were never measured.
"""

from __future__ import annotations

import logging
import numbers

import numpy as np

from .._errors import bad_value

log = logging.getLogger(__name__)

#: Weight of the count-rate band. Band fractions alone ignore how many counts a pixel holds,
#: and that is often what tells phases apart: particles on a thin film in a TEM (thickness,
#: density) or light and heavy phases in an SEM. A pixel with ``n`` counts gets one more band
#: of ``w * (c - n)`` counts, ``c`` = :data:`RATE_CEILING` times the largest ``n``: the
#: multinomial over the bands then also models the pixel total (a binomial count rate per
#: phase), tempered by ``w`` for the spread of count rate within one phase (thickness
#: profiles, topography). Measured on independent phantoms (particles on a film at 20 counts
#: per particle pixel, binned 2×2; started from the true labels split in three): ARI 0.00 (one
#: phase) without the band, 0.60 with ``w = 1``, 0.77 with ``w = 0.3``. Used on thin-sample
#: (TEM) maps only: see :func:`intensity_weight`.
INTENSITY_WEIGHT = 0.3
#: The count-rate band counts up to this multiple of the largest pixel total.
RATE_CEILING = 3.0
#: How the final labels (step 9) weigh a boundary pixel's counts from two phases ``k`` and
#: ``j``: ``k`` takes the pixel when ``c_k r_k**e >= c_j r_j**e`` (``c``: the pixel's counts
#: from each phase, ``r``: the phase's mean counts per pixel). In a bulk (SEM) specimen a
#: boundary pixel's counts are the areas of the two phases times their count rates, so
#: ``e = -1`` gives the pixel to the phase covering most of it, what a phase map shows;
#: ``e = 0`` (the counts alone) gives it to the brighter phase. See :func:`boundary_exponent`.
BULK_BOUNDARY_EXPONENT = -1.0
#: The same in a thin (TEM) specimen: the counts alone (see :func:`boundary_exponent`).
THIN_BOUNDARY_EXPONENT = 0.0


def intensity_weight(thin_sample: bool) -> float:
    """Default weight of the count-rate band: :data:`INTENSITY_WEIGHT` on a thin-sample (TEM)
    map, 0 on a bulk (SEM) map.

    In a thin specimen the count rate is the mass thickness: particles on a film whose spectra
    differ little from it are told apart by it. In a bulk specimen the mean atomic number that
    sets the count rate also sets the spectrum's shape (continuum against lines), which the
    bands already hold, while topography, shadowing of the detector and beam-current drift
    change the count rate of one phase across the map. Even tempered, the band split phases
    by that: on eight SEM maps of a generator not of this project, with a smooth ±20 %
    count-rate field, the band split diopside into four clusters by brightness (13 phases for
    7; ARI 0.661, HyperSpy told K 0.866) and gave 8, 10 and 10 for 6, 8 and 5; without it 7,
    6, 8, 6 (ARI 0.983, 0.976, 0.982, 0.842).

    Examples
    --------
    >>> intensity_weight(True), intensity_weight(False)
    (0.3, 0.0)
    """
    return INTENSITY_WEIGHT if thin_sample else 0.0


#: A pixel without a count keeps the label of step 9 only when its phase leaves a pixel empty
#: that often (Poisson, the phase's mean counts per pixel: at most 6.9 counts). An empty
#: pixel of a low-dose film (1-2 counts per pixel) is one of its pixels; 6618 empty pixels
#: next to 1862 that hold 40-111 counts each (``Hitachi_TM3030Plus.bcf``, binned 3 x 3) were
#: never measured, and labelling them would have called three quarters of the map copper.
EMPTY_MIN_PROBABILITY = 1e-3


def _implausible_empty(yx, lab, valid, fill) -> np.ndarray:
    """``lab`` with the pixels of ``fill`` set back to -1 where their label's mean counts per
    pixel (over ``valid`` pixels, X-ray bands ``yx``) leave a pixel empty with a probability
    below :data:`EMPTY_MIN_PROBABILITY`.

    Examples
    --------
    >>> yx = np.array([[1.0], [0.0], [50.0], [0.0]])
    >>> lab = np.array([[0, 0], [1, 1]])
    >>> valid = np.array([[True, False], [True, False]])
    >>> _implausible_empty(yx, lab, valid, ~valid).tolist()
    [[0, 0], [1, -1]]
    """
    k = int(lab.max()) + 1
    if k <= 0:
        return lab
    bad = _label_rates(yx, lab, valid, k) > -np.log(EMPTY_MIN_PROBABILITY)
    drop = fill & (lab >= 0) & bad[np.clip(lab, 0, None)]
    return np.where(drop, -1, lab).astype(np.int32)


def boundary_exponent(thin_sample: bool) -> float:
    """Default exponent ``e`` of the final labels' boundary rule (:data:`BULK_BOUNDARY_EXPONENT`).

    A pixel that straddles a boundary goes to phase ``k`` rather than ``j`` when
    ``c_k r_k**e >= c_j r_j**e``: its counts from each phase (the share the label scores
    allow) weighed by the phases' mean counts per pixel ``r``.

    * Bulk (SEM), ``e = -1``: ``c / r`` is the share of the pixel's area, and the pixel goes
      to the phase that covers most of it. On 14 SEM maps of a generator not of this project
      (4-10 minerals, 10-100 counts per pixel), against ``e = 0``: ARI higher on 11 maps,
      lower by at most 0.001 on 2 (0.941 to 0.980 on 4 phases at 10 counts per pixel, with
      cuprite); a monazite inclusion no longer missed, an apatite one (39 analysis pixels)
      missed at 5.8 degrees instead of 4.6.
    * Thin (TEM), ``e = 0``: the counts alone. A particle's edge is thin, so its projected
      area reaches past the pixels where it holds most of the counts, and ``e = 0.5`` (the
      brighter phase takes a pixel at less than half of its counts) was tried: on 6 maps of
      particles on a carbon film (a generator not of this project, binned 2 x 2) it raised
      the ARI of the five maps with magnetite cores in silica shells from 0.904-0.925 to
      0.932-0.945, but on 6 maps of a second such generator it lowered the mean ARI from
      0.808 to 0.797 and missed 11 phases instead of 8 (the film round small particles
      joined them), and on the TEM maps of :mod:`sigma.synthetic.family` it cost 0.03-0.07.

    Examples
    --------
    >>> boundary_exponent(True), boundary_exponent(False)
    (0.0, -1.0)
    """
    return THIN_BOUNDARY_EXPONENT if thin_sample else BULK_BOUNDARY_EXPONENT


def checked_boundary(value, name: str = "boundary") -> float:
    """``value`` as the exponent of the boundary rule (:func:`boundary_exponent`), from -2 to
    2, or an error that names the parameter ``name``.

    Examples
    --------
    >>> checked_boundary(-1)
    -1.0
    >>> checked_boundary(3, "auto_args['boundary']")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaValueError: ...auto_args['boundary']...
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not -2 <= value <= 2:
        raise bad_value(name, value, "an exponent from -2 to 2")
    return float(value)


#: On a thin (TEM) map, the least share of a boundary pixel's X-ray counts that a phase seen
#: through another in projection (a core inside its shell, a particle inside a matrix: the
#: phase's label is enclosed by the other's, :func:`sigma.unmixing.net.enclosing_clusters`,
#: the film left out) must hold to take the pixel from the one round it. A pixel on the core's
#: footprint holds the shell above and below the core, thickest right at the core's edge,
#: where the core is thinnest: by the counts alone (one half) the shell takes the core's rim.
#: Measured on 12 maps of two generators not of this project, the truth being the footprint
#: (a core beats its shell): 0.5 missed the silica shell on the 5 maps of magnetite in silica
#: (its label took the cores' rims: 5.1-8.4 degrees from it) and the Fe3O4 core under a gold
#: shell (10.5 degrees); 0.25 still missed Fe3O4 (5.4); 0.15 missed none of them.
ENCLOSED_MIN_SHARE = 0.15
#: On a thin (TEM) map, the least share of a boundary pixel's X-ray counts that a particle
#: must hold to take the pixel from the support film (:func:`sigma.unmixing.net.find_film`).
#: The film lies under the particle too, so a pixel that the particle covers by half holds
#: the film's full counts and the particle's thinnest part: by the counts alone (one half)
#: the film takes the particles' rims. Measured on the same 12 maps (footprint truth), with
#: :data:`ENCLOSED_MIN_SHARE`: ARI higher on 11 at 0.4 than at 0.5 (+0.006 to +0.034; 0.925
#: to 0.950 on a map of magnetite/silica, gold, ceria and titania at 20 counts per particle
#: pixel), lower on one of very small particles (1.5-4 pixels across, 0.884 to 0.847); 0.45
#: gained about half as much, 0.35 lost more on the small particles. On the 6 TEM maps of
#: :func:`sigma.synthetic.family.family_specs` (footprint truth): +0.014, +0.010 and +0.003 on
#: three, -0.005 and -0.002 on two.
FILM_MIN_SHARE = 0.4


def enclosed_share(thin_sample: bool) -> float | None:
    """Default least share of an enclosed phase at its host's boundary
    (:data:`ENCLOSED_MIN_SHARE` on a thin-sample map; ``None``, no such rule, on a bulk one,
    where an inclusion's boundary pixel goes to the phase covering most of it).

    Examples
    --------
    >>> enclosed_share(True), enclosed_share(False)
    (0.15, None)
    """
    return ENCLOSED_MIN_SHARE if thin_sample else None


def film_share(thin_sample: bool) -> float | None:
    """Default least share of a particle at the film's boundary (:data:`FILM_MIN_SHARE` on a
    thin-sample map; ``None`` on a bulk one, which has no film).

    Examples
    --------
    >>> film_share(True), film_share(False)
    (0.4, None)
    """
    return FILM_MIN_SHARE if thin_sample else None


def checked_share(value, name: str) -> float | None:
    """``value`` as the least share of a thin-sample boundary rule (:data:`ENCLOSED_MIN_SHARE`,
    :data:`FILM_MIN_SHARE`): ``None`` (no such rule) or a number above 0 and at most 0.5, or
    an error that names the parameter ``name``.

    Examples
    --------
    >>> checked_share(0.2, "enclosed"), checked_share(None, "on_film")
    (0.2, None)
    >>> checked_share(0.8, "auto_args['enclosed']")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sigma._errors.SigmaValueError: ...auto_args['enclosed']...
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 0.5:
        raise bad_value(name, value, "None or a share above 0 and at most 0.5")
    return float(value)


def _thin_floors(floors, yx, lab, k, enclosed=None, on_film=None):
    """``floors`` (``(K, K)`` or ``None``: one half) with the least shares of a thin sample,
    and the decisions that set them.

    * ``on_film``: every label beside the film (:func:`sigma.unmixing.net.find_film`, on the
      labels' mean counts per pixel over the X-ray bands ``yx``) takes a pixel from it with
      that share (the film with ``1 - on_film``); one decision ``{'step': 'on film',
      'pixels', 'min_share'}`` (the film's pixels).
    * ``enclosed``: each label enclosed by another (the film encloses nothing) takes a pixel
      from its host with that share; one decision per pair ``{'step': 'enclosed', 'pixels',
      'host_pixels', 'contact', 'min_share'}`` (``contact``: the share of its boundary
      neighbour pairs with the host).

    Neither rule applies (and that is logged) when no film is found: the label round the
    particles, a film too faint or too like them for the film rule, would then enclose every
    one of them.

    Examples
    --------
    >>> lab = np.zeros((12, 12), np.int32); lab[3:9, 3:9] = 1; lab[5:7, 5:7] = 2
    >>> yx = np.where(lab.ravel() == 0, 1.0, np.where(lab.ravel() == 1, 5.0, 9.0))[:, None]
    >>> fl, dec = _thin_floors(None, yx, lab, 3, enclosed=0.15, on_film=0.4)
    >>> fl[[2, 1, 1, 0], [1, 2, 0, 1]].tolist(), [d["step"] for d in dec]
    ([0.15, 0.85, 0.4, 0.6], ['on film', 'enclosed'])
    """
    from sigma.unmixing.net import cluster_contacts, enclosing_clusters, find_film

    if enclosed is None and on_film is None:
        return floors, []
    ok = lab >= 0
    n = np.bincount(lab[ok], minlength=k)[:k]
    con = cluster_contacts(lab, np.arange(k))
    film, why = find_film(con, _label_rates(yx, lab, ok, k), n)
    if film is None:
        log.info("thin-sample boundary rules not applied: %s", why)
        return floors, []
    out = np.full((k, k), 0.5) if floors is None else np.array(floors, dtype=np.float64)
    decisions = []
    if on_film is not None:
        others = np.arange(k) != film
        out[others, film], out[film, others] = on_film, 1.0 - on_film
        decisions.append({"step": "on film", "pixels": int(n[film]), "min_share": float(on_film)})
    if enclosed is not None:
        host = enclosing_clusters(con, exclude=(film,))
        for i in np.flatnonzero(host >= 0):
            j = int(host[i])
            out[i, j], out[j, i] = enclosed, 1.0 - enclosed
            decisions.append({"step": "enclosed", "pixels": int(n[i]), "host_pixels": int(n[j]),
                              "contact": round(float(con[i, j] / max(con[i].sum(), 1)), 3),
                              "min_share": float(enclosed)})
    return (out if decisions else floors), decisions


def _share_floors(y, lab, k, rate, exponent):
    """``(K, K)`` least share of its X-ray counts a boundary pixel labelled ``k`` holds from
    ``k`` beside a neighbouring phase ``j`` (``None``: one half for every pair).

    Phase ``k`` takes the pixel over ``j`` when ``c_k r_k**e >= c_j r_j**e`` (``c``: the
    pixel's counts from each phase, ``r``: the phase's mean counts per pixel over its label,
    ``e`` = ``exponent``), so the least share is ``r_j**e / (r_k**e + r_j**e)``; ``e = 0``
    is one half for every pair.

    Examples
    --------
    >>> y = np.array([[10.0], [10.0], [30.0], [30.0]])
    >>> lab = np.array([[0, 0], [1, 1]])
    >>> _share_floors(y, lab, 2, False, -1.0).round(2).tolist()
    [[0.5, 0.25], [0.75, 0.5]]
    """
    if exponent == 0:
        return None
    r = np.maximum(_label_rates(y[:, :-1] if rate else y, lab, lab >= 0, k), 1e-9) ** float(exponent)
    return r[None, :] / (r[:, None] + r[None, :])


def _label_rates(yx, lab, use, k) -> np.ndarray:
    """``(K,)`` mean X-ray counts per pixel (bands ``yx``) of each label of ``lab`` over the
    pixels ``use`` (bool, ``lab``'s shape; labelled pixels only)."""
    flat = lab.ravel()
    ok = use.ravel() & (flat >= 0)
    n = np.bincount(flat[ok], minlength=k)[:k]
    return np.bincount(flat[ok], weights=yx[ok].sum(1), minlength=k)[:k] / np.maximum(n, 1)
