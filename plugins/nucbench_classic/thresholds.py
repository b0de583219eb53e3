"""Automatic thresholds: ImageJ's 8-bit histogram methods and CellProfiler's adaptive Otsu.

Plain functions. The histogram methods take a 256-bin histogram of an 8-bit image and return the
level ``t`` such that, as in ImageJ for dark objects on a light background, the objects are the
pixels with value ``<= t``.

References
----------
- N. Otsu, "A threshold selection method from gray-level histograms", IEEE TSMC 9(1), 1979.
- L.-K. Huang and M.-J. J. Wang, "Image thresholding by minimizing the measures of fuzziness",
  Pattern Recognition 28(1), 41-51, 1995.
- T. W. Ridler and S. Calvard, "Picture thresholding using an iterative selection method",
  IEEE TSMC 8, 630-632, 1978 (ImageJ's "Default" is its variant of this IsoData method).
- C. H. Li and P. K. S. Tam, "An iterative algorithm for minimum cross entropy thresholding",
  Pattern Recognition Letters 18(8), 1998.
- J.-C. Yen, F.-J. Chang and S. Chang, "A new criterion for automatic multilevel thresholding",
  IEEE TIP 4(3), 1995.
- G. W. Zack, W. E. Rogers and S. A. Latt, "Automatic measurement of sister chromatid exchange
  frequency", J. Histochem. Cytochem. 25(7), 1977 (triangle).
"""

from __future__ import annotations

import numpy as np
import skimage.filters
from scipy import ndimage as ndi
from scipy.interpolate import RectBivariateSpline

__all__ = [
    "HISTOGRAM_METHODS",
    "histogram_threshold",
    "ij_default",
    "huang",
    "otsu_threshold",
    "adaptive_threshold",
    "LOCAL_METHODS",
    "local_threshold",
]


def _bins(hist: np.ndarray) -> tuple[int, int]:
    nz = np.flatnonzero(hist)
    return int(nz[0]), int(nz[-1])


def ij_default(hist: np.ndarray) -> int:
    """ImageJ's "Default" threshold: its variant of the iterative IsoData method.

    The counts of the extreme bins (0 and 255) are ignored, as ImageJ's Threshold dialog does
    in Default mode. Starting from the first non-empty bin, the level ``g`` moves up until
    ``g + 1`` exceeds the mean of the means below-or-at and above ``g``; the answer is that
    mean, rounded.

    Parameters
    ----------
    hist : ndarray
        256-bin histogram.

    Returns
    -------
    int
        Level; objects are ``value <= level``. 128 when fewer than two bins are occupied.

    Examples
    --------
    >>> h = np.zeros(256, int); h[50] = 10; h[200] = 30
    >>> ij_default(h)  # means 50 and 200 -> (50 + 200) / 2 = 125
    125
    """
    hist = np.array(hist, dtype=np.float64)
    hist[0] = hist[-1] = 0.0
    lo, hi = _bins(hist) if hist.any() else (0, 0)
    if lo >= hi:
        return len(hist) // 2
    idx = np.arange(len(hist), dtype=np.float64)
    c_n = np.cumsum(hist)
    c_s = np.cumsum(hist * idx)
    total_n, total_s = c_n[hi], c_s[hi]
    g = lo
    while True:
        below = c_s[g] / c_n[g]
        above = (total_s - c_s[g]) / (total_n - c_n[g]) if total_n > c_n[g] else np.nan
        result = (below + above) / 2.0
        g += 1
        if not (g + 1 <= result and g < hi - 1):
            return int(np.floor(result + 0.5))


def huang(hist: np.ndarray) -> int:
    """Huang & Wang's fuzzy-entropy threshold (Shannon entropy), as ImageJ's "Huang".

    Each grey level ``i`` belongs to its class (mean ``mu``) with membership
    ``1 / (1 + |i - mu| / C)``, ``C = last - first`` occupied bin; the level minimising the
    summed Shannon fuzziness ``-m log m - (1 - m) log(1 - m)`` is returned. This is a vectorised
    implementation of the published method with the class means not rounded (ImageJ's
    original port; its later rewrite rounds the means, which can move the level by a bin).

    Examples
    --------
    >>> h = np.zeros(256, int); h[40:60] = 5; h[180:220] = 10
    >>> 59 <= huang(h) < 180   # objects are the levels <= t: 40..59 at least
    True
    """
    hist = np.asarray(hist, dtype=np.float64)
    if not hist.any():
        return len(hist) // 2
    lo, hi = _bins(hist)
    if lo == hi:
        return lo
    idx = np.arange(len(hist), dtype=np.float64)
    c_n = np.cumsum(hist)
    c_s = np.cumsum(hist * idx)
    levels = np.arange(lo, hi)  # a level at `hi` would leave the upper class empty
    mu0 = c_s[levels] / c_n[levels]
    mu1 = (c_s[hi] - c_s[levels]) / (c_n[hi] - c_n[levels])
    grey = idx[lo : hi + 1]
    counts = hist[lo : hi + 1]
    below = grey[None, :] <= levels[:, None]
    mu = np.where(below, mu0[:, None], mu1[:, None])
    m = 1.0 / (1.0 + np.abs(grey[None, :] - mu) / (hi - lo))
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -m * np.log(m) - (1.0 - m) * np.log1p(-m)
    ent = np.where((m < 1e-6) | (m > 0.999999), 0.0, ent)
    return int(levels[np.argmin((ent * counts[None, :]).sum(axis=1))])


def _skimage_level(fn, hist: np.ndarray) -> int:
    hist = np.asarray(hist)
    if np.count_nonzero(hist) < 2:
        return len(hist) // 2
    idx = np.arange(len(hist))
    return int(np.floor(fn(hist=(hist, idx))))


def otsu_threshold(hist: np.ndarray) -> int:
    """Otsu's level on a 256-bin histogram (objects ``<= level``).

    Examples
    --------
    >>> h = np.zeros(256, int); h[50] = 10; h[200] = 30
    >>> 50 <= otsu_threshold(h) < 200
    True
    """
    return _skimage_level(skimage.filters.threshold_otsu, hist)


def _li(hist: np.ndarray) -> int:
    hist = np.asarray(hist)
    if np.count_nonzero(hist) < 2:
        return len(hist) // 2
    values = np.repeat(np.arange(len(hist), dtype=np.float64), hist.astype(np.int64))
    return int(np.floor(skimage.filters.threshold_li(values)))


def _yen(hist: np.ndarray) -> int:
    return _skimage_level(skimage.filters.threshold_yen, hist)


def _triangle(hist: np.ndarray) -> int:
    hist = np.asarray(hist)
    if np.count_nonzero(hist) < 2:
        return len(hist) // 2
    values = np.repeat(np.arange(len(hist), dtype=np.uint8), hist.astype(np.int64))
    return int(skimage.filters.threshold_triangle(values, nbins=256))


#: The histogram methods by name (Fiji's "Auto Threshold" names in lower case).
HISTOGRAM_METHODS = {
    "default": ij_default,
    "huang": huang,
    "otsu": otsu_threshold,
    "li": _li,
    "yen": _yen,
    "triangle": _triangle,
}


def histogram_threshold(image8: np.ndarray, method: str = "default") -> int:
    """Level of an 8-bit image by a named histogram method (objects are ``image8 <= level``).

    ``default`` (ImageJ's IsoData variant) and ``huang`` follow ImageJ's AutoThresholder; ``otsu``,
    ``li``, ``yen`` and ``triangle`` are scikit-image's implementations of the same papers run on
    the 256-bin histogram, which can differ from ImageJ's by a grey level or so.

    Parameters
    ----------
    image8 : ndarray
        uint8 image.
    method : {"default", "huang", "otsu", "li", "yen", "triangle"}

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For an unknown method.

    Examples
    --------
    >>> img = np.zeros((4, 4), np.uint8) + 200; img[:2, :2] = 50
    >>> 50 <= histogram_threshold(img, "otsu") < 200
    True
    """
    if method not in HISTOGRAM_METHODS:
        raise ValueError(f"method={method!r}: expected one of {sorted(HISTOGRAM_METHODS)}")
    hist = np.bincount(np.asarray(image8, dtype=np.uint8).ravel(), minlength=256)
    return HISTOGRAM_METHODS[method](hist)


def _otsu_levels(values: np.ndarray, n_classes: int, middle: str) -> float:
    """Two-class Otsu, or the lower (middle→foreground) / upper three-class Otsu threshold."""
    lo, hi = float(values.min()), float(values.max())
    # a flat patch (glass, or values a few float32 steps apart): no 256 finite histogram bins
    if hi - lo <= 256 * float(np.spacing(np.float32(max(abs(lo), abs(hi))))):
        return lo
    if n_classes == 2:
        return float(skimage.filters.threshold_otsu(values))
    if np.unique(values[: 4096]).size < 3 and np.unique(values).size < 3:
        return float(skimage.filters.threshold_otsu(values))
    low, high = skimage.filters.threshold_multiotsu(values, classes=3, nbins=128)
    return float(low if middle == "foreground" else high)


def adaptive_threshold(
    image: np.ndarray,
    *,
    scope: str = "global",
    n_classes: int = 2,
    middle: str = "foreground",
    window: int = 50,
    correction: float = 1.0,
    bounds: tuple[float, float] = (0.0, np.inf),
) -> np.ndarray | float:
    """CellProfiler-style Otsu threshold of a float image whose objects are bright.

    Global: one Otsu threshold (two classes, or three classes with the middle class assigned to
    the foreground — the lower threshold — or to the background — the upper one), times
    `correction`, clipped to `bounds`. Adaptive: the same computed in blocks of about
    `window` pixels, blended by a spline, times `correction`, and clipped to
    ``[0.7, 1.5] ×`` the global threshold and to `bounds`, as CellProfiler 4 does.

    Parameters
    ----------
    image : ndarray
        2-D float image.
    scope : {"global", "adaptive"}
    n_classes : {2, 3}
    middle : {"foreground", "background"}
    window : int
        Adaptive block size in pixels (at least two blocks per axis are used).
    correction : float
        Multiplies the threshold.
    bounds : (float, float)
        Lower and upper bound of the final threshold.

    Returns
    -------
    float or ndarray
        A scalar (global) or a per-pixel threshold map (adaptive).

    Examples
    --------
    >>> img = np.zeros((8, 8)); img[2:5, 2:5] = 1.0
    >>> t = adaptive_threshold(img)
    >>> 0.0 <= t < 1.0
    True
    """
    values = np.asarray(image).ravel()
    t_global = _otsu_levels(values, n_classes, middle)
    if scope == "global":
        return float(np.clip(t_global * correction, *bounds))
    h, w = image.shape
    nblocks = np.maximum(np.array([h, w]) // max(int(window), 1), 2)
    edges_r = np.linspace(0, h, nblocks[0] + 1).astype(int)
    edges_c = np.linspace(0, w, nblocks[1] + 1).astype(int)
    block = np.empty(tuple(nblocks))
    for i in range(nblocks[0]):
        for j in range(nblocks[1]):
            patch = image[edges_r[i] : edges_r[i + 1], edges_c[j] : edges_c[j + 1]].ravel()
            block[i, j] = _otsu_levels(patch, n_classes, middle) if patch.size else t_global
    centres_r = (edges_r[:-1] + edges_r[1:] - 1) / 2.0
    centres_c = (edges_c[:-1] + edges_c[1:] - 1) / 2.0
    k = int(min(3, nblocks.min() - 1))
    spline = RectBivariateSpline(centres_r, centres_c, block, kx=k, ky=k)
    surface = spline(np.arange(h), np.arange(w)) * correction
    t_min = max(bounds[0], 0.7 * t_global)
    t_max = min(bounds[1], 1.5 * t_global)
    return np.clip(surface, t_min, max(t_min, t_max)).astype(np.float32)


#: Fiji "Auto Local Threshold" methods implemented by :func:`local_threshold`.
LOCAL_METHODS = ("mean", "midgrey", "niblack", "sauvola", "phansalkar")


def local_threshold(image8: np.ndarray, method: str, radius: float) -> np.ndarray:
    """Objects of an 8-bit image whose objects are BRIGHT, by a local threshold (Fiji's Auto Local Threshold).

    Each pixel is compared with statistics of a ``(2 r + 1)²`` square window around it (Fiji uses a
    circular window of radius r; the square is a faster approximation), with Fiji's default
    parameters: ``mean``: value > local mean; ``midgrey``: value > (local max + local min) / 2;
    ``niblack``: value > mean + 0.2 · std; ``sauvola``: value > mean · (1 + 0.5 (std / 128 − 1));
    ``phansalkar`` (on values scaled to [0, 1]): value > mean · (1 + 2 exp(−10 mean) +
    0.25 (std / 0.5 − 1)).

    Parameters
    ----------
    image8 : ndarray
        2-D uint8 image, objects bright.
    method : {"mean", "midgrey", "niblack", "sauvola", "phansalkar"}
    radius : float
        Window radius in pixels.

    Returns
    -------
    ndarray
        bool mask of the objects.

    References
    ----------
    W. Niblack, An Introduction to Digital Image Processing, 1986; J. Sauvola and M. Pietikäinen,
    Pattern Recognition 33(2), 2000; N. Phansalkar et al., "Adaptive local thresholding for
    detection of nuclei in diversity stained cytology images", ICCSP 2011; G. Landini, Auto Local
    Threshold (Fiji).

    Examples
    --------
    >>> img = np.zeros((9, 9), np.uint8); img[3:6, 3:6] = 200
    >>> int(local_threshold(img, "mean", 4).sum())   # the bright 3×3 square
    9
    """
    if method not in LOCAL_METHODS:
        raise ValueError(f"method={method!r}: expected one of {list(LOCAL_METHODS)}")
    size = 2 * max(int(round(radius)), 1) + 1
    x = np.asarray(image8, dtype=np.float32)
    if method == "midgrey":
        return x > (ndi.maximum_filter(x, size) + ndi.minimum_filter(x, size)) / 2.0
    if method == "phansalkar":
        x = x / 255.0
    mean = ndi.uniform_filter(x, size)
    if method == "mean":
        return x > mean
    std = np.sqrt(np.maximum(ndi.uniform_filter(x * x, size) - mean * mean, 0.0))
    if method == "niblack":
        return x > mean + 0.2 * std
    if method == "sauvola":
        return x > mean * (1.0 + 0.5 * (std / 128.0 - 1.0))
    return x > mean * (1.0 + 2.0 * np.exp(-10.0 * mean) + 0.25 * (std / 0.5 - 1.0))
