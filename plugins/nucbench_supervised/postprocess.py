"""Instances from a predicted foreground probability and a predicted distance map (marker watershed)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed

__all__ = ["distance_watershed"]

_EIGHT = np.ones((3, 3), bool)


def distance_watershed(
    probability: np.ndarray,
    distance: np.ndarray,
    fg_threshold: float = 0.5,
    marker_threshold: float = 0.5,
    min_marker_area: float = 4.0,
    min_area: float = 20.0,
) -> np.ndarray:
    """Marker watershed on a predicted normalised distance map.

    Foreground is ``probability > fg_threshold``; markers are the 8-connected components of
    ``(distance > marker_threshold) & foreground`` with at least `min_marker_area` pixels (the
    nucleus cores, since the distance is normalised to 1 at each nucleus' centre); the watershed
    floods ``-distance`` from the markers inside the foreground. Foreground components without a
    marker stay one object each; objects below `min_area` pixels are removed.

    Parameters
    ----------
    probability, distance : ndarray
        H×W floats in [0, 1].
    fg_threshold, marker_threshold : float, optional
        Thresholds of the foreground and of the marker cores.
    min_marker_area, min_area : float, optional
        Smallest marker and smallest object, in pixels.

    Returns
    -------
    ndarray
        H×W int32 labels 1..n, 0 = background.

    References
    ----------
    P. Naylor et al., "Segmentation of nuclei in histopathology images by deep regression of the
    distance map", IEEE TMI 38(2), 448-459, 2019.

    Examples
    --------
    >>> yy, xx = np.indices((20, 40))
    >>> d = np.clip(1 - np.minimum(np.hypot(yy - 10, xx - 10), np.hypot(yy - 10, xx - 28)) / 8, 0, 1)
    >>> int(distance_watershed((d > 0).astype(float), d, min_area=1).max())
    2
    """
    fg = probability > fg_threshold
    if not fg.any():
        return np.zeros(fg.shape, np.int32)
    markers, n = ndi.label((distance > marker_threshold) & fg, structure=_EIGHT)
    if n and min_marker_area > 1:
        small = np.bincount(markers.ravel(), minlength=n + 1) < min_marker_area
        small[0] = False
        markers[small[markers]] = 0
    components, n_comp = ndi.label(fg, structure=_EIGHT)
    has = np.zeros(n_comp + 1, bool)
    has[components[markers > 0]] = True
    orphan = ~has[components] & fg
    markers = markers.astype(np.int64)
    markers[orphan] = components[orphan] + int(markers.max())
    labels = watershed(-distance, markers, mask=fg)
    areas = np.bincount(labels.ravel())
    drop = areas < min_area
    drop[0] = False
    labels[drop[labels]] = 0
    ids = np.unique(labels)
    ids = ids[ids > 0]
    lut = np.zeros(int(labels.max()) + 1, np.int32)
    lut[ids] = np.arange(1, len(ids) + 1, dtype=np.int32)
    return lut[labels]
