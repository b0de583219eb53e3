"""A low-resolution picture of a slide region with nucleus outlines drawn on it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nucbench.atomic import atomic_path

__all__ = ["OverlayCanvas", "OUTLINE_COLOUR"]

#: Outline colour of nuclei on the overlay (bright green, visible on H&E).
OUTLINE_COLOUR: tuple[int, int, int] = (0, 255, 64)


class OverlayCanvas:
    """An RGB canvas assembled from downsampled pieces, with polygon outlines drawn on top.

    Parameters
    ----------
    width, height : int
        Canvas size in pixels.
    background : (int, int, int), optional
        Colour where no piece is pasted (default white, like slide glass).

    Examples
    --------
    >>> import numpy as np
    >>> canvas = OverlayCanvas(4, 4)
    >>> canvas.paste(np.zeros((2, 2, 3), np.uint8), (0, 0))
    >>> canvas.draw_ring(np.array([[2, 2], [3, 2], [3, 3], [2, 2]]))
    >>> canvas.image.getpixel((0, 0)), canvas.image.getpixel((3, 2))
    ((0, 0, 0), (0, 255, 64))
    """

    def __init__(self, width: int, height: int, *,
                 background: tuple[int, int, int] = (255, 255, 255)) -> None:
        from PIL import Image, ImageDraw

        self.image = Image.new("RGB", (max(1, int(width)), max(1, int(height))), background)
        self._draw = ImageDraw.Draw(self.image)

    def paste(self, piece: np.ndarray, corner: tuple[int, int]) -> None:
        """Paste an RGB uint8 `piece` with its top-left at ``corner = (x, y)``."""
        from PIL import Image

        self.image.paste(Image.fromarray(np.ascontiguousarray(piece, dtype=np.uint8)), tuple(corner))

    def draw_ring(self, ring: np.ndarray, colour: Sequence[int] = OUTLINE_COLOUR) -> None:
        """Draw a closed outline; `ring` is N×2 ``(x, y)`` in canvas pixels."""
        points = np.asarray(ring, dtype=float).ravel().tolist()
        if len(points) >= 4:
            self._draw.line(points, fill=tuple(colour), width=1)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the canvas as PNG, atomically; returns `path`."""
        path = Path(path)
        with atomic_path(path) as tmp:
            self.image.save(tmp, format="PNG", compress_level=3)
        return path
