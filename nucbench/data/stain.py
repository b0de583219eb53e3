"""Stain normalisation (Reinhard colour transfer) and HED stain-jitter augmentation.

Colour space of the Reinhard target
-----------------------------------
The paper's target (L 60.12 ± 18.59, a 41.32 ± 11.81, b −11.57 ± 9.88) is in CIE L*a*b* (D65,
L in 0..100, a and b in CIE units), the space of :func:`skimage.color.rgb2lab` and of OpenCV's
``cvtColor`` on float32 RGB in [0, 1]. It is not OpenCV's 8-bit LAB (L·255/100, a + 128,
b + 128): tissue pixels of the 24 MoNuSeg tiles checked have, in CIE units, L 48.5 ± 17.5,
a 28.9 ± 7.9, b −18.4 ± 7.7 on average over tiles (per-tile means L 31–62, a 14–40, b −26 to −5.5),
the same signs and ranges as the target, whereas their 8-bit OpenCV values would be about 124,
157 and 110.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from nucbench.data.tissue import SATURATION_MIN, VALUE_MAX, tissue_mask
from nucbench.errors import InputError

__all__ = [
    "REINHARD_TARGET_MEAN",
    "REINHARD_TARGET_STD",
    "lab_statistics",
    "reinhard_normalise",
    "ReinhardColourMap",
    "rgb_to_hed",
    "hed_to_rgb",
    "hed_jitter",
]

#: Target mean of (L, a, b) in CIE L*a*b* (Sahasrabudhe et al., MICCAI 2020).
REINHARD_TARGET_MEAN: tuple[float, float, float] = (60.12, 41.32, -11.57)
#: Target standard deviation of (L, a, b) in CIE L*a*b*.
REINHARD_TARGET_STD: tuple[float, float, float] = (18.59, 11.81, 9.88)


def _check_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"`image` has shape {image.shape} and dtype {image.dtype}; expected H×W×3 uint8 RGB")
    return image


def _to_lab(image: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return rgb2lab(image.astype(np.float32) / 255.0)


def _pack(image: np.ndarray) -> np.ndarray:
    """H×W uint32 0xRRGGBB of an H×W×3 uint8 image."""
    bgra = np.zeros(image.shape[:2] + (4,), np.uint8)  # little-endian bytes of 0x00RRGGBB
    bgra[..., :3] = image[..., ::-1]
    return bgra.view("<u4")[..., 0]


def _unpack(packed: np.ndarray) -> np.ndarray:
    """…×3 uint8 of …-shaped 0xRRGGBB values (the inverse of :func:`_pack`)."""
    bgra = np.asarray(packed, "<u4")[..., None].view(np.uint8)
    return np.ascontiguousarray(bgra[..., 2::-1])


def _palette_lab(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The L*a*b* of the image's distinct colours (n×3), and each pixel's index among them (H×W).

    An H&E image has far fewer distinct colours than pixels (about a fifth, for a 1000×1000
    MoNuSeg tile), and the conversion is per colour, so converting the palette gives the same
    values as converting every pixel, in less time.
    """
    colours, inverse = np.unique(_pack(image).ravel(), return_inverse=True)
    return _to_lab(_unpack(colours)[None])[0], inverse.reshape(image.shape[:2])


def lab_statistics(image: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of (L, a, b) over the tissue pixels of an RGB image.

    Parameters
    ----------
    image : ndarray
        H×W×3 uint8 RGB.
    mask : ndarray, optional
        H×W bool: the pixels to use. Default: :func:`nucbench.data.tissue.tissue_mask` (white
        background left out), or every pixel when that finds fewer than 1 % tissue.

    Returns
    -------
    mean, std : ndarray
        Each of shape (3,), CIE L*a*b*; use them as a target for :func:`reinhard_normalise`.
    """
    image = _check_rgb(image)
    lab, inverse = _palette_lab(image)
    return _weighted_statistics(lab, inverse, _statistics_mask(image, mask))


def _weighted_statistics(
    lab: np.ndarray, inverse: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the masked pixels' L*a*b*, from the palette and each colour's pixel count."""
    counts = np.bincount(inverse[mask], minlength=len(lab)).astype(np.float64)
    lab = lab.astype(np.float64)
    mean = counts @ lab / counts.sum()
    return mean, np.sqrt(counts @ (lab - mean) ** 2 / counts.sum())


def _statistics_mask(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        mask = tissue_mask(image, saturation_min=SATURATION_MIN, value_max=VALUE_MAX)
        if mask.mean() < 0.01:
            mask = np.ones(image.shape[:2], bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape[:2]:
        raise InputError(
            f"`mask` (shape {mask.shape}) must have the shape of `image` (shape {image.shape[:2]})"
        )
    if not mask.any():
        raise InputError("`mask` selects no pixel")
    return mask


def reinhard_normalise(image: np.ndarray, target_mean: tuple[float, float, float] = REINHARD_TARGET_MEAN,
                       target_std: tuple[float, float, float] = REINHARD_TARGET_STD, *,
                       mask: np.ndarray | None = None, keep_background: bool = True,
                       statistics: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Reinhard colour transfer: match each L*a*b* channel's mean and std to a target.

    ``out = (lab − mean_image) / std_image · target_std + target_mean`` per channel, with the
    image statistics taken over tissue pixels only, then back to RGB.

    Parameters
    ----------
    image : ndarray
        H×W×3 uint8 RGB.
    target_mean, target_std : tuple of float, optional
        Target (L, a, b) statistics in CIE L*a*b*; default the paper's (see the module notes),
        or :func:`lab_statistics` of a reference image.
    mask : ndarray, optional
        H×W bool pixels used for the image's statistics (and transformed when
        `keep_background`). Default: :func:`nucbench.data.tissue.tissue_mask`, or all pixels
        when it finds fewer than 1 % tissue.
    keep_background : bool, optional
        Leave pixels outside the mask (white glass) unchanged, default ``True``; stretching them
        with the tissue's statistics would tint the background.
    statistics : (mean, std), optional
        The source's (L, a, b) statistics (:func:`lab_statistics`) to use instead of measuring
        them on `image`, e.g. a whole slide's for each of its crops. `mask` then only chooses the
        pixels left unchanged with `keep_background`.

    Returns
    -------
    ndarray
        H×W×3 uint8 RGB.

    References
    ----------
    Reinhard, Ashikhmin, Gooch, Shirley, "Color transfer between images", IEEE Computer Graphics
    and Applications 21(5), 2001. Used as in Sahasrabudhe et al., MICCAI 2020, Sec. 4.1.

    Notes
    -----
    Reinhard et al. work in the decorrelated lαβ space; like most histology code (and the paper's
    target values) this uses CIE L*a*b*. A channel with zero spread in the image is only shifted.
    Background handling follows HistomicsTK's ``reinhard(..., mask_out=...)``: glass is left out
    of the statistics and, with `keep_background`, left as it is (otherwise the mean shift turns
    white glass yellow or pink). Pale tissue of a dark tile may still map to white, since the
    target L mean (60) is brighter than most MoNuSeg tiles (tissue L 31–62).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((2, 2, 3), np.uint8); image[..., 0] = (150, 200); image[..., 2] = 170
    >>> reinhard_normalise(image).shape
    (2, 2, 3)
    """
    from skimage.color import lab2rgb

    image = _check_rgb(image)
    mask = _statistics_mask(image, mask)
    lab, inverse = _palette_lab(image)
    if statistics is None:
        mean, std = _weighted_statistics(lab, inverse, mask)
    else:
        mean, std = (np.asarray(v, np.float64) for v in statistics)
    gain = np.divide(np.asarray(target_std, np.float64), std, out=np.ones(3), where=std > 1e-6)
    out_lab = ((lab - mean) * gain + np.asarray(target_mean, np.float64)).astype(np.float32)
    out_lab[..., 0] = np.clip(out_lab[..., 0], 0.0, 100.0)
    palette = np.rint(np.clip(lab2rgb(out_lab[None])[0], 0.0, 1.0) * 255.0).astype(np.uint8)
    rgb = palette[inverse]
    if keep_background:
        rgb[~mask] = image[~mask]
    return rgb


class ReinhardColourMap:
    """:func:`reinhard_normalise` with fixed source statistics, memoised per RGB colour.

    With the source statistics fixed (a whole slide's, for each of its crops), the transform is
    a map from each RGB colour to another, so each colour is converted through L*a*b* once and
    later crops are a table look-up. The result is equal to
    ``reinhard_normalise(image, target_mean, target_std, statistics=statistics)`` (tested), at a
    fraction of the cost once the slide's palette has been seen.

    Parameters
    ----------
    statistics : (mean, std)
        The source's (L, a, b) statistics (:func:`lab_statistics`).
    target_mean, target_std : tuple of float, optional
        Target (L, a, b) statistics, default the paper's.

    Notes
    -----
    The table has one 32-bit entry per colour (2²⁴ entries, 64 MiB of address space) allocated
    zeroed, so the operating system commits only the pages of colours that occur: an H&E slide's
    palette touches a small part of it. Threads may share one map. Out-of-gamut colours are
    clipped as :func:`reinhard_normalise` clips them, without its warning.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((2, 2, 3), np.uint8); image[..., 0] = (150, 200); image[..., 2] = 170
    >>> stats = lab_statistics(image)
    >>> bool((ReinhardColourMap(stats)(image) == reinhard_normalise(image, statistics=stats)).all())
    True
    """

    _KNOWN = np.uint32(1 << 24)  # flag of a filled entry; the low 24 bits hold the output colour

    def __init__(self, statistics: tuple[np.ndarray, np.ndarray],
                 target_mean: tuple[float, float, float] = REINHARD_TARGET_MEAN,
                 target_std: tuple[float, float, float] = REINHARD_TARGET_STD) -> None:
        self.statistics = tuple(np.asarray(v, np.float64) for v in statistics)
        self.target_mean, self.target_std = target_mean, target_std
        self._table = np.zeros(1 << 24, np.uint32)
        self._lock = threading.Lock()

    @property
    def colours(self) -> int:
        """How many colours the table holds so far."""
        return int(np.count_nonzero(self._table))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Normalise an H×W×3 uint8 RGB image (background kept, as :func:`reinhard_normalise`)."""
        image = _check_rgb(image)
        packed = _pack(image)
        values = self._table[packed]
        if not values.all():
            self._fill(np.unique(packed[values == 0]))
            values = self._table[packed]
        result = _unpack(values & 0xFFFFFF)
        mask = _statistics_mask(image, None)
        result[~mask] = image[~mask]
        return result

    def _fill(self, colours: np.ndarray) -> None:
        palette = _unpack(colours)[None]
        # catch_warnings swaps a global filter list: the lock keeps two threads from interleaving it
        with self._lock, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Conversion from CIE-LAB", UserWarning)
            out = reinhard_normalise(palette, self.target_mean, self.target_std, keep_background=False,
                                     mask=np.ones(palette.shape[:2], bool), statistics=self.statistics)
        self._table[colours] = self._KNOWN | _pack(out)[0]


def _hed_matrices() -> tuple[np.ndarray, np.ndarray]:
    from skimage.color import hed_from_rgb, rgb_from_hed

    return hed_from_rgb.astype(np.float32), rgb_from_hed.astype(np.float32)


_LOG_ADJUST = float(np.log(1e-6))


def rgb_to_hed(image: np.ndarray) -> np.ndarray:
    """Haematoxylin, eosin, DAB concentrations of an RGB image (Ruifrok–Johnston deconvolution).

    The same units and matrices as :func:`skimage.color.rgb2hed`, without clipping negative
    concentrations to 0, so that :func:`hed_to_rgb` inverts it exactly.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[[200, 120, 180], [255, 255, 255]]], np.uint8)
    >>> bool(np.abs(hed_to_rgb(rgb_to_hed(image)).astype(int) - image).max() <= 1)
    True
    """
    hed_from_rgb, _ = _hed_matrices()
    rgb = np.maximum(np.asarray(image, np.float32) / 255.0, 1e-6)
    return (np.log(rgb) / _LOG_ADJUST) @ hed_from_rgb


def hed_to_rgb(hed: np.ndarray) -> np.ndarray:
    """RGB uint8 from HED concentrations (inverse of :func:`rgb_to_hed`)."""
    _, rgb_from_hed = _hed_matrices()
    rgb = np.exp((np.asarray(hed, np.float32) * _LOG_ADJUST) @ rgb_from_hed)
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def hed_jitter(image: np.ndarray, rng: np.random.Generator | int | None = None, *, scale: float = 0.05,
               shift: float = 0.01) -> np.ndarray:
    """HED stain augmentation: scale and shift each stain's concentration by a random amount.

    ``hed'_c = hed_c · α_c + β_c`` with ``α_c ~ U(1 − scale, 1 + scale)`` and
    ``β_c ~ U(−shift, shift)`` drawn per channel (and per image for a batch).

    Parameters
    ----------
    image : ndarray
        H×W×3 uint8 RGB, or N×H×W×3 (one draw per image).
    rng : numpy.random.Generator or int, optional
        Random generator or seed; the same seed gives the same result.
    scale : float, optional
        Half-width of the multiplicative factor, default 0.05 (Tellez et al.'s "HED-light").
    shift : float, optional
        Half-width of the additive shift in :func:`skimage.color.rgb2hed` units, default 0.01
        (haematoxylin in H&E tissue ranges about 0.01–0.2 in these units).

    Returns
    -------
    ndarray
        uint8 RGB of the same shape.

    References
    ----------
    Tellez et al., "Whole-slide mitosis detection in H&E breast histology using PHH3 as a
    reference to train distilled stain-invariant convolutional networks", IEEE TMI 37(9), 2018.

    Notes
    -----
    Tellez et al. draw the shift from ``U(−σ, σ)`` with the same σ as the scale. In skimage's
    HED units (optical density / 13.8) that is strong: shifting all three stains of white glass
    by +0.05 gives RGB (129, 54, 113), by +0.01 (the default's extreme) (222, 187, 217). On a
    MoNuSeg tile the defaults change pixels by 4–6 grey levels on average.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((4, 4, 3), (200, 120, 180), np.uint8)
    >>> a = hed_jitter(image, 7); b = hed_jitter(image, 7)
    >>> bool((a == b).all()), a.shape
    (True, (4, 4, 3))
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (3, 4) or image.shape[-1] != 3:
        raise InputError(
            f"`image` has shape {image.shape} and dtype {image.dtype}; expected (N×)H×W×3 uint8 RGB"
        )
    if scale < 0 or shift < 0:
        raise InputError(f"scale and shift must be ≥ 0; got scale={scale}, shift={shift}")
    rng = np.random.default_rng(rng)
    batch = image if image.ndim == 4 else image[None]
    n = batch.shape[0]
    alpha = rng.uniform(1.0 - scale, 1.0 + scale, size=(n, 1, 1, 3)).astype(np.float32)
    beta = rng.uniform(-shift, shift, size=(n, 1, 1, 3)).astype(np.float32)
    out = hed_to_rgb(rgb_to_hed(batch) * alpha + beta)
    return out if image.ndim == 4 else out[0]
