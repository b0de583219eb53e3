"""``cellprofiler-style``: CellProfiler's IdentifyPrimaryObjects on the hematoxylin channel."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from nucbench_classic.objects import (
    check_rgb,
    complete_markers,
    drop_border,
    fill_label_holes,
    fill_small_holes,
    filter_area,
    finish,
    length_scale,
    maxima_markers,
)
from nucbench_classic.stain import hematoxylin_od
from nucbench_classic.thresholds import adaptive_threshold

__all__ = ["CellProfilerStyle", "STOCK"]

_EIGHT = np.ones((3, 3), bool)

#: CellProfiler 4's own defaults for IdentifyPrimaryObjects (Otsu, two classes, global), i.e. the
#: untuned configuration; ``min_threshold`` is ours (CellProfiler's lower bound defaults to 0).
STOCK: dict[str, object] = {
    "stain_vectors": "ruifrok-he",
    "threshold_scope": "global",
    "otsu_classes": 2,
    "middle_class": "foreground",
    "adaptive_window": 50,
    "threshold_smoothing_scale": 1.3488,
    "threshold_correction": 1.0,
    "min_threshold": 0.1,
    "diameter_min": 10.0,
    "diameter_max": 40.0,
    "discard_outside_diameter": True,
    "discard_border": True,
    "declump": "intensity",
    "dividing_lines": "intensity",
    "smoothing_filter_size": None,
    "maxima_suppression": 0.0,
    "fill_holes": True,
}


class CellProfilerStyle:
    """CellProfiler-style nuclei: hematoxylin, Otsu threshold, declumping by marker watershed.

    A re-implementation of CellProfiler's UnmixColors → IdentifyPrimaryObjects pipeline:

    1. hematoxylin optical density by colour deconvolution (Ruifrok & Johnston vectors, as
       CellProfiler's UnmixColors), nuclei bright;
    2. Gaussian smoothing for thresholding with σ = ``threshold_smoothing_scale / 0.6744 / 2``;
    3. Otsu threshold, two-class or three-class (middle class to foreground or background),
       global or adaptive (blocks of ``adaptive_window`` px, clipped to 0.7–1.5 × global), times
       ``threshold_correction``, never below ``min_threshold``;
    4. fill holes smaller than ``diameter_max²`` px;
    5. declumping: markers are the local maxima of the smoothed hematoxylin (``"intensity"``) or
       of the distance transform (``"shape"``), at least ``maxima_suppression`` px apart; the
       dividing lines follow the dimmest hematoxylin (``"intensity"``) or the distance transform
       (``"shape"``) in a marker watershed; holes are filled again;
    6. optionally discard objects whose area is outside the diameter range (as equivalent
       circles) and objects touching the image border.

    The defaults are the values tuned on the 11 MoNuSeg validation tiles
    (``benchmarks/baselines_tune.py``); :data:`STOCK` holds CellProfiler's own defaults.
    Sizes are in pixels at 40x (0.25 µm/px) and are scaled by ``0.25 / mpp`` when the image's
    ``mpp`` is given.

    Parameters
    ----------
    stain_vectors : {"ruifrok-he", "ruifrok-hed"}, optional
        Hematoxylin and eosin (CellProfiler's UnmixColors with those two stains), or
        hematoxylin, eosin and DAB (scikit-image's ``rgb2hed`` vectors).
    threshold_scope : {"global", "adaptive"}, optional
        One threshold for the image, or one per block.
    otsu_classes : {2, 3}, optional
        Two-class Otsu, or three-class Otsu (``skimage.filters.threshold_multiotsu``).
    middle_class : {"foreground", "background"}, optional
        Where the middle class of three-class Otsu goes.
    adaptive_window : int, optional
        Block size of the adaptive threshold, in px at 40x.
    threshold_smoothing_scale : float, optional
        CellProfiler's "threshold smoothing scale" (1.3488 → σ = 1 px at 40x); 0 = none.
    threshold_correction : float, optional
        Multiplies the threshold (> 1 is stricter).
    min_threshold : float, optional
        Lower bound of the threshold in hematoxylin OD, so that a blank or glass-only tile,
        whose Otsu threshold falls inside the noise, stays empty.
    diameter_min, diameter_max : float, optional
        Typical nucleus diameter range in px at 40x.
    discard_outside_diameter : bool, optional
        Discard objects whose area is outside ``π (d/2)²`` for the diameter range.
    discard_border : bool, optional
        Discard objects touching the image border.
    declump : {"intensity", "shape", "none"}, optional
        How clumped objects are told apart (where the markers come from).
    dividing_lines : {"intensity", "shape"}, optional
        How the dividing lines between clumped objects are drawn.
    smoothing_filter_size : float or None, optional
        Size of the smoothing filter for intensity maxima, σ = size / 2.35 (px at 40x);
        ``None`` = automatic, ``2.35 · diameter_min / 3.5`` as CellProfiler (the default, so
        leaving it out of a config, where ``None`` means "the default", selects it).
    maxima_suppression : float, optional
        Minimum distance between maxima (px at 40x); 0 = automatic, ``diameter_min / 1.5``
        (CellProfiler's "automatically calculate"; the stock setting).
    fill_holes : bool, optional
        Fill holes after thresholding and after declumping.

    References
    ----------
    A. E. Carpenter et al., "CellProfiler: image analysis software for identifying and
    quantifying cell phenotypes", Genome Biology 7, R100, 2006; D. R. Stirling et al.,
    "CellProfiler 4", BMC Bioinformatics 22, 433, 2021.

    Examples
    --------
    >>> yy, xx = np.indices((48, 48))
    >>> image = np.full((48, 48, 3), (235, 200, 220), np.uint8)        # pink background
    >>> image[np.hypot(yy - 24, xx - 24) < 7] = (70, 40, 130)          # one purple nucleus
    >>> labels = CellProfilerStyle().segment(image)
    >>> int(labels.max())
    1
    """

    def __init__(
        self,
        stain_vectors: Literal["ruifrok-he", "ruifrok-hed"] = "ruifrok-hed",
        threshold_scope: Literal["global", "adaptive"] = "adaptive",
        otsu_classes: Literal[2, 3] = 2,
        middle_class: Literal["foreground", "background"] = "foreground",
        adaptive_window: int = 50,
        threshold_smoothing_scale: float = 1.3488,
        threshold_correction: float = 1.0,
        min_threshold: float = 0.15,
        diameter_min: float = 12.0,
        diameter_max: float = 100.0,
        discard_outside_diameter: bool = True,
        discard_border: bool = False,
        declump: Literal["intensity", "shape", "none"] = "shape",
        dividing_lines: Literal["intensity", "shape"] = "shape",
        smoothing_filter_size: float | None = None,
        maxima_suppression: float = 10.0,
        fill_holes: bool = True,
    ) -> None:
        if maxima_suppression < 0:
            raise ValueError(f"maxima_suppression={maxima_suppression} must be >= 0 (0 = automatic)")
        if diameter_min <= 0 or diameter_max < diameter_min:
            raise ValueError(
                f"diameter range ({diameter_min}, {diameter_max}) must satisfy 0 < min <= max"
            )
        self.stain_vectors = stain_vectors
        self.threshold_scope = threshold_scope
        self.otsu_classes = otsu_classes
        self.middle_class = middle_class
        self.adaptive_window = adaptive_window
        self.threshold_smoothing_scale = threshold_smoothing_scale
        self.threshold_correction = threshold_correction
        self.min_threshold = min_threshold
        self.diameter_min = diameter_min
        self.diameter_max = diameter_max
        self.discard_outside_diameter = discard_outside_diameter
        self.discard_border = discard_border
        self.declump = declump
        self.dividing_lines = dividing_lines
        self.smoothing_filter_size = smoothing_filter_size
        self.maxima_suppression = maxima_suppression
        self.fill_holes = fill_holes

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """Segment one H×W×3 uint8 RGB image into H×W int32 labels (0 = background)."""
        image = check_rgb(image, "cellprofiler-style")
        s = length_scale(mpp, "cellprofiler-style")
        h = hematoxylin_od(image, self.stain_vectors)

        sigma_t = s * self.threshold_smoothing_scale / 0.6744 / 2.0
        ht = ndi.gaussian_filter(h, sigma_t) if sigma_t > 0 else h
        t = adaptive_threshold(
            ht,
            scope=self.threshold_scope,
            n_classes=self.otsu_classes,
            middle=self.middle_class,
            window=max(int(round(self.adaptive_window * s)), 4),
            correction=self.threshold_correction,
            bounds=(self.min_threshold, np.inf),
        )
        mask = ht > t
        max_hole = (self.diameter_max * s) ** 2
        if self.fill_holes:
            mask = fill_small_holes(mask, max_hole)
        components, n = ndi.label(mask, structure=_EIGHT)
        if n == 0:
            return np.zeros(mask.shape, np.int32)

        labels = components
        if self.declump != "none":
            labels = self._declump(h, components, s)
            if self.fill_holes:
                labels = fill_label_holes(labels)

        if self.discard_outside_diameter:
            r_min, r_max = s * self.diameter_min / 2.0, s * self.diameter_max / 2.0
            labels = filter_area(labels, math.pi * r_min**2, math.pi * r_max**2)
        if self.discard_border:
            labels = drop_border(labels)
        return finish(labels)

    def _declump(self, h: np.ndarray, components: np.ndarray, s: float) -> np.ndarray:
        mask = components > 0
        suppression = self.maxima_suppression if self.maxima_suppression > 0 else self.diameter_min / 1.5
        needs_distance = "shape" in (self.declump, self.dividing_lines)
        distance = ndi.distance_transform_edt(mask).astype(np.float32) if needs_distance else None
        if self.declump == "intensity" or self.dividing_lines == "intensity":
            size = self.smoothing_filter_size if self.smoothing_filter_size is not None else (
                2.35 * self.diameter_min / 3.5
            )
            blurred = ndi.gaussian_filter(h, s * size / 2.35)
        peaks_on = blurred if self.declump == "intensity" else distance
        markers = maxima_markers(peaks_on, mask, s * suppression)
        markers = complete_markers(markers, components)
        surface = -h if self.dividing_lines == "intensity" else -distance
        return watershed(surface, markers, mask=mask)
