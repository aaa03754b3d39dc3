"""A harder phantom family: Voronoi grains with inclusions (SEM), particles on a film (TEM).

The default phantom (:func:`~sigma.synthetic.make_phantom`) has large smooth blobs of five
distinct minerals. Real maps are harder, and a method tuned on that phantom may fail on them.
This family differs in geometry and in difficulty:

* **Grains** (:func:`make_grain_phantom`, SEM). Irregular Voronoi grains (the distance to each
  grain seed is perturbed by smooth noise, so boundaries wiggle), a few of which are minor
  phases; small round **inclusions** of one more mineral inside the grains; look-alike phases
  drawn from :data:`~sigma.synthetic.minerals.SIMILAR_GROUPS` (same elements, other ratios);
  **mixed pixels** at every boundary (the one-hot map blurred by the beam spread) and **gradients**
  (a wider blend) around some grains; a per-phase X-ray yield, so heavier phases give more counts
  (in a mixed pixel too: its counts are each phase's area times its yield).
* **Particles** (:func:`make_particle_phantom`, TEM at 200 kV). Round particles on an amorphous
  carbon film (every spectrum carries the Cu of the grid): magnetite cores in silica shells,
  gold, ceria and titania. The counts of a pixel follow the projected thickness of each
  material (spheres), plus the film's own counts, so particle edges blend into the film and a
  core is always seen through its shell.

Truth is the phase covering most of each grain-map pixel (its area; ``abundances`` are the
shares of its counts, which a brighter phase's yield raises), and the particle whose disc covers
each particle-map pixel, a core rather than its shell (its footprint; ``truth='counts'``: the
material giving the most counts). :func:`family_specs` lists a benchmark set spanning
4–10 phases, 10/25/100 counts per pixel and 128×128 to 512×512 maps; :func:`make_family_phantom`
builds one and :func:`binned_truth` gives the majority phase of each analysis (binned) pixel.

Examples
--------
>>> ph = make_grain_phantom((64, 64), n_phases=4, counts_per_pixel=5, n_channels=256,
...                         energy_scale=0.04, seed=1)
>>> ph.spectra.shape, len(ph.phase_names), sorted(np.unique(ph.labels).tolist())
((64, 64, 256), 4, [0, 1, 2, 3])
"""

from __future__ import annotations

import numpy as np

from .._errors import bad_value
from ._sampling import _check_seed, _rng, _sample_rows
from .generate import _assemble
from .minerals import INCLUSION_MINERALS, MINERALS, SIMILAR_GROUPS, TEM_MATERIALS
from .phantom import Phantom
from .spectra import energy_axis, mean_atomic_number, normalise_composition

__all__ = [
    "binned_truth",
    "family_specs",
    "make_family_phantom",
    "make_grain_phantom",
    "make_particle_phantom",
    "voronoi_grains",
]

_KEY_GRAINS, _KEY_PHASES, _KEY_INCL, _KEY_PARTICLES = 20, 21, 22, 23


def _check_positive(name, value):
    if not np.isfinite(value) or value <= 0:
        raise bad_value(name, value, "a positive number")
    return float(value)


def _check_hw(shape) -> tuple[int, int]:
    try:
        h, w = (int(n) for n in shape)
    except (TypeError, ValueError):
        raise bad_value("shape", shape, "a pair (H, W) of ints >= 16") from None
    if h < 16 or w < 16:
        raise bad_value("shape", tuple(shape), "a pair (H, W) of ints >= 16")
    return h, w


def voronoi_grains(shape, n_grains: int, *, roughness: float = 0.15, seed: int = 0):
    """``(H, W)`` grain ids ``0..n_grains-1`` of an irregular Voronoi tessellation.

    Each pixel belongs to the grain seed nearest to it, where the distance to every seed is
    perturbed by a smooth random field (``roughness`` times the mean grain diameter), so the
    boundaries are wavy rather than straight.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``.
    n_grains : int
    roughness : float
        Amplitude of the boundary perturbation, relative to the mean grain diameter.
    seed : int

    Examples
    --------
    >>> g = voronoi_grains((40, 50), 6, seed=2)
    >>> g.shape, sorted(np.unique(g).tolist()) == list(range(6))
    ((40, 50), True)
    """
    from scipy.ndimage import gaussian_filter

    h, w = _check_hw(shape)
    if int(n_grains) != n_grains or n_grains < 1:
        raise bad_value("n_grains", n_grains, "a positive int")
    n = int(n_grains)
    rng = _rng(_check_seed(seed), _KEY_GRAINS)
    pts = rng.random((n, 2)) * (h, w)
    diam = np.sqrt(h * w / n)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    best = np.full((h, w), np.inf, np.float32)
    grains = np.zeros((h, w), np.int32)
    fields = rng.standard_normal((4, h, w)).astype(np.float32)
    for f in fields:
        f[...] = gaussian_filter(f, diam / 4, mode="reflect")
        f /= max(float(f.std()), 1e-12)
    for i, (py, px) in enumerate(pts):
        d = np.hypot(yy - py, xx - px) + np.float32(roughness * diam) * fields[i % 4]
        closer = d < best
        best[closer] = d[closer]
        grains[closer] = i
    # a seed whose grain vanished under the perturbation gets the pixel at its own position
    for i, (py, px) in enumerate(pts):
        if not np.any(grains == i):
            grains[min(int(py), h - 1), min(int(px), w - 1)] = i
    return grains


def _pick_minerals(n_main: int, n_similar: int, inclusion: bool, rng) -> tuple[list[str], str | None]:
    """``n_main`` grain minerals with ``n_similar`` look-alike pairs, and an inclusion mineral."""
    names: list[str] = []
    groups = list(SIMILAR_GROUPS)
    rng.shuffle(groups)
    for g in groups[: max(0, min(n_similar, n_main // 2))]:
        names += list(rng.choice(g, size=2, replace=False))
    pool = [m for m in MINERALS if m not in names and m not in INCLUSION_MINERALS]
    rng.shuffle(pool)
    names += pool[: n_main - len(names)]
    order = rng.permutation(len(names))
    names = [names[i] for i in order]
    inc = None
    if inclusion:
        choices = [m for m in INCLUSION_MINERALS if m not in names]
        inc = str(rng.choice(choices))
    return [str(x) for x in names], inc


def _blend(onehot: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    if sigma <= 0:
        return onehot.copy()
    out = np.stack(
        [gaussian_filter(onehot[..., k], sigma, mode="nearest") for k in range(onehot.shape[-1])],
        axis=-1,
    )
    out[out < 1e-4] = 0.0
    return out / out.sum(-1, keepdims=True)


def make_grain_phantom(
    shape=(256, 256),
    *,
    n_phases: int = 6,
    phases=None,
    similar: int = 1,
    inclusions: int | None = None,
    inclusion_radius=(3.5, 7.5),
    grain_size: float | None = None,
    beam_spread: float = 0.8,
    gradient_fraction: float = 0.3,
    gradient_width: float = 3.0,
    counts_per_pixel: float = 25,
    n_channels: int = 2048,
    energy_scale: float = 0.01,
    energy_offset: float = -0.47,
    beam_energy: float = 20.0,
    fwhm_mnka: float = 130.0,
    seed: int = 0,
    dtype=np.uint16,
) -> Phantom:
    """An SEM map of irregular grains, look-alike phases, small inclusions and blended boundaries.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` pixels (before any binning).
    n_phases : int
        Number of phases in the map, the inclusion mineral included (when ``inclusions > 0``).
    phases : dict, optional
        ``{name: formula}``; the last one is the inclusion mineral when there are inclusions.
        Default: drawn from :data:`~sigma.synthetic.minerals.MINERALS` with ``similar``
        look-alike pairs.
    similar : int
        Look-alike pairs among the grain minerals (same elements, other ratios).
    inclusions : int, optional
        Number of round inclusions of the inclusion mineral; ``0`` for none. Default: one per
        ~4000 pixels, at least 3.
    inclusion_radius : (float, float)
        Smallest and largest inclusion radius in pixels (the default gives 4–20 pixels of a
        3×3-binned grid per inclusion).
    grain_size : float, optional
        Mean grain diameter in pixels; default ``min(H, W) / 5``.
    beam_spread : float
        Gaussian blur (pixels) of the phase map: mixed pixels at every boundary.
    gradient_fraction : float
        Share of grains with a diffuse rim (a gradient into their neighbours).
    gradient_width : float
        Gaussian width (pixels) of those rims.
    counts_per_pixel : float
        Mean total counts per pixel over the map.
    n_channels, energy_scale, energy_offset, beam_energy, fwhm_mnka
        Energy axis and detector, as in :func:`~sigma.synthetic.make_phantom`.
    seed : int
        Map, minerals and counts are functions of the seed.
    dtype : numpy dtype
        Counts dtype.

    Returns
    -------
    Phantom
        ``intensity`` holds the relative count rate (heavier phases give more counts).

    Examples
    --------
    >>> ph = make_grain_phantom((48, 64), n_phases=5, counts_per_pixel=4, n_channels=128,
    ...                         energy_scale=0.08, seed=3)
    >>> len(ph.phase_names), ph.abundances.shape, round(float(ph.intensity.mean()), 3)
    (5, (48, 64, 5), 1.0)
    """
    h, w = _check_hw(shape)
    seed = _check_seed(seed)
    if int(n_phases) != n_phases or not 2 <= n_phases <= 16:
        raise bad_value("n_phases", n_phases, "an int in [2, 16]")
    n_phases = int(n_phases)
    counts_per_pixel = _check_positive("counts_per_pixel", counts_per_pixel)
    if inclusions is None:
        inclusions = max(3, round(h * w / 4000))
    if int(inclusions) != inclusions or inclusions < 0:
        raise bad_value("inclusions", inclusions, "an int >= 0")
    inclusions = int(inclusions)
    rmin, rmax = (float(r) for r in inclusion_radius)
    if not 0 < rmin <= rmax:
        raise bad_value("inclusion_radius", inclusion_radius, "(smallest, largest) radii > 0")
    n_main = n_phases - (1 if inclusions else 0)
    rng = _rng(seed, _KEY_PHASES)
    if phases is None:
        main, inc = _pick_minerals(n_main, int(similar), inclusions > 0, rng)
        names = main + ([inc] if inc else [])
        comps = [normalise_composition(MINERALS[n]) for n in names]
    else:
        names = list(phases)
        if len(names) != n_phases:
            raise bad_value("phases", names, f"{n_phases} phases (n_phases)")
        comps = [normalise_composition(phases[n]) for n in names]
    diam = float(grain_size) if grain_size else min(h, w) / 5.0
    n_grains = max(n_main + 2, round(h * w / diam**2))
    grains = voronoi_grains((h, w), n_grains, seed=seed)
    # every grain mineral gets one of the larger half of the grains; the other grains follow
    # uneven shares, so some phases are minor but none vanishes
    area = np.bincount(grains.ravel(), minlength=n_grains)
    big = rng.permutation(np.flatnonzero(area >= np.median(area)))[:n_main]
    share = rng.dirichlet(np.full(n_main, 0.8))
    grain_phase = rng.choice(n_main, n_grains, p=share)
    grain_phase[big] = rng.permutation(n_main)[: len(big)]
    labels = grain_phase[grains].astype(np.int32)
    onehot = (labels[..., None] == np.arange(n_phases)).astype(np.float32)
    ab = _blend(onehot, beam_spread)
    if gradient_fraction > 0 and gradient_width > 0:
        from scipy.ndimage import gaussian_filter

        diffuse = rng.random(n_grains) < float(gradient_fraction)
        m = gaussian_filter(diffuse[grains].astype(np.float32), gradient_width, mode="nearest")
        wide = _blend(onehot, float(np.hypot(beam_spread, gradient_width)))
        ab = (1 - m[..., None]) * ab + m[..., None] * wide
    if inclusions:
        irng = _rng(seed, _KEY_INCL)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        inc_map = np.zeros((h, w), np.float32)
        placed = 0
        for _ in range(50 * inclusions):
            if placed == inclusions:
                break
            r = irng.uniform(rmin, rmax)
            cy, cx = irng.uniform(r + 2, h - r - 2), irng.uniform(r + 2, w - r - 2)
            d = np.hypot(yy - cy, xx - cx)
            if np.any(inc_map[d < r + 3 * max(beam_spread, 1)] > 0):
                continue  # keep inclusions apart
            # soft disc: the beam spread blurs its rim as it does grain boundaries
            disc = np.clip(r + 0.5 - d, 0.0, 1.0)
            inc_map = np.maximum(inc_map, disc)
            placed += 1
        if beam_spread > 0:
            from scipy.ndimage import gaussian_filter

            inc_map = np.clip(gaussian_filter(inc_map, beam_spread * 0.6), 0, 1)
        ab[..., : n_main] *= (1 - inc_map)[..., None]
        ab[..., n_main] = inc_map
    ab = (ab / ab.sum(-1, keepdims=True)).astype(np.float32)
    labels = ab.argmax(-1).astype(np.int32)
    zbar = np.array([mean_atomic_number(c) for c in comps])
    yields = np.clip(np.sqrt(zbar / np.median(zbar)), 0.75, 1.35)
    intensity = ab @ yields.astype(np.float32)
    # a boundary pixel's counts are each phase's area times its yield: the abundances the
    # counts are drawn from are those shares (the labels stay the phase of the larger area)
    shares = (ab * yields.astype(np.float32)) / intensity[..., None]
    intensity /= float(intensity.mean())
    axis = energy_axis(n_channels, energy_scale, energy_offset)
    plan = _assemble(
        labels, shares.astype(np.float32), names, comps, axis, energy_scale, energy_offset, kind="SEM",
        beam_energy=beam_energy, fwhm_mnka=fwhm_mnka, counts_per_pixel=counts_per_pixel,
        seed=seed, intensity=intensity.astype(np.float32),
    )  # fmt: skip
    plan.spectra = _sample_rows(plan, 0, h, dtype)
    return plan


#: TEM particle kinds: (materials from :data:`TEM_MATERIALS`, radius range in pixels).
PARTICLES = {
    "core-shell": (("magnetite", "silica"), (7.0, 12.0)),
    "gold": (("gold",), (2.5, 6.0)),
    "ceria": (("ceria",), (4.0, 8.0)),
    "titania": (("titania",), (5.0, 10.0)),
}
#: X-ray counts per unit projected thickness, relative (denser, heavier materials give more).
_YIELD = {"carbon film": 1.0, "magnetite": 1.0, "silica": 0.6, "gold": 1.8, "ceria": 1.5,
          "titania": 0.9}  # fmt: skip


def make_particle_phantom(
    shape=(256, 256),
    *,
    counts_per_pixel: float = 20,
    particles: dict | None = None,
    film_counts: float = 0.15,
    core_fraction=(0.5, 0.7),
    radii: dict | None = None,
    continuum: float = 1.0,
    profile: str = "sphere",
    rim: float = 0.5,
    plateau_depth: float = 6.0,
    blur: float = 0.0,
    n_channels: int = 2048,
    energy_scale: float = 0.01,
    energy_offset: float = -0.47,
    beam_energy: float = 200.0,
    fwhm_mnka: float = 130.0,
    truth: str = "footprint",
    seed: int = 0,
    dtype=np.uint16,
) -> Phantom:
    """A TEM map of particles on a carbon film: core–shell magnetite/silica, gold, ceria, titania.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` pixels.
    counts_per_pixel : float
        Mean total counts over the particle pixels (the film gets ``film_counts`` of that).
    particles : dict, optional
        ``{kind: number}`` with kinds from :data:`PARTICLES`; default about one particle per
        1500 pixels, shared between the four kinds.
    film_counts : float
        Counts of the bare film relative to ``counts_per_pixel``.
    core_fraction : (float, float)
        Range of core radius / particle radius of the core–shell particles.
    radii : dict, optional
        ``{kind: (smallest, largest)}`` particle radii in pixels, overriding those of
        :data:`PARTICLES` for the kinds given.
    continuum : float
        Factor on the bremsstrahlung of every spectrum (see
        :func:`~sigma.synthetic.phase_spectrum`): above 1, a weak line of a rare particle
        hardly stands out of the map's sum spectrum.
    profile : {'sphere', 'plateau'}
        ``'sphere'``: each material's counts follow its projected thickness through a sphere
        (thin rims; a core is seen through its shell, so no pixel holds the core alone).
        ``'plateau'``: flat particles whose counts rise from ``rim`` at the edge to 1 at
        ``plateau_depth`` pixels inside, every material at the same rate, and a core fills
        its pixels (the shell holds the ring round it): most particle pixels hold one
        material (over the film), the case where a phase has a spectrum of its own but few
        pixels against a film that covers most of the map.
    rim, plateau_depth : float
        With ``profile='plateau'``: relative counts at a particle's edge, and the depth in
        pixels at which they reach 1.
    blur : float
        Gaussian width (pixels) of a blur of the particles' count maps (the probe and
        drift): boundaries mix over about that many pixels.
    n_channels, energy_scale, energy_offset, beam_energy, fwhm_mnka
        Energy axis and microscope.
    truth : {'footprint', 'counts'}
        What ``labels`` holds. ``'footprint'`` (default): the particle whose disc covers the
        pixel, a core rather than its shell, the film elsewhere: what a particle analysis
        measures (sizes, areas), and how the three independent TEM phantoms this project was
        checked on label. ``'counts'``: the material giving the most counts in the pixel
        (``abundances.argmax``): a particle's thin edge and a core's rim, seen through the
        thickest part of its shell, go to the film and the shell.
    seed : int
    dtype : numpy dtype

    Returns
    -------
    Phantom
        Phases ``carbon film, magnetite, silica, gold, ceria, titania`` (those present).

    Examples
    --------
    >>> ph = make_particle_phantom((64, 64), counts_per_pixel=6, n_channels=256,
    ...                            energy_scale=0.08, seed=0)
    >>> ph.kind, ph.phase_names[0], "Cu" in ph.elements
    ('TEM', 'carbon film', True)
    """
    h, w = _check_hw(shape)
    seed = _check_seed(seed)
    counts_per_pixel = _check_positive("counts_per_pixel", counts_per_pixel)
    if profile not in ("sphere", "plateau"):
        raise bad_value("profile", profile, "'sphere' or 'plateau'")
    rim, plateau_depth = _check_positive("rim", rim), _check_positive("plateau_depth", plateau_depth)
    if not np.isfinite(blur) or blur < 0:
        raise bad_value("blur", blur, "a number >= 0")
    if truth not in ("footprint", "counts"):
        raise bad_value("truth", truth, "'footprint' or 'counts'")
    if particles is None:
        n = max(4, round(h * w / 1500))
        particles = {k: max(1, n // 4) for k in PARTICLES}
    unknown = sorted((set(particles) | set(radii or {})) - set(PARTICLES))
    if unknown:
        raise bad_value("particles", unknown[0], f"kinds among {sorted(PARTICLES)}")
    names = ["carbon film"]
    for kind in PARTICLES:
        if particles.get(kind, 0) > 0:
            names += [m for m in PARTICLES[kind][0] if m not in names]
    idx = {n: i for i, n in enumerate(names)}
    rng = _rng(seed, _KEY_PARTICLES)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    thick = np.zeros((len(names), h, w), np.float32)
    thick[0] = 1.0
    foot = np.zeros((h, w), np.int32)  # the film, then each particle's disc, a core over its shell
    occupied = np.zeros((h, w), bool)
    todo = [k for k, n in particles.items() for _ in range(int(n))]
    rng.shuffle(todo)
    for kind in todo:
        mats, (rlo, rhi) = PARTICLES[kind]
        rlo, rhi = (float(r) for r in (radii or {}).get(kind, (rlo, rhi)))
        for _ in range(200):
            r = rng.uniform(rlo, rhi)
            cy, cx = rng.uniform(r + 1, h - r - 1), rng.uniform(r + 1, w - r - 1)
            d = np.hypot(yy - cy, xx - cx)
            if not occupied[d < r + 3].any():
                break
        else:
            continue  # no room left for this one
        occupied |= d < r
        foot[d < r] = idx[mats[-1]]
        if profile == "plateau":
            depth = r - d
            flat = np.where(depth > 0, np.clip(rim + (1 - rim) * depth / plateau_depth, 0, 1), 0.0)
            if len(mats) == 2:
                core = d < r * rng.uniform(*core_fraction)
                foot[core] = idx[mats[0]]
                thick[idx[mats[0]]] += np.where(core, flat, 0)
                thick[idx[mats[1]]] += np.where(core, 0, flat)
            else:
                thick[idx[mats[0]]] += flat
            continue
        outer = 2 * np.sqrt(np.clip(r**2 - d**2, 0, None))
        if len(mats) == 2:
            rc = r * rng.uniform(*core_fraction)
            foot[d < rc] = idx[mats[0]]
            core = 2 * np.sqrt(np.clip(rc**2 - d**2, 0, None))
            thick[idx[mats[0]]] += core
            thick[idx[mats[1]]] += outer - core
        else:
            thick[idx[mats[0]]] += outer
    if blur > 0:
        from scipy.ndimage import gaussian_filter

        for t in thick[1:]:
            t[...] = gaussian_filter(t, float(blur), mode="constant")
    yields = np.array([_YIELD[n] if profile == "sphere" else 1.0 for n in names], np.float32)
    # film: its own (thin) thickness 1 with film_counts of a particle pixel's counts
    rate = thick * yields[:, None, None]
    part = rate[1:].sum(0)
    on = part > 0
    scale = float(part[on].mean()) if on.any() else 1.0
    rate[1:] /= scale
    rate[0] = film_counts
    total = rate.sum(0)
    ab = np.moveaxis(rate / total, 0, -1).astype(np.float32)
    by_counts = ab.argmax(-1).astype(np.int32)
    # the counts' scale does not depend on the truth asked for
    intensity = total / float(total[by_counts > 0].mean() if np.any(by_counts > 0) else total.mean())
    labels = foot if truth == "footprint" else by_counts
    comps = [normalise_composition(TEM_MATERIALS[n]) for n in names]
    axis = energy_axis(n_channels, energy_scale, energy_offset)
    plan = _assemble(
        labels, ab, names, comps, axis, energy_scale, energy_offset, kind="TEM",
        beam_energy=beam_energy, fwhm_mnka=fwhm_mnka, counts_per_pixel=counts_per_pixel,
        seed=seed, intensity=intensity.astype(np.float32), continuum=_check_positive("continuum", continuum),
    )  # fmt: skip
    plan.spectra = _sample_rows(plan, 0, h, dtype)
    return plan


def binned_truth(phantom, factor) -> np.ndarray:
    """Majority phase of each ``factor``-binned pixel (the grid a binned analysis works on).

    Rows and columns that do not fill a whole bin are dropped, as
    :func:`sigma.preprocessing.rebin_cube` does. Ties go to the lower phase index.

    Examples
    --------
    >>> binned_truth(np.array([[0, 0, 1, 1], [0, 1, 1, 1]]), (2, 2)).tolist()
    [[0, 1]]
    """
    lab = np.asarray(getattr(phantom, "labels", phantom))
    fy, fx = (int(factor), int(factor)) if np.ndim(factor) == 0 else (int(factor[0]), int(factor[1]))
    h, w = lab.shape[0] // fy, lab.shape[1] // fx
    blocks = lab[: h * fy, : w * fx].reshape(h, fy, w, fx).transpose(0, 2, 1, 3).reshape(h, w, -1)
    n = int(lab.max()) + 1
    votes = (blocks[..., None] == np.arange(n)).sum(2)
    return votes.argmax(-1).astype(np.int32)


def family_specs(n: int = 24, *, seed: int = 0) -> list[dict]:
    """Recipes of a benchmark set: SEM grain maps and TEM particle maps of graded difficulty.

    Three in four are SEM grain maps (4–10 phases, one of them an inclusion mineral, with one
    or two look-alike pairs, binned 3×3), cycling through 10, 25 and 100 counts per pixel and
    128×128, 256×256 and 512×512 pixels (more phases on bigger maps); one in four are TEM
    particle maps (binned 2×2) at 20 or 60 counts per particle pixel.

    Parameters
    ----------
    n : int
        Number of recipes.
    seed : int
        Offset of the phantoms' seeds.

    Returns
    -------
    list of dict
        Each with ``kind``, ``shape``, ``counts_per_pixel``, ``seed``, ``bin`` and, for SEM,
        ``n_phases`` and ``similar``; pass one to :func:`make_family_phantom`.

    Examples
    --------
    >>> specs = family_specs(8)
    >>> [s["kind"] for s in specs].count("TEM"), specs[0]["bin"]
    (2, 3)
    """
    if int(n) != n or n < 1:
        raise bad_value("n", n, "a positive int")
    out = []
    sem_counts, sem_shapes = (10, 25, 100), ((128, 128), (256, 256), (512, 512))
    phases_for = {(128, 128): (4, 5), (256, 256): (5, 6, 7, 8), (512, 512): (8, 9, 10)}
    i_sem = i_tem = 0
    for i in range(int(n)):
        s = seed + 101 * i + 7
        if i % 4 == 3:
            out.append({"kind": "TEM", "shape": (128, 128) if i_tem % 2 == 0 else (256, 256),
                        "counts_per_pixel": (20, 60)[(i_tem // 2) % 2], "seed": s, "bin": 2})
            i_tem += 1
            continue
        shape = sem_shapes[(i_sem // 3) % 3]
        opts = phases_for[shape]
        out.append({"kind": "SEM", "shape": shape, "counts_per_pixel": sem_counts[i_sem % 3],
                    "n_phases": opts[(i_sem // 9 + i_sem) % len(opts)],
                    "similar": 1 + (i_sem % 2), "seed": s, "bin": 3})
        i_sem += 1
    return out


def make_family_phantom(spec: dict, **kw) -> Phantom:
    """Build the phantom of one :func:`family_specs` recipe (extra keywords override it).

    Examples
    --------
    >>> spec = {"kind": "SEM", "shape": (48, 48), "counts_per_pixel": 5, "n_phases": 4,
    ...         "similar": 1, "seed": 2, "bin": 3}
    >>> make_family_phantom(spec, n_channels=128, energy_scale=0.08).spectra.shape
    (48, 48, 128)
    """
    args = {k: v for k, v in spec.items() if k not in ("kind", "bin")}
    args.update(kw)
    kind = str(spec.get("kind", "SEM")).upper()
    if kind == "SEM":
        return make_grain_phantom(**args)
    if kind == "TEM":
        return make_particle_phantom(**args)
    raise bad_value("spec['kind']", spec.get("kind"), "'SEM' or 'TEM'")
