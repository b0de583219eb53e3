"""``fiji-style``: the usual Fiji recipe for nuclei in H&E."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed

from nucbench_classic.background import subtract_background
from nucbench_classic.objects import (
    binary_open,
    check_rgb,
    drop_border,
    filter_area,
    filter_circularity,
    finish,
    h_maxima_markers,
    length_scale,
)
from nucbench_classic.stain import OD_MAX, hematoxylin_od, od_to_8bit, od_to_8bit_absorbance
from nucbench_classic.thresholds import histogram_threshold, local_threshold

__all__ = ["FijiStyle", "STOCK"]

_EIGHT = np.ones((3, 3), bool)

#: Fiji's own defaults for each step of the recipe (no Subtract Background, Gaussian Blur σ = 2,
#: "Default" threshold, no Open, Fill Holes, Watershed on the unsmoothed distance map with
#: ImageJ's tolerance 0.5, Analyze Particles size 0–Infinity and circularity 0.00–1.00, edges
#: kept), i.e. the untuned configuration; ``min_od`` is ours (Fiji has no such guard).
STOCK: dict[str, object] = {
    "stain_vectors": "ruifrok-he",
    "stain_output": "transmittance",
    "background_radius": 0.0,
    "sigma": 2.0,
    "threshold_method": "default",
    "local_method": "none",
    "local_radius": 15.0,
    "min_od": 0.1,
    "open_iterations": 0,
    "open_count": 1,
    "fill_holes": True,
    "watershed": True,
    "edm_sigma": 0.0,
    "watershed_tolerance": 0.5,
    "size_min": 0.0,
    "size_max": math.inf,
    "circularity_min": 0.0,
    "circularity_max": 1.0,
    "exclude_edges": False,
}


class FijiStyle:
    """Fiji-style nuclei: colour deconvolution, Gaussian blur, auto-threshold, binary watershed.

    A re-implementation of the macro most Fiji users write for H&E nuclei:

    1. ``Colour Deconvolution`` ("H&E" vectors) → the hematoxylin image as Fiji shows it, 8-bit
       transmitted light ``round(255 · 10^-OD)``, nuclei dark; or (``stain_output="absorbance"``)
       the 8-bit absorbance image of Colour Deconvolution 2, ``round(255 · OD / log10 255)``,
       nuclei bright (thresholded as objects on a dark background);
    2. ``Subtract Background...`` (rolling ball of radius ``background_radius``, see
       :func:`~nucbench_classic.background.subtract_background`), which flattens unevenly
       stained or dark cytoplasm so that one threshold fits the whole tile; 0 = not run;
    3. ``Gaussian Blur...`` with ``sigma`` (on the 8-bit image, rounded back to 8-bit);
    4. ``setAutoThreshold`` with ``threshold_method`` on the 256-bin histogram; objects are the
       pixels ``<=`` the level (dark objects on a light background) and whose hematoxylin OD is at
       least ``min_od``; or, with ``local_method``, Fiji's ``Auto Local Threshold`` on the
       inverted stain image (nuclei bright) in a window of radius ``local_radius`` (see
       :func:`~nucbench_classic.thresholds.local_threshold`), still with the ``min_od`` floor;
    5. ``Open`` (Process › Binary) with the Binary Options ``iterations`` = ``open_iterations``
       and ``count`` = ``open_count`` (see :func:`~nucbench_classic.objects.binary_open`):
       removes specks and the thin bridges between neighbouring nuclei; 0 = not run;
    6. ``Fill Holes``;
    7. ``Watershed`` (Process › Binary): the Euclidean distance map (optionally smoothed by a
       ``Gaussian Blur`` of σ = ``edm_sigma``, as users do before ``Find Maxima`` so that ragged
       outlines do not seed extra maxima), its maxima with prominence ``watershed_tolerance``
       (ImageJ's binary Watershed uses 0.5, the "Adjustable Watershed" exposes it; here
       :func:`~nucbench_classic.objects.h_maxima_markers`, which approximates ImageJ's
       MaximumFinder and, like it, leaves every particle at least one maximum), a marker
       watershed on the inverted map with one-pixel dividing lines;
    8. ``Analyze Particles...`` with a size range in px² (at 40x), a circularity range
       (``4π·area/perimeter²``, see :func:`~nucbench_classic.objects.circularity`) and
       optionally "exclude on edges".

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
    background_radius : float, optional
        Rolling-ball radius of Subtract Background, px at 40x (ImageJ suggests 50); 0 = none.
    sigma : float, optional
        Gaussian blur σ in px at 40x; 0 = no blur.
    threshold_method : {"default", "huang", "otsu", "li", "yen", "triangle"}, optional
        Global auto-threshold method (used when ``local_method`` is ``"none"``).
    local_method : {"none", "mean", "midgrey", "niblack", "sauvola", "phansalkar"}, optional
        Local auto-threshold method instead of the global one.
    local_radius : float, optional
        Radius of the local threshold's window, px at 40x (Fiji's default 15).
    min_od : float, optional
        Minimum hematoxylin OD of a foreground pixel (on the processed 8-bit stain image), so
        that a blank or glass-only tile stays empty (not in Fiji).
    open_iterations : int, optional
        Iterations of the binary Open (erosions, then as many dilations); 0 = no Open.
    open_count : int, optional
        Binary Options "count", 1-8: background (erode) or foreground (dilate) neighbours needed
        to change a pixel.
    fill_holes : bool, optional
        Run Fill Holes.
    watershed : bool, optional
        Run the binary Watershed.
    edm_sigma : float, optional
        Gaussian σ (px at 40x) applied to the distance map before its maxima are found; 0 = none
        (ImageJ's Watershed).
    watershed_tolerance : float, optional
        Prominence of distance-map maxima that seed the watershed, px at 40x.
    size_min : float, optional
        Smallest particle area, px² at 40x.
    size_max : float, optional
        Largest particle area, px² at 40x; ``math.inf`` (YAML ``.inf``) = Infinity.
    circularity_min, circularity_max : float, optional
        Circularity range of the particles kept, within 0-1.
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
        background_radius: float = 35.0,
        sigma: float = 1.75,
        threshold_method: Literal["default", "huang", "otsu", "li", "yen", "triangle"] = "li",
        local_method: Literal["none", "mean", "midgrey", "niblack", "sauvola", "phansalkar"] = "none",
        local_radius: float = 15.0,
        min_od: float = 0.05,
        open_iterations: int = 0,
        open_count: int = 1,
        fill_holes: bool = True,
        watershed: bool = True,
        edm_sigma: float = 0.5,
        watershed_tolerance: float = 0.5,
        size_min: float = 100.0,
        size_max: float = 2000.0,
        circularity_min: float = 0.2,
        circularity_max: float = 1.0,
        exclude_edges: bool = False,
    ) -> None:
        if size_max < size_min:
            raise ValueError(f"size range ({size_min}, {size_max}) must satisfy min <= max")
        if not 0.0 <= circularity_min <= circularity_max <= 1.0:
            raise ValueError(f"circularity range ({circularity_min}, {circularity_max}) must satisfy "
                             "0 <= min <= max <= 1")
        if background_radius < 0:
            raise ValueError(f"background_radius={background_radius} must be >= 0")
        if open_iterations < 0 or not 1 <= open_count <= 8:
            raise ValueError(f"open_iterations={open_iterations} must be >= 0 and open_count={open_count} "
                             "within 1-8")
        self.stain_vectors = stain_vectors
        self.stain_output = stain_output
        self.background_radius = background_radius
        self.sigma = sigma
        self.threshold_method = threshold_method
        self.local_method = local_method
        self.local_radius = local_radius
        self.min_od = min_od
        self.open_iterations = open_iterations
        self.open_count = open_count
        self.fill_holes = fill_holes
        self.watershed = watershed
        self.edm_sigma = edm_sigma
        self.watershed_tolerance = watershed_tolerance
        self.size_min = size_min
        self.size_max = size_max
        self.circularity_min = circularity_min
        self.circularity_max = circularity_max
        self.exclude_edges = exclude_edges

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """Segment one H×W×3 uint8 RGB image into H×W int32 labels (0 = background)."""
        image = check_rgb(image, "fiji-style")
        s = length_scale(mpp, "fiji-style")
        od = hematoxylin_od(image, self.stain_vectors)
        absorbance = self.stain_output == "absorbance"
        stain = od_to_8bit_absorbance(od) if absorbance else od_to_8bit(od)
        if self.background_radius > 0:
            stain = subtract_background(stain, self.background_radius * s, light_background=not absorbance)
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
        if self.open_iterations > 0:
            mask = binary_open(mask, max(int(round(self.open_iterations * s)), 1), self.open_count)
        if self.fill_holes:
            mask = ndi.binary_fill_holes(mask)
        if not mask.any():
            return np.zeros(mask.shape, np.int32)
        if self.watershed:
            edm = ndi.distance_transform_edt(mask)
            if self.edm_sigma > 0:
                edm = ndi.gaussian_filter(edm, self.edm_sigma * s)
            markers = h_maxima_markers(edm, self.watershed_tolerance * s)
            labels = watershed(-edm, markers, mask=mask, watershed_line=True)
        else:
            labels, _ = ndi.label(mask, structure=_EIGHT)
        labels = filter_area(labels, self.size_min * s * s, self.size_max * s * s)
        labels = filter_circularity(labels, self.circularity_min, self.circularity_max)
        if self.exclude_edges:
            labels = drop_border(labels)
        return finish(labels)
