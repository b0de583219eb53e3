"""ImageJ's Process › Subtract Background (rolling ball) for 8-bit images."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["rolling_ball_background", "subtract_background"]


def _shrink_and_trim(radius: float) -> tuple[int, int]:
    """ImageJ's shrink factor and ball-patch trim (percent) for a ball radius."""
    if radius <= 10:
        return 1, 24
    if radius <= 30:
        return 2, 24
    if radius <= 100:
        return 4, 32
    return 8, 40


def rolling_ball_background(image: np.ndarray, radius: float) -> np.ndarray:
    """Background of an image with BRIGHT objects on a dark background, by a rolling ball.

    The image is a height surface; a ball of `radius` (px, and grey levels: the same units)
    rolled under it reaches the background. As ImageJ's ``BackgroundSubtracter``: the image is
    smoothed by a 3×3 mean, shrunk by the minimum of 1×1 / 2×2 / 4×4 / 8×8 blocks for radius ≤ 10
    / ≤ 30 / ≤ 100 / larger, opened by the central patch of a ball of radius ``radius / shrink``
    (its rim trimmed by 24 / 24 / 32 / 40 %), enlarged back by bilinear interpolation, and
    capped by the image so that the background is never above it.

    Parameters
    ----------
    image : ndarray
        2-D image (any real dtype), objects bright.
    radius : float
        Ball radius in pixels, > 0.

    Returns
    -------
    ndarray
        float32 background, same shape.

    References
    ----------
    S. R. Sternberg, "Biomedical image processing", IEEE Computer 16(1), 22-34, 1983;
    ImageJ ``ij.plugin.filter.BackgroundSubtracter`` (M. Castle, J. Keller, M. Schmid).

    Examples
    --------
    >>> x = np.zeros((40, 40), np.float32); x[18:22, 18:22] = 100     # a small bright object
    >>> bg = rolling_ball_background(x + 20, 10)        # the ball passes under the object
    >>> bool(abs(bg[20, 20] - 20) < 1), float(bg[0, 0])
    (True, 20.0)
    """
    if radius <= 0:
        raise ValueError(f"radius={radius}: must be > 0")
    x = np.asarray(image, dtype=np.float32)
    smooth = ndi.uniform_filter(x, 3, mode="nearest")
    shrink, trim = _shrink_and_trim(radius)
    h, w = x.shape
    if shrink > 1:
        hh, ww = -(-h // shrink) * shrink, -(-w // shrink) * shrink
        padded = np.pad(smooth, ((0, hh - h), (0, ww - w)), mode="edge")
        small = padded.reshape(hh // shrink, shrink, ww // shrink, shrink).min(axis=(1, 3))
    else:
        small = smooth
    r = max(radius / shrink, 1.0)
    half = max(int(round(r - int(trim * r) // 100)), 1)
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    height = np.sqrt(np.maximum(r * r - yy**2 - xx**2, 0.0)).astype(np.float32)
    footprint = r * r - yy**2 - xx**2 > 0
    height = np.where(footprint, height, 0.0).astype(np.float32)
    eroded = ndi.grey_erosion(small, footprint=footprint, structure=height, mode="nearest")
    background = ndi.grey_dilation(eroded, footprint=footprint, structure=height, mode="nearest")
    if shrink > 1:
        # bilinear enlargement on the block centres, back to the full grid
        rows = (np.arange(h) + 0.5) / shrink - 0.5
        cols = (np.arange(w) + 0.5) / shrink - 0.5
        grid = np.meshgrid(np.clip(rows, 0, small.shape[0] - 1), np.clip(cols, 0, small.shape[1] - 1),
                           indexing="ij")
        background = ndi.map_coordinates(background, grid, order=1, mode="nearest")
    return np.minimum(background, x).astype(np.float32)


def subtract_background(image8: np.ndarray, radius: float, *, light_background: bool = True) -> np.ndarray:
    """ImageJ's Subtract Background (rolling ball) of an 8-bit image.

    With `light_background` (objects dark, as the hematoxylin image of Colour Deconvolution) the
    image is inverted, its :func:`rolling_ball_background` subtracted and the result inverted
    back, so the background becomes white (255) and the objects keep their contrast to it.

    Parameters
    ----------
    image8 : ndarray
        2-D uint8 image.
    radius : float
        Rolling-ball radius in pixels (ImageJ's dialog suggests 50).
    light_background : bool, optional
        Objects dark on a light background.

    Returns
    -------
    ndarray
        uint8, same shape.

    Examples
    --------
    >>> img = np.full((40, 40), 180, np.uint8); img[18:22, 18:22] = 60   # dark object, grey field
    >>> out = subtract_background(img, 10)
    >>> int(out[0, 0]), int(out[20, 20])                                # field → white, object 60 + 75
    (255, 135)
    """
    x = np.asarray(image8, dtype=np.float32)
    if light_background:
        x = 255.0 - x
    out = x - rolling_ball_background(x, radius)
    if light_background:
        out = 255.0 - out
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
