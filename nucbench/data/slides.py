"""Whole-slide access through OpenSlide: pyramid levels, resolution, regions at a magnification.

Magnification and mpp are tied by the convention ``magnification = 10 / mpp`` (40x ≈ 0.25 µm/px,
20x ≈ 0.5 µm/px). A slide's level-0 magnification is its objective power when the metadata gives
one (``openslide.objective-power``, else ``aperio.AppMag``) and no `mpp` override is given; else
``10 / mpp``. Coordinates are always level-0 pixels; region sizes are pixels at the requested
magnification.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from nucbench.errors import InputError

__all__ = ["Slide", "open_slide", "MAGNIFICATION_TOLERANCE"]

#: Relative tolerance within which a pyramid level counts as being *at* a requested downsample
#: (read directly, no resizing). TCGA pyramids have downsamples such as 2.0005 for a nominal 2.
MAGNIFICATION_TOLERANCE = 0.01


def _float_property(properties: Any, *keys: str) -> float | None:
    for key in keys:
        try:
            value = float(properties.get(key, ""))
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value > 0:
            return value
    return None


class Slide:
    """An open whole-slide image (any format OpenSlide reads, including tiled pyramidal TIFF).

    Parameters
    ----------
    path : str or path-like
        The slide file (``.svs``, ``.ndpi``, ``.mrxs``, ``.tif``, …).
    mpp : float, optional
        Microns per pixel at level 0, overriding the metadata; needed for slides whose metadata
        has neither mpp nor objective power (the CLI's ``--mpp``).

    Attributes
    ----------
    path : Path
    level_count : int
    level_dimensions : tuple of (int, int)
        ``(width, height)`` of each level.
    level_downsamples : tuple of float
        Downsample of each level relative to level 0.
    dimensions : (int, int)
        ``(width, height)`` of level 0.

    Raises
    ------
    InputError
        If the file is missing, a folder, not a format OpenSlide reads, or corrupt.

    Notes
    -----
    A ``Slide`` pickles as its path and `mpp` (it reopens the file), so it can be sent to Dask
    workers. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str], *, mpp: float | None = None) -> None:
        import openslide

        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder; expected a slide file")
        if mpp is not None and not (math.isfinite(mpp) and mpp > 0):
            raise InputError(f"{self.path}: mpp must be a positive number of µm per pixel; got {mpp}")
        try:
            self._slide = openslide.OpenSlide(str(self.path))
        except openslide.OpenSlideUnsupportedFormatError:
            raise InputError(
                f"{self.path}: unsupported slide format (OpenSlide cannot read it; expected e.g. "
                "Aperio .svs, Hamamatsu .ndpi, MIRAX .mrxs or a tiled pyramidal TIFF)"
            ) from None
        except openslide.OpenSlideError as exc:
            raise InputError(f"{self.path}: cannot open the slide ({exc})") from None
        self._mpp_override = mpp
        props = self._slide.properties
        self.level_count: int = self._slide.level_count
        self.level_dimensions: tuple[tuple[int, int], ...] = tuple(self._slide.level_dimensions)
        self.level_downsamples: tuple[float, ...] = tuple(float(d) for d in self._slide.level_downsamples)
        self.dimensions: tuple[int, int] = self.level_dimensions[0]
        mpp_x = _float_property(props, "openslide.mpp-x")
        mpp_y = _float_property(props, "openslide.mpp-y")
        known = [m for m in (mpp_x, mpp_y) if m is not None]
        #: mpp from the metadata alone (None when absent).
        self.metadata_mpp: float | None = sum(known) / len(known) if known else None
        #: objective power from the metadata alone (None when absent).
        self.objective_power: float | None = _float_property(
            props, "openslide.objective-power", "aperio.AppMag"
        )
        self.vendor: str | None = props.get("openslide.vendor")

    # -- resolution ---------------------------------------------------------------------------
    def _missing_resolution(self) -> InputError:
        return InputError(
            f"{self.path}: the slide's metadata has no mpp (openslide.mpp-x) and no objective power "
            "(openslide.objective-power, aperio.AppMag); give its level-0 resolution with --mpp "
            "(mpp=... in Python), e.g. --mpp 0.25 for a 40x scan"
        )

    @property
    def has_resolution(self) -> bool:
        """Whether mpp and magnification are known (from the metadata or the override)."""
        known = (self._mpp_override, self.metadata_mpp, self.objective_power)
        return any(v is not None for v in known)

    @property
    def mpp(self) -> float:
        """Microns per pixel at level 0: the override, else the metadata, else ``10 / objective power``.

        Raises
        ------
        InputError
            If none of them is known (asks for ``--mpp``).
        """
        if self._mpp_override is not None:
            return self._mpp_override
        if self.metadata_mpp is not None:
            return self.metadata_mpp
        if self.objective_power is not None:
            return 10.0 / self.objective_power
        raise self._missing_resolution()

    @property
    def magnification(self) -> float:
        """Magnification of level 0: the objective power unless `mpp` was overridden, else ``10 / mpp``.

        Raises
        ------
        InputError
            If neither mpp nor objective power is known (asks for ``--mpp``).
        """
        if self._mpp_override is None and self.objective_power is not None:
            return self.objective_power
        return 10.0 / self.mpp

    @property
    def level_magnifications(self) -> tuple[float, ...]:
        """Magnification of each pyramid level."""
        return tuple(self.magnification / d for d in self.level_downsamples)

    def best_level(self, magnification: float) -> tuple[int, float]:
        """The level to read for `magnification`, and the downsample still to apply after reading.

        The level is the one with the largest downsample that is at most the needed one (within
        :data:`MAGNIFICATION_TOLERANCE`), so that reading never upsamples.

        Returns
        -------
        level : int
        scale : float
            Remaining downsample factor (1.0 when the level is at `magnification`).

        Raises
        ------
        InputError
            If `magnification` is above the slide's level-0 magnification, or the resolution is
            unknown.
        """
        if not (math.isfinite(magnification) and magnification > 0):
            raise InputError(f"{self.path}: magnification must be positive; got {magnification}")
        base = self.magnification
        needed = base / magnification
        if needed < 1.0 - MAGNIFICATION_TOLERANCE:
            raise InputError(
                f"{self.path}: cannot read at {magnification:g}x: the slide's highest magnification is "
                f"{base:g}x (level 0); nucbench does not upsample slides"
            )
        candidates = [
            i for i, d in enumerate(self.level_downsamples) if d <= needed * (1.0 + MAGNIFICATION_TOLERANCE)
        ]
        level = max(candidates, key=lambda i: self.level_downsamples[i])
        scale = needed / self.level_downsamples[level]
        if abs(scale - 1.0) <= MAGNIFICATION_TOLERANCE:
            scale = 1.0
        return level, scale

    # -- reading ------------------------------------------------------------------------------
    def read_region(self, x: int, y: int, w: int, h: int, magnification: float | None = None, *,
                    pad: bool = False) -> np.ndarray:
        """Read an RGB region at `magnification`.

        Parameters
        ----------
        x, y : int
            Top-left corner in level-0 pixels.
        w, h : int
            Width and height of the result, in pixels at `magnification`. The region covers
            ``w · d × h · d`` level-0 pixels, with ``d = level-0 magnification / magnification``.
        magnification : float, optional
            e.g. 10, 20, 40. Default: the slide's level-0 magnification (no resizing; works
            without mpp metadata).
        pad : bool, optional
            Allow a region that extends past the slide; the outside is white. Default ``False``:
            such a region is an error.

        Returns
        -------
        ndarray
            h×w×3 uint8. OpenSlide's RGBA is composited over white. When no pyramid level is at
            `magnification`, the level just above it is read and resized down with Lanczos
            filtering (Pillow), which is anti-aliased.

        Raises
        ------
        InputError
            If the region is empty or outside the slide, the magnification is above level 0's or
            needs unknown resolution metadata, or OpenSlide fails to decode a tile.
        """
        from PIL import Image

        if w <= 0 or h <= 0:
            raise InputError(f"{self.path}: region size must be positive; got {w}×{h}")
        x, y = int(x), int(y)
        if magnification is None:
            level, scale, down = 0, 1.0, 1.0
        else:
            level, scale = self.best_level(magnification)
            down = self.magnification / magnification
        width, height = self.dimensions
        x1, y1 = x + w * down, y + h * down
        if not pad and (x < 0 or y < 0 or x1 > width + 0.5 or y1 > height + 0.5):
            raise InputError(
                f"{self.path}: region x={x}, y={y}, {w}×{h} at {self._mag_text(magnification)} covers "
                f"level-0 pixels x {x}..{x1:.0f}, y {y}..{y1:.0f}, outside the slide ({width}×{height} "
                "at level 0)"
            )
        if pad and (x >= width or y >= height or x1 <= 0 or y1 <= 0):
            raise InputError(
                f"{self.path}: region x={x}, y={y}, {w}×{h} at {self._mag_text(magnification)} lies entirely "
                f"outside the slide ({width}×{height} at level 0)"
            )
        if scale == 1.0:
            size = (w, h)
        else:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = self._read_rgb((x, y), level, size)
        if rgb.size != (w, h):
            rgb = rgb.resize((w, h), Image.Resampling.LANCZOS)
        return np.asarray(rgb)

    def read_level(self, level: int) -> np.ndarray:
        """The whole of pyramid level `level` as an RGB array (H×W×3 uint8, glass composited white).

        Read from the level's origin, so its pixels are the level's own, never interpolated (a
        region of a level whose downsample is not an integer starts at a fractional level pixel).
        """
        if not 0 <= level < self.level_count:
            raise InputError(f"{self.path}: no level {level}; the slide has {self.level_count}")
        return np.asarray(self._read_rgb((0, 0), level, self.level_dimensions[level]))

    def _read_rgb(self, location: tuple[int, int], level: int, size: tuple[int, int]):
        from PIL import Image

        try:
            rgba = self._slide.read_region(location, level, size)
        except Exception as exc:  # openslide.OpenSlideError, or a decoder error
            raise InputError(f"{self.path}: cannot read region at level {level} ({exc})") from None
        pixels = np.asarray(rgba)
        if pixels[..., 3].min() == 255:  # opaque everywhere (inside the scanned area): no compositing
            return Image.fromarray(pixels[..., :3])
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")

    def _mag_text(self, magnification: float | None) -> str:
        return "level 0" if magnification is None else f"{magnification:g}x"

    def thumbnail(self, max_size: int = 1024) -> np.ndarray:
        """RGB thumbnail whose longer side is at most `max_size` pixels (background white)."""
        from PIL import Image

        rgba = self._slide.get_thumbnail((max_size, max_size)).convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Release the OpenSlide handle."""
        self._slide.close()

    def __enter__(self) -> Slide:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (str(self.path), self._mpp_override))

    def __repr__(self) -> str:
        mag = f"{self.magnification:g}x" if self.has_resolution else "unknown magnification"
        size = f"{self.dimensions[0]}×{self.dimensions[1]}"
        return f"Slide('{self.path}', {size}, {self.level_count} levels, {mag})"


def _reopen(path: str, mpp: float | None) -> Slide:
    return Slide(path, mpp=mpp)


def open_slide(path: str | os.PathLike[str], *, mpp: float | None = None) -> Slide:
    """Open a slide; see :class:`Slide` (the same as ``Slide(path, mpp=mpp)``)."""
    return Slide(path, mpp=mpp)
