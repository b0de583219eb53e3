"""Training targets for the supervised U-Net, from instance labels."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import find_boundaries

__all__ = ["distance_target"]


def distance_target(labels: np.ndarray) -> np.ndarray:
    """Distance of each nucleus pixel to its own border, normalised to 1 at the nucleus' maximum.

    The border of a nucleus is its background *and* its touching neighbours, so two touching
    nuclei get two separate peaks (Naylor et al., IEEE TMI 38(2), 2019). Background is 0.

    Parameters
    ----------
    labels : ndarray
        H×W integer instance labels.

    Returns
    -------
    ndarray
        H×W float32 in [0, 1].

    Examples
    --------
    >>> lab = np.zeros((1, 8), int); lab[0, 1:4] = 1; lab[0, 4:7] = 2
    >>> distance_target(lab).round(2).tolist()   # each nucleus: border 1, centre 2 -> 0.5, 1, 0.5
    [[0.0, 0.5, 1.0, 0.5, 0.5, 1.0, 0.5, 0.0]]
    """
    labels = np.asarray(labels)
    fg = labels > 0
    if not fg.any():
        return np.zeros(labels.shape, np.float32)
    inner = fg & ~find_boundaries(labels, mode="inner")
    dist = ndi.distance_transform_edt(inner) + fg  # border pixels 1, next 2, ...
    peak = ndi.maximum(dist, labels, index=np.arange(labels.max() + 1))
    peak = np.asarray(peak, dtype=np.float64)
    peak[peak == 0] = 1.0
    return (dist / peak[labels] * fg).astype(np.float32)
