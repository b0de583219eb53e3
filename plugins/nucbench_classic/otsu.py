"""``otsu``: one global Otsu threshold and connected components — the floor."""

from __future__ import annotations

from typing import Literal

import numpy as np
import skimage.filters
from scipy import ndimage as ndi

from nucbench_classic.objects import check_rgb, finish, length_scale
from nucbench_classic.stain import grey_od, hematoxylin_od

__all__ = ["OtsuSegmenter", "STOCK"]

#: The untuned configuration (the plain floor on the hematoxylin channel).
STOCK: dict[str, object] = {"channel": "hematoxylin", "stain_vectors": "ruifrok-he", "min_od": 0.1}


class OtsuSegmenter:
    """Global Otsu threshold on the hematoxylin (or grey) optical density, then connected components.

    No smoothing, no hole filling, no splitting of touching nuclei: the floor every other method
    must beat. Foreground is ``od > max(otsu(od), min_od)``; each 8-connected component is one
    nucleus. It has no size parameters, so ``mpp`` is only validated.

    Parameters
    ----------
    channel : {"hematoxylin", "grey"}, optional
        Hematoxylin OD by colour deconvolution, or the OD of the luminance.
    stain_vectors : {"ruifrok-he", "ruifrok-hed"}, optional
        Stain vectors for the hematoxylin channel (ignored for ``grey``).
    min_od : float, optional
        Lower bound of the threshold (OD), so that a blank or glass-only tile stays empty.

    References
    ----------
    N. Otsu, "A threshold selection method from gray-level histograms", IEEE TSMC 9(1), 62-66,
    1979.

    Examples
    --------
    >>> yy, xx = np.indices((32, 64))
    >>> image = np.full((32, 64, 3), (235, 200, 220), np.uint8)
    >>> for cx in (16, 48):
    ...     image[np.hypot(yy - 16, xx - cx) < 6] = (70, 40, 130)
    >>> int(OtsuSegmenter().segment(image).max())
    2
    """

    def __init__(
        self,
        channel: Literal["hematoxylin", "grey"] = "hematoxylin",
        stain_vectors: Literal["ruifrok-he", "ruifrok-hed"] = "ruifrok-he",
        min_od: float = 0.1,
    ) -> None:
        self.channel = channel
        self.stain_vectors = stain_vectors
        self.min_od = min_od

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """Segment one H×W×3 uint8 RGB image into H×W int32 labels (0 = background)."""
        image = check_rgb(image, "otsu")
        length_scale(mpp, "otsu")
        od = hematoxylin_od(image, self.stain_vectors) if self.channel == "hematoxylin" else grey_od(image)
        lo, hi = float(od.min()), float(od.max())
        t = skimage.filters.threshold_otsu(od) if hi > lo else hi
        labels, _ = ndi.label(od > max(float(t), self.min_od), structure=np.ones((3, 3), bool))
        return finish(labels)
