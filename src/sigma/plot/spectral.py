"""Whole-spectrum features as figures: the scree of a Poisson-PCA, its components over
energy, and its score maps (:class:`~sigma.preprocessing.spectral_features.SpectralDecomposition`).
"""

from __future__ import annotations

import numpy as np

from ._figure import _ax_or_new, new_figure

__all__ = ["SCORE_UNITS", "plot_spectral_components", "plot_spectral_scores", "plot_spectral_scree",
           "spectral_score_titles", "spectral_summary_figure"]

#: Colour-bar label of a score map.
SCORE_UNITS = "score (Poisson-scaled counts)"


def spectral_score_titles(decomposition) -> list[str]:
    """``['PC1 (41.2 %)', ...]``: each score's name with its share of the variance.

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.preprocessing.spectral_features import spectral_decomposition
    >>> d = spectral_decomposition(np.random.default_rng(0).poisson(5.0, (6, 7, 40)), 2, 8)
    >>> spectral_score_titles(d)[0].startswith("PC1 (")
    True
    """
    r = 100 * np.asarray(decomposition.explained_variance_ratio)
    return [f"{n} ({v:.1f} %)" for n, v in zip(decomposition.names, r, strict=True)]


def plot_spectral_scree(decomposition, ax=None):
    """Share of the Poisson-scaled variance along each component (bars) and cumulated (line).

    Parameters
    ----------
    decomposition : SpectralDecomposition
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.preprocessing.spectral_features import spectral_decomposition
    >>> d = spectral_decomposition(np.random.default_rng(0).poisson(5.0, (6, 7, 40)), 3, 8)
    >>> ax = plot_spectral_scree(d)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('component', 'explained variance (%)')
    """
    r = 100 * np.asarray(decomposition.explained_variance_ratio, dtype=float)
    k = np.arange(1, r.size + 1)
    ax = _ax_or_new(ax, (4.2, 3.2))
    ax.bar(k, r, color="#1f3a5f", width=0.7, label="per component")
    ax.plot(k, np.cumsum(r), "o-", color="#c0392b", ms=3, lw=1, label="cumulated")
    ax.set_xticks(k, [f"PC{i}" for i in k], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_xlabel("component")
    ax.set_ylabel("explained variance (%)")
    ax.set_title("Scree (Poisson-scaled PCA)", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="best")
    return ax


def plot_spectral_components(decomposition, energy, ax=None, n: int = 4):
    """The first ``n`` components over the energy bands, as steps on the energy axis.

    Parameters
    ----------
    decomposition : SpectralDecomposition
    energy : array_like
        Channel energies (keV) of the counts the decomposition was made from (a dataset's
        ``energy_axis``); the bands' channel edges index into it.
    ax : matplotlib Axes, optional
    n : int
        Components drawn.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.preprocessing.spectral_features import spectral_decomposition
    >>> d = spectral_decomposition(np.random.default_rng(0).poisson(5.0, (6, 7, 40)), 3, 8)
    >>> ax = plot_spectral_components(d, np.linspace(0, 4, 40))
    >>> ax.get_xlabel(), [t.get_text() for t in ax.get_legend().get_texts()][:1]
    ('energy (keV)', ['PC1'])
    """
    e = np.asarray(energy, dtype=float)
    edges = np.asarray(decomposition.edges)
    step = float(e[1] - e[0]) if e.size > 1 else 1.0
    x = np.r_[e[edges[:-1]], e[edges[-1] - 1] + step]  # band edges in keV
    ax = _ax_or_new(ax, (6.5, 3.2))
    for i in range(min(int(n), decomposition.n_components)):
        ax.stairs(decomposition.components[i], x, label=decomposition.names[i], lw=1.1)
    ax.axhline(0, color="0.6", lw=0.6)
    last = len(x) - 2 if len(x) > 2 else len(x) - 1
    ax.set_xlim(max(x[0], 0.0), x[last])  # the last band is the sparse tail of the axis
    ax.set_xlabel("energy (keV)")
    ax.set_ylabel("loading (Poisson-scaled)")
    ax.set_title(f"Components over {len(x) - 1} equal-count energy bands", fontsize=10)
    ax.legend(fontsize=8, frameon=False, ncols=2)
    return ax


def plot_spectral_scores(decomposition, calibration=None, cmap: str = "viridis"):
    """Score maps of a decomposition, titled with their share of the variance (colour limits at
    the 1st and 99th percentiles: a few extreme pixels do not flatten the others).

    Parameters
    ----------
    decomposition : SpectralDecomposition
    calibration : (size, unit) or dataset, optional
        Pixel size for a scale bar on every map.
    cmap : str

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.preprocessing.spectral_features import spectral_decomposition
    >>> d = spectral_decomposition(np.random.default_rng(0).poisson(5.0, (6, 7, 40)), 2, 8)
    >>> fig = plot_spectral_scores(d)
    >>> sorted({ax.get_ylabel() for ax in fig.axes if ax.get_label() == "<colorbar>"})
    ['score (Poisson-scaled counts)']
    """
    from .dataset import plot_feature_maps

    return plot_feature_maps(decomposition.scores, spectral_score_titles(decomposition), cmap=cmap,
                             units=SCORE_UNITS, calibration=calibration, robust=True)


def spectral_summary_figure(decomposition, energy, n: int = 4):
    """Scree and components side by side in one figure (for a report or a widget).

    Examples
    --------
    >>> import numpy as np
    >>> from sigma.preprocessing.spectral_features import spectral_decomposition
    >>> d = spectral_decomposition(np.random.default_rng(0).poisson(5.0, (6, 7, 40)), 3, 8)
    >>> [ax.get_xlabel() for ax in spectral_summary_figure(d, np.linspace(0, 4, 40)).axes]
    ['component', 'energy (keV)']
    """
    fig = new_figure((10.5, 3.2), layout="constrained")
    a, b = fig.subplots(1, 2, width_ratios=[1, 1.7])
    plot_spectral_scree(decomposition, ax=a)
    plot_spectral_components(decomposition, energy, ax=b, n=n)
    return fig
