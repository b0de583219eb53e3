"""Colour deconvolution of H&E images (Ruifrok & Johnston) into stain optical densities.

Plain functions on arrays. Optical density (OD) is ``-log10(I / 255)`` per RGB channel; the
stain ODs are the RGB ODs unmixed by the inverse of the stain matrix. Nuclei are where the
hematoxylin OD is high.

References
----------
A. C. Ruifrok and D. A. Johnston, "Quantification of histochemical staining by color
deconvolution", Analytical and Quantitative Cytology and Histology 23(4), 291-299, 2001.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "STAIN_VECTORS",
    "stain_matrix",
    "hematoxylin_od",
    "grey_od",
    "od_to_8bit",
    "od_to_8bit_absorbance",
    "OD_MAX",
]

#: Stain OD vectors (rows: stains; columns: R, G, B), before normalisation.
#: ``"ruifrok-he"`` is the H&E pair of Ruifrok & Johnston as used by Fiji's "Colour
#: Deconvolution" (vector set "H&E") and CellProfiler's UnmixColors; its third vector is the
#: complement computed as Fiji does. ``"ruifrok-hed"`` is the H-E-DAB set of scikit-image's
#: ``rgb2hed``.
STAIN_VECTORS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "ruifrok-he": ((0.644211, 0.716556, 0.266844), (0.092789, 0.954111, 0.283111)),
    "ruifrok-hed": ((0.65, 0.70, 0.29), (0.07, 0.99, 0.11), (0.27, 0.57, 0.78)),
}

#: Largest optical density an 8-bit channel can express: ``-log10(1 / 255)``.
OD_MAX = float(np.log10(255.0))

# -log10(v / 255) for every 8-bit value; 0 is read as 1 so that black is finite (OD 2.41).
_OD_LUT = (-np.log10(np.maximum(np.arange(256), 1) / 255.0)).astype(np.float32)


def stain_matrix(vectors: str = "ruifrok-he") -> np.ndarray:
    """The 3×3 stain matrix (rows: unit stain OD vectors) for a named vector set.

    A set of two stains is completed with a third vector, channel by channel
    ``sqrt(max(0, 1 - s1² - s2²))`` as Fiji's Colour Deconvolution does, so that the matrix can
    be inverted.

    Parameters
    ----------
    vectors : {"ruifrok-he", "ruifrok-hed"}
        Name of the vector set (keys of :data:`STAIN_VECTORS`).

    Returns
    -------
    ndarray
        float64, shape (3, 3), each row of unit length.

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> m = stain_matrix("ruifrok-he")
    >>> np.allclose(np.linalg.norm(m, axis=1), 1.0)
    True
    """
    if vectors not in STAIN_VECTORS:
        raise ValueError(f"vectors={vectors!r}: expected one of {sorted(STAIN_VECTORS)}")
    rows = [np.asarray(v, dtype=float) / np.linalg.norm(v) for v in STAIN_VECTORS[vectors]]
    if len(rows) == 2:
        third = np.sqrt(np.clip(1.0 - rows[0] ** 2 - rows[1] ** 2, 0.0, None))
        rows.append(third / np.linalg.norm(third))
    return np.stack(rows)


def hematoxylin_od(image: np.ndarray, vectors: str = "ruifrok-he") -> np.ndarray:
    """Hematoxylin optical density of an RGB uint8 image by colour deconvolution.

    Parameters
    ----------
    image : ndarray
        H×W×3 uint8 RGB.
    vectors : str, optional
        Stain vector set (see :func:`stain_matrix`), default ``"ruifrok-he"``.

    Returns
    -------
    ndarray
        H×W float32, hematoxylin OD (log10 units, ≥ 0 up to rounding); 0 on white.

    Examples
    --------
    >>> white = np.full((2, 2, 3), 255, np.uint8)
    >>> float(hematoxylin_od(white).max())
    0.0
    >>> purple = np.full((2, 2, 3), (60, 40, 120), np.uint8)   # dark blue-purple: nucleus-like
    >>> bool(hematoxylin_od(purple).min() > 0.3)
    True
    """
    unmix = np.linalg.inv(stain_matrix(vectors))[:, 0].astype(np.float32)  # RGB OD -> stain 1
    out = _OD_LUT[image[..., 0]] * unmix[0]
    out += _OD_LUT[image[..., 1]] * unmix[1]
    out += _OD_LUT[image[..., 2]] * unmix[2]
    np.maximum(out, 0.0, out=out)
    return out


def grey_od(image: np.ndarray) -> np.ndarray:
    """Optical density of the luminance (``0.2125 R + 0.7154 G + 0.0721 B``, as skimage's rgb2gray).

    Returns
    -------
    ndarray
        H×W float32, ``-log10(grey / 255)``; 0 on white, high on dark pixels.

    Examples
    --------
    >>> float(grey_od(np.full((1, 1, 3), 255, np.uint8))[0, 0])
    0.0
    """
    grey = image[..., 0] * np.float32(0.2125) + image[..., 1] * np.float32(0.7154)
    grey += image[..., 2] * np.float32(0.0721)
    od = -np.log10(np.maximum(grey, 1.0) / np.float32(255.0))
    return np.maximum(od, 0.0, out=od)


def od_to_8bit(od: np.ndarray) -> np.ndarray:
    """Transmitted-light 8-bit image of a stain OD, ``round(255 * 10**-od)``, as Fiji shows a stain.

    Stained pixels are dark (low values), unstained ones 255.

    Examples
    --------
    >>> od_to_8bit(np.array([0.0, 1.0, 10.0])).tolist()
    [255, 26, 0]
    """
    return np.clip(np.rint(255.0 * np.power(10.0, -od, dtype=np.float32)), 0, 255).astype(np.uint8)


def od_to_8bit_absorbance(od: np.ndarray) -> np.ndarray:
    """8-bit absorbance image of a stain OD, ``round(255 * od / OD_MAX)``: stained pixels bright.

    The scaling maps the OD range of 8-bit input (0 to ``OD_MAX = log10 255``) onto 0-255, like the
    "8-bit absorbance" output of Fiji's Colour Deconvolution 2 (whose exact scaling may differ).

    Examples
    --------
    >>> od_to_8bit_absorbance(np.array([0.0, OD_MAX / 2, 5.0])).tolist()
    [0, 128, 255]
    """
    scaled = np.rint(np.asarray(od, dtype=np.float32) * np.float32(255.0 / OD_MAX))
    return np.clip(scaled, 0, 255).astype(np.uint8)
