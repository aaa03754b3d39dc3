"""Datasets of element maps only (no spectra): image files or H5OINA element maps."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._errors import bad_value
from ..io import RawData, load
from ..io.images import read_element_maps
from ..preprocessing import bin_image, rebin_cube
from ._features import NAV_FEATURE, _FeatureMixin, _scaled01
from ._signals import image_signal

log = logging.getLogger(__name__)


class ImageDataset(_FeatureMixin):
    """Element maps as images: one image per feature, and an optional intensity image.

    Parameters
    ----------
    chemical_maps_dir
        Folder of images (``Fe_Ka.tif``, ``Si_Ka.png``...; the feature names are the file-name
        stems), a list of image files, or an ``.h5oina`` file holding element maps only.
    intensity_map_path
        Electron image used as the navigation image (default: the sum of the maps, scaled).

    Examples
    --------
    >>> import tempfile, os, numpy as np, tifffile
    >>> d = tempfile.mkdtemp()
    >>> for i, name in enumerate(("Fe_Ka", "Si_Ka")):
    ...     tifffile.imwrite(os.path.join(d, name + ".tif"), np.full((4, 6), i + 1, np.uint8))
    >>> ds = ImageDataset(d)
    >>> ds.feature_list, ds.rebin_signal((2, 2))[0].shape
    (['Fe_Ka', 'Si_Ka'], (2, 3, 2))
    """

    def __init__(self, chemical_maps_dir, intensity_map_path=None):
        if isinstance(chemical_maps_dir, RawData):
            raw = chemical_maps_dir
        elif isinstance(chemical_maps_dir, (str, Path)) and Path(chemical_maps_dir).is_file() and \
                Path(chemical_maps_dir).suffix.lower() == ".h5oina":
            raw = load(chemical_maps_dir)
            if raw.kind != "maps":
                log.info("%s holds a spectrum cube; using its element maps is not possible, "
                         "open it with SEMDataset instead", chemical_maps_dir)
                raise bad_value("chemical_maps_dir", str(chemical_maps_dir),
                                "element maps (this file holds spectra: use SEMDataset)")
        else:
            raw = read_element_maps(chemical_maps_dir, intensity_map_path)
        self.file_path = raw.path
        self.info = raw
        self.chemical_maps = np.nan_to_num(np.asarray(raw.data, dtype=np.float32))
        self.available_features = list(raw.feature_names)
        if raw.nav_images:
            inten = next(iter(raw.nav_images.values()))
        else:
            inten = _scaled01(self.chemical_maps.sum(axis=-1))
        self.intensity_map = np.asarray(inten, dtype=np.float32)
        self.nav_img = image_signal(self.intensity_map, raw, title="intensity")
        self.chemical_maps_bin = None
        self.intensity_map_bin = None
        self.nav_img_bin = None
        self.bin_size = (1, 1)
        self.feature_list = list(self.available_features)
        self.nav_img_feature = False
        self.norm_chain: list[str] = []
        self.normalised_elemental_data = None

    # Spectrum-only attributes are absent for image datasets.
    analysis_spectra = None
    energy_axis = None
    spectra = None

    @property
    def analysis_nav_img(self) -> np.ndarray:
        """Intensity image on the analysis grid."""
        return self.intensity_map_bin if self.intensity_map_bin is not None else self.intensity_map

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the analysis grid."""
        return tuple(self.analysis_nav_img.shape)

    def rebin_signal(self, size=(2, 2)):
        """Sum the maps and the intensity image over ``size`` pixel blocks."""
        self.chemical_maps_bin = rebin_cube(self.chemical_maps, size)
        self.intensity_map_bin = bin_image(self.intensity_map, size)
        self.bin_size = (int(size[0]), int(size[1]))
        raw = RawData(data=self.chemical_maps_bin, kind="maps",
                      nav_scale=tuple(s * f for s, f in zip(self.info.nav_scale, self.bin_size, strict=True)),
                      nav_units=self.info.nav_units)
        self.nav_img_bin = image_signal(self.intensity_map_bin, raw, title="intensity")
        self.normalised_elemental_data = None
        return self.chemical_maps_bin, self.intensity_map_bin

    def set_feature_list(self, feature_list):
        """Choose which maps are features (names of :attr:`available_features`, or 'Navigator')."""
        feats = [str(f) for f in feature_list]
        bad = [f for f in feats if f not in self.available_features and f != NAV_FEATURE]
        if bad or not feats:
            raise bad_value("feature_list", bad or feats, f"names among {self.available_features} or 'Navigator'")
        self.feature_list = list(dict.fromkeys(feats))
        self.nav_img_feature = NAV_FEATURE in self.feature_list
        self._renormalise_if_needed()

    def get_feature_maps(self, feature_list=None, raw_data: bool = False):
        """The selected maps ``(H, W, F)`` float32 (binned unless ``raw_data``)."""
        feats = list(self.feature_list if feature_list is None else feature_list)
        use_bin = self.chemical_maps_bin is not None and not raw_data
        maps = self.chemical_maps_bin if use_bin else self.chemical_maps
        nav = self.intensity_map_bin if use_bin else self.intensity_map
        cols = []
        for f in feats:
            if f == NAV_FEATURE:
                cols.append(_scaled01(nav))
            elif f in self.available_features:
                cols.append(maps[..., self.available_features.index(f)])
            else:
                raise bad_value("feature_list", f, f"names among {self.available_features}")
        return np.stack(cols, axis=-1).astype(np.float32)

    def __repr__(self) -> str:
        h, w = self.chemical_maps.shape[:2]
        return f"<ImageDataset {h}×{w} px, features={self.feature_list}>"


#: Upstream spelling.
IMAGEDataset = ImageDataset
