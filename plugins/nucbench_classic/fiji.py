"""``fiji-style``: the usual Fiji recipe for nuclei in H&E."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from nucbench_classic.objects import check_rgb, drop_border, filter_area, finish, length_scale
from nucbench_classic.stain import OD_MAX, hematoxylin_od, od_to_8bit, od_to_8bit_absorbance
from nucbench_classic.thresholds import histogram_threshold, local_threshold

__all__ = ["FijiStyle", "STOCK"]

_EIGHT = np.ones((3, 3), bool)

#: Fiji's own defaults for each step of the recipe (Gaussian Blur σ = 2, "Default" threshold,
#: Fill Holes, Watershed, Analyze Particles 0–Infinity, edges kept), i.e. the untuned
#: configuration; ``min_od`` is ours (Fiji has no such guard).
STOCK: dict[str, object] = {
    "stain_vectors": "ruifrok-he",
    "stain_output": "transmittance",
    "sigma": 2.0,
    "threshold_method": "default",
    "local_method": "none",
    "local_radius": 15.0,
    "min_od": 0.1,
    "fill_holes": True,
    "watershed": True,
    "watershed_tolerance": 0.5,
    "size_min": 0.0,
    "size_max": None,
    "exclude_edges": False,
}


class FijiStyle:
    """Fiji-style nuclei: colour deconvolution, Gaussian blur, auto-threshold, binary watershed.

    A re-implementation of the macro most Fiji users write for H&E nuclei:

    1. ``Colour Deconvolution`` ("H&E" vectors) → the hematoxylin image as Fiji shows it, 8-bit
       transmitted light ``round(255 · 10^-OD)``, nuclei dark; or (``stain_output="absorbance"``)
       the 8-bit absorbance image of Colour Deconvolution 2, ``round(255 · OD / log10 255)``,
       nuclei bright (thresholded as objects on a dark background);
    2. ``Gaussian Blur...`` with ``sigma`` (on the 8-bit image, rounded back to 8-bit);
    3. ``setAutoThreshold`` with ``threshold_method`` on the 256-bin histogram; objects are the
       pixels ``<=`` the level (dark objects on a light background) and whose hematoxylin OD is at
       least ``min_od``; or, with ``local_method``, Fiji's ``Auto Local Threshold`` on the
       inverted stain image (nuclei bright) in a window of radius ``local_radius`` (see
       :func:`~nucbench_classic.thresholds.local_threshold`), still with the ``min_od`` floor;
    4. ``Fill Holes``;
    5. ``Watershed`` (Process › Binary): the Euclidean distance map, its maxima with prominence
       ``watershed_tolerance`` (ImageJ uses 0.5; here :func:`skimage.morphology.h_maxima`,
       which approximates ImageJ's MaximumFinder), a marker watershed on the inverted map with
       one-pixel dividing lines;
    6. ``Analyze Particles...`` with a size range in px² (at 40x) and optionally "exclude on
       edges".

    Threshold methods: ``default`` (ImageJ's IsoData variant) and ``huang`` follow ImageJ's
    AutoThresholder; ``otsu``, ``li``, ``yen`` and ``triangle`` are scikit-image's
    implementations of the same papers on the same histogram (may differ from ImageJ by a level).

    The defaults are the values tuned on the 11 MoNuSeg validation tiles
    (``benchmarks/baselines_tune.py``); :data:`STOCK` holds Fiji's own defaults. Sizes are in
    pixels at 40x (0.25 µm/px), scaled by ``0.25 / mpp`` (areas by its square) when ``mpp``
    is given.

    Parameters
    ----------
    stain_vectors : {"ruifrok-he", "ruifrok-hed"}, optional
        Fiji's "H&E" vectors, or the H-E-DAB set ("H DAB"-style third vector).
    stain_output : {"transmittance", "absorbance"}, optional
        The 8-bit stain image thresholded: transmitted light (Colour Deconvolution) or absorbance
        (Colour Deconvolution 2).
    sigma : float, optional
        Gaussian blur σ in px at 40x; 0 = no blur.
    threshold_method : {"default", "huang", "otsu", "li", "yen", "triangle"}, optional
        Global auto-threshold method (used when ``local_method`` is ``"none"``).
    local_method : {"none", "mean", "midgrey", "niblack", "sauvola", "phansalkar"}, optional
        Local auto-threshold method instead of the global one.
    local_radius : float, optional
        Radius of the local threshold's window, px at 40x (Fiji's default 15).
    min_od : float, optional
        Minimum hematoxylin OD of a foreground pixel, so that a blank or glass-only tile stays
        empty (not in Fiji).
    fill_holes : bool, optional
        Run Fill Holes.
    watershed : bool, optional
        Run the binary Watershed.
    watershed_tolerance : float, optional
        Prominence of distance-map maxima that seed the watershed, in px.
    size_min : float, optional
        Smallest particle area, px² at 40x.
    size_max : float or None, optional
        Largest particle area, px² at 40x; ``None`` = Infinity.
    exclude_edges : bool, optional
        Drop particles touching the image border.

    References
    ----------
    J. Schindelin et al., "Fiji: an open-source platform for biological-image analysis",
    Nature Methods 9, 676-682, 2012; A. C. Ruifrok and D. A. Johnston, Anal. Quant. Cytol.
    Histol. 23(4), 2001 (colour deconvolution).

    Examples
    --------
    >>> yy, xx = np.indices((48, 48))
    >>> image = np.full((48, 48, 3), (235, 200, 220), np.uint8)
    >>> image[np.hypot(yy - 24, xx - 24) < 7] = (70, 40, 130)
    >>> int(FijiStyle().segment(image).max())
    1
    """

    def __init__(
        self,
        stain_vectors: Literal["ruifrok-he", "ruifrok-hed"] = "ruifrok-he",
        stain_output: Literal["transmittance", "absorbance"] = "transmittance",
        sigma: float = 1.5,
        threshold_method: Literal["default", "huang", "otsu", "li", "yen", "triangle"] = "li",
        local_method: Literal["none", "mean", "midgrey", "niblack", "sauvola", "phansalkar"] = "none",
        local_radius: float = 15.0,
        min_od: float = 0.05,
        fill_holes: bool = True,
        watershed: bool = True,
        watershed_tolerance: float = 0.5,
        size_min: float = 100.0,
        size_max: float | None = 2000.0,
        exclude_edges: bool = False,
    ) -> None:
        if size_max is not None and size_max < size_min:
            raise ValueError(f"size range ({size_min}, {size_max}) must satisfy min <= max")
        self.stain_vectors = stain_vectors
        self.stain_output = stain_output
        self.sigma = sigma
        self.threshold_method = threshold_method
        self.local_method = local_method
        self.local_radius = local_radius
        self.min_od = min_od
        self.fill_holes = fill_holes
        self.watershed = watershed
        self.watershed_tolerance = watershed_tolerance
        self.size_min = size_min
        self.size_max = size_max
        self.exclude_edges = exclude_edges

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """Segment one H×W×3 uint8 RGB image into H×W int32 labels (0 = background)."""
        image = check_rgb(image, "fiji-style")
        s = length_scale(mpp, "fiji-style")
        od = hematoxylin_od(image, self.stain_vectors)
        absorbance = self.stain_output == "absorbance"
        stain = od_to_8bit_absorbance(od) if absorbance else od_to_8bit(od)
        if self.sigma > 0:
            blurred = ndi.gaussian_filter(stain.astype(np.float32), self.sigma * s)
            stain = np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
        bright = stain if absorbance else 255 - stain  # nuclei bright
        # the min_od floor on the same 8-bit scale
        floor = int(math.ceil(255.0 * self.min_od / OD_MAX)) if absorbance else (
            255 - int(math.floor(255.0 * 10.0 ** (-self.min_od))))
        mask = bright >= floor
        if self.local_method == "none":
            level = histogram_threshold(stain, self.threshold_method)
            mask &= stain > level if absorbance else stain <= level
        else:
            mask &= local_threshold(bright, self.local_method, self.local_radius * s)
        if self.fill_holes:
            mask = ndi.binary_fill_holes(mask)
        if not mask.any():
            return np.zeros(mask.shape, np.int32)
        if self.watershed:
            edm = ndi.distance_transform_edt(mask)
            markers, _ = ndi.label(h_maxima(edm, self.watershed_tolerance), structure=_EIGHT)
            labels = watershed(-edm, markers, mask=mask, watershed_line=True)
        else:
            labels, _ = ndi.label(mask, structure=_EIGHT)
        size_max = None if self.size_max is None else self.size_max * s * s
        labels = filter_area(labels, self.size_min * s * s, size_max)
        if self.exclude_edges:
            labels = drop_border(labels)
        return finish(labels)
