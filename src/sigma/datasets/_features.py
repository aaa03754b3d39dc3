"""The feature list, the normalisation chain and the navigation image as a feature.

Shared by the spectrum datasets (:mod:`sigma.datasets.base`) and the element-map dataset
(:mod:`sigma.datasets.image`).
"""

from __future__ import annotations

import logging

import numpy as np

from .._display import quiet
from ..preprocessing.normalisation import _resolve, apply_chain, chain_names
from ._record import features_fingerprint

log = logging.getLogger(__name__)

#: Name of the navigation (BSE/SE/HAADF) image when it is used as a feature.
NAV_FEATURE = "Navigator"


def _scaled01(img) -> np.ndarray:
    img = np.nan_to_num(np.asarray(img, dtype=np.float32))
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


class _FeatureMixin:
    """Feature list, normalisation chain and the navigation image as a feature."""

    nav_img_feature: bool
    feature_list: list[str]
    normalised_elemental_data: np.ndarray | None
    _norm_steps: tuple = ()

    @property
    def norm_chain(self) -> list[str]:
        """Names of the normalisation steps of the last :meth:`normalisation`.

        The steps themselves (a user's own functions included) are kept, so re-normalising
        after a change of the feature list runs the same functions. Assigning a list of
        functions or names replaces them.
        """
        return chain_names(self._norm_steps)

    @norm_chain.setter
    def norm_chain(self, steps):
        for f in steps or ():
            _resolve(f)  # an unknown name is refused now, not at the next re-normalisation
        self._norm_steps = tuple(steps or ())

    @property
    def features_fingerprint(self) -> str:
        """Cheap fingerprint of :attr:`normalised_elemental_data` and :attr:`feature_list`.

        A segmenter records it when fitted and compares it before it reads the features
        again (see :func:`sigma.datasets._record.features_fingerprint`).
        """
        return features_fingerprint(self.normalised_elemental_data, self.feature_list)

    def _valid_for_features(self):
        """Valid pixels of the analysis grid, or ``None`` when every pixel is valid."""
        return None

    @property
    def feature_dict(self) -> dict[str, int]:
        """Feature name → column of :attr:`normalised_elemental_data`."""
        return {name: i for i, name in enumerate(self.feature_list)}

    @property
    def xray_lines(self) -> list[str]:
        """The features that are X-ray lines (the feature list without the navigator)."""
        return [f for f in self.feature_list if f != NAV_FEATURE]

    def normalisation(self, norm_list=()):
        """Feature maps of :attr:`feature_list`, then each normalisation in order.

        Sets and returns :attr:`normalised_elemental_data`, ``(H, W, F)`` float32 on the
        analysis grid (binned when the data were binned). The returned view shows as one line
        in a notebook (:func:`sigma._display.quiet`).

        Parameters
        ----------
        norm_list
            Functions from :mod:`sigma.utils.normalisation` (or their names, or a user's own
            functions of an ``(H, W, F)`` array), applied in order. Pixels outside the scanned
            area, with NaN or with no counts are left out of the statistics and set to 0.
        """
        maps = self.get_feature_maps(self.feature_list)
        steps = tuple(norm_list or ())
        self.normalised_elemental_data = apply_chain(maps, steps, mask=self._valid_for_features())
        self.norm_chain = steps
        log.info("normalised %d features with %s", maps.shape[-1], self.norm_chain or "no steps")
        # a view whose notebook display is one line (the cell's value would flood the output)
        return quiet(self.normalised_elemental_data,
                     f"normalised features {', '.join(self.feature_list)} ({', '.join(self.norm_chain) or 'raw'})")

    def get_feature_maps_with_nav_img(self, normalisation=()):
        """Append the navigation image as the feature ``'Navigator'`` and re-normalise.

        The image (binned like the spectra, scaled to 0–1) joins the X-ray line maps before the
        chain runs, so cross-feature steps such as softmax see every feature, and later calls
        (re-normalising, a new feature list, cluster spectra) keep working.

        Parameters
        ----------
        normalisation
            The chain used for the line maps, e.g. ``[norm.neighbour_averaging, norm.zscore]``.
        """
        if NAV_FEATURE not in self.feature_list:
            self.feature_list = [*self.feature_list, NAV_FEATURE]
        self.nav_img_feature = True
        return self.normalisation(normalisation)

    def _renormalise_if_needed(self):
        if self.normalised_elemental_data is not None:
            log.info("feature set changed: recomputing normalised_elemental_data")
            self.normalisation(self._norm_steps)
