"""Multi-scale crop sampling for the scale-classification pretext task.

Every batch holds the same number of crops of each magnification class (balanced, as the paper
requires). Crops come from high-magnification tiles (40x MoNuSeg tiles: the paper's M-WSI protocol)
and are made in one of two ways:

``"pyramid"`` (the faithful protocol)
    Each tile is downsampled once, with an anti-aliased filter, by ×2 and ×4 to make its 20x and
    10x versions; a batch takes random ``crop_size`` crops from the level of each class. 40x crops
    are never resampled while 20x and 10x crops always are, so the classifier can tell the scale
    from resampling artefacts (sharpness, aliasing) without looking at nuclei — the shortcut.
``"shared-resample"`` (the shortcut fix)
    For a class of magnification ``m`` a square of side ``crop_size · (source/m) · k`` is cut from
    the tile at a random sub-pixel position and resized to ``crop_size`` with the same anti-aliased
    filter for every class, where ``k`` is a continuous random jitter (log-uniform in
    ``[1, jitter]``), so 40x crops are resampled too and each class is a band of magnifications,
    not one factor. Then every crop, whatever its class, goes through the same random
    augmentations: one of the 8 dihedral transforms, stain jitter in optical-density space,
    Gaussian blur, Gaussian noise and JPEG compression. Only content (nuclei size and texture)
    separates the classes.

Crops can also come from whole slides (:class:`SlideCropSource`, given in place of a tile), read at
the slides' true pyramid levels: a crop of class ``m`` is read with OpenSlide from the level whose
downsample is the largest not above the one ``m`` needs, and only the remainder is resized (none
when the slide has a level at ``m``; a 40x slide whose next level is at 10x gives its 20x crops
from level 0 halved). Positions are drawn uniformly among the regions that a low-resolution tissue
mask, computed once per slide, calls tissue. In ``"shared-resample"`` mode a slide crop of class
``m`` is read at ``m / k`` with the same jitter ``k`` and then gets the same augmentations as a tile
crop. Tiles and slides can be mixed; each batch picks the source of every crop uniformly.

Sampling is deterministic given the seed, and :meth:`MultiScaleCropSampler.state_dict` /
:meth:`~MultiScaleCropSampler.load_state_dict` capture it exactly so that a resumed training run
draws the same batches as an uninterrupted one. The sampler's generator draws one seed per crop,
and each crop makes all its own draws from a generator of that seed, so crops can be made in
parallel threads (``workers``; slide decoding, resizing and JPEG coding release the GIL) and the
batches do not depend on the number of threads.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageFilter

from nucbench.data.stain import ReinhardColourMap
from nucbench.errors import InputError

__all__ = ["MultiScaleCropSampler", "SlideCropSource", "dihedral", "DIHEDRAL_NAMES"]

#: The 8 dihedral transforms of a square, by index (0 = identity).
DIHEDRAL_NAMES = ("identity", "rot90", "rot180", "rot270", "hflip", "vflip", "transpose", "antitranspose")

_RESAMPLE = Image.Resampling.BICUBIC  # PIL widens the kernel when reducing: anti-aliased
_CHANNELS = np.arange(3)
_LANCZOS = Image.Resampling.LANCZOS  # what Slide.read_region resizes slide regions with


def dihedral(array: np.ndarray, index: int) -> np.ndarray:
    """Apply dihedral transform `index` (0..7) to the first two axes of `array`.

    Examples
    --------
    >>> a = np.arange(4).reshape(2, 2)
    >>> dihedral(a, 4).tolist()  # hflip
    [[1, 0], [3, 2]]
    """
    if index < 4:
        out = np.rot90(array, index)
    elif index == 4:
        out = array[:, ::-1]
    elif index == 5:
        out = array[::-1]
    elif index == 6:
        out = array.swapaxes(0, 1)
    else:
        out = np.rot90(array, 2).swapaxes(0, 1)
    return np.ascontiguousarray(out)


class MultiScaleCropSampler:
    """Balanced batches of crops at several magnifications, with their class indices.

    Parameters
    ----------
    images : sequence of ndarray or SlideCropSource
        H×W×3 uint8 tiles at `source_magnification`, and/or whole slides to read crops from at
        their own pyramid levels (:class:`SlideCropSource`).
    magnifications : sequence of float
        The classes, e.g. ``(10, 20, 40)``; class ``i`` is ``magnifications[i]``.
    source_magnification : float
        Magnification of `images` (40 for MoNuSeg).
    crop_size : int
        Side of every output crop in pixels (160 in the paper).
    batch_size : int
        Crops per batch; must be a multiple of the number of classes.
    mode : {"pyramid", "shared-resample"}
        How crops are made (see the module docstring).
    jitter : float
        Upper end of the log-uniform magnification jitter ``k`` in ``[1, jitter]``
        (``"shared-resample"`` only; 1 disables it).
    augment : bool
        Apply the shared augmentations (``"shared-resample"`` only).
    seed : int
        Seed of the sampler's own random generator.
    workers : int, optional
        Threads that make the crops of a batch, default one per CPU core (at most 8); the batches
        are the same for any number. ``"pyramid"`` crops of tiles, mere slices, are made in the
        calling thread.

    Raises
    ------
    ValueError
        If the batch size does not split evenly over the classes or a tile is too small for the
        lowest magnification's crop.
    InputError
        If a slide's level 0 is below the highest class magnification, or it has no tissue region
        large enough for a crop of some class.

    Examples
    --------
    >>> tiles = [np.full((200, 200, 3), 128, np.uint8)]
    >>> s = MultiScaleCropSampler(tiles, crop_size=16, batch_size=6, seed=0)
    >>> x, y = s.sample()
    >>> x.shape, x.dtype, sorted(y.tolist())
    ((6, 16, 16, 3), dtype('uint8'), [0, 0, 1, 1, 2, 2])
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        *,
        magnifications: Sequence[float] = (10, 20, 40),
        source_magnification: float = 40,
        crop_size: int = 160,
        batch_size: int = 30,
        mode: Literal["pyramid", "shared-resample"] = "shared-resample",
        jitter: float = 1.4,
        augment: bool = True,
        seed: int = 0,
        workers: int | None = None,
    ) -> None:
        if not images:
            raise ValueError("MultiScaleCropSampler needs at least one image")
        n_classes = len(magnifications)
        if batch_size % n_classes:
            raise ValueError(f"batch_size {batch_size} must be a multiple of the {n_classes} classes")
        if mode not in ("pyramid", "shared-resample"):
            raise ValueError(f"mode must be 'pyramid' or 'shared-resample', got {mode!r}")
        if jitter < 1:
            raise ValueError(f"jitter must be >= 1, got {jitter}")
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.magnifications = tuple(float(m) for m in magnifications)
        self.source_magnification = float(source_magnification)
        self.crop_size = int(crop_size)
        self.batch_size = int(batch_size)
        self.mode = mode
        self.jitter = float(jitter) if mode == "shared-resample" else 1.0
        self.augment = bool(augment) and mode == "shared-resample"
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.workers = int(workers) if workers is not None else min(8, os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        # each source is a slide, or the index of a tile in self._pil (tile-only input: index i → i)
        self._sources: list[SlideCropSource | int] = []
        tiles, positions = [], []
        for position, item in enumerate(images):
            if isinstance(item, SlideCropSource):
                item.prepare(self.magnifications, self.crop_size, self.jitter)
                self._sources.append(item)
            else:
                self._sources.append(len(tiles))
                tiles.append(item)
                positions.append(position)
        self._pil = [Image.fromarray(np.ascontiguousarray(im)) for im in tiles]
        # pyramid crops of tiles are array slices: not worth handing to threads
        self._heavy = mode == "shared-resample" or len(tiles) < len(self._sources)
        need = self.crop_size * self.source_magnification / min(self.magnifications) * self.jitter
        small = [i for i, im in enumerate(self._pil) if min(im.size) < math.ceil(need)]
        if small:
            width, height = self._pil[small[0]].size
            raise ValueError(
                f"image {positions[small[0]]} is {height}×{width}: too small "
                f"for a {self.crop_size}-pixel crop at {min(self.magnifications)}x (needs {math.ceil(need)})"
            )
        self._levels: dict[float, list[np.ndarray]] = {}
        if mode == "pyramid":
            for m in self.magnifications:
                factor = self.source_magnification / m
                self._levels[m] = [
                    np.asarray(
                        im
                        if factor == 1
                        else im.resize((round(im.size[0] / factor), round(im.size[1] / factor)), _RESAMPLE)
                    )
                    for im in self._pil
                ]

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The generator state (plain dict of str/int, safe for ``torch.load(weights_only=True)``)."""
        return {"bit_generator": dict(self.rng.bit_generator.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict`."""
        self.rng.bit_generator.state = state["bit_generator"]

    # --------------------------------------------------------------- sampling
    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """One balanced batch.

        Returns
        -------
        crops : ndarray
            N×S×S×3 uint8, N = `batch_size`, S = `crop_size`, classes interleaved.
        targets : ndarray
            N int64 class indices into `magnifications`.
        """
        n_classes = len(self.magnifications)
        targets = np.tile(np.arange(n_classes, dtype=np.int64), self.batch_size // n_classes)
        seeds = self.rng.integers(2**63, size=self.batch_size)
        crops = np.empty((self.batch_size, self.crop_size, self.crop_size, 3), np.uint8)

        def make(i: int) -> None:
            rng = np.random.Generator(np.random.PCG64(int(seeds[i])))
            crops[i] = self._crop(self.magnifications[targets[i]], rng)

        if self.workers == 1 or not self._heavy:
            for i in range(self.batch_size):
                make(i)
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="nucbench-crops")
            for future in [self._pool.submit(make, i) for i in range(self.batch_size)]:
                future.result()
        return crops, targets

    def close(self) -> None:
        """Stop the worker threads (they also stop at exit; a later :meth:`sample` restarts them)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _crop(self, magnification: float, rng: np.random.Generator) -> np.ndarray:
        source = self._sources[int(rng.integers(len(self._sources)))]
        if isinstance(source, SlideCropSource):
            return self._slide_crop(source, magnification, rng)
        index = source
        s = self.crop_size
        if self.mode == "pyramid":
            level = self._levels[magnification][index]
            y = int(rng.integers(level.shape[0] - s + 1))
            x = int(rng.integers(level.shape[1] - s + 1))
            return level[y : y + s, x : x + s]
        image = self._pil[index]
        k = math.exp(rng.uniform(0.0, math.log(self.jitter))) if self.jitter > 1 else 1.0
        side = s * self.source_magnification / magnification * k
        x0 = rng.uniform(0.0, image.size[0] - side)
        y0 = rng.uniform(0.0, image.size[1] - side)
        crop = image.resize((s, s), _RESAMPLE, box=(x0, y0, x0 + side, y0 + side))
        if self.augment:
            crop = self._augment(crop, rng)
        return np.asarray(crop)

    def _slide_crop(
        self, source: SlideCropSource, magnification: float, rng: np.random.Generator
    ) -> np.ndarray:
        k = math.exp(rng.uniform(0.0, math.log(self.jitter))) if self.jitter > 1 else 1.0
        crop = source.crop(rng, magnification, self.crop_size, jitter=self.jitter, scale=k)
        if self.augment:
            return self._augment(Image.fromarray(crop), rng)
        return crop

    def _augment(self, crop: Image.Image, rng: np.random.Generator) -> np.ndarray:
        """Shared augmentations, drawn independently of the class."""
        array = dihedral(np.asarray(crop), int(rng.integers(8)))
        # stain jitter in optical density: per-channel scale and shift (HED-like jitter), applied
        # as a 256-entry table per channel since it maps each channel value on its own
        od = -np.log((np.arange(256, dtype=np.float32)[:, None] + 1.0) / 256.0)
        od = od * rng.uniform(0.85, 1.15, size=3).astype(np.float32) + rng.uniform(
            -0.05, 0.05, size=3
        ).astype(np.float32)
        table = np.clip(256.0 * np.exp(-np.maximum(od, 0.0)) - 1.0, 0, 255).astype(np.uint8)
        image = Image.fromarray(table[array, _CHANNELS])
        if rng.random() < 0.5:
            image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 1.2))))
        if rng.random() < 0.5:
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=int(rng.integers(50, 96)))
            buffer.seek(0)
            image = Image.open(buffer).convert("RGB")
        array = np.asarray(image)
        sigma = float(rng.uniform(0.0, 6.0))
        if sigma > 0.5:
            noise = rng.standard_normal(size=array.shape, dtype=np.float32) * sigma
            array = np.clip(array + noise, 0, 255).astype(np.uint8)
        return array


class SlideCropSource:
    """A whole slide as a source of crops: tissue regions read at the slide's true pyramid levels.

    Give it to :class:`MultiScaleCropSampler` in place of a tile.

    Parameters
    ----------
    path : str or path-like
        The slide (any format :class:`nucbench.data.Slide` opens: SVS, NDPI, pyramidal TIFF, …).
    mpp : float, optional
        Level-0 µm/px, used only when the slide's metadata has neither mpp nor objective power;
        such a slide needs it.
    min_tissue : float, optional
        Minimum tissue fraction (0..1), on the tissue mask, of the largest square a crop of a class
        can cover (``crop_size · jitter`` pixels at its magnification), default 0.7 (the paper's
        rule for tiles).
    mask_size : int, optional
        Longer side of the thumbnail on which the tissue mask
        (:func:`nucbench.data.tissue.tissue_mask`) is computed once, default 1024 pixels.
    stain_normalize : bool, optional
        Reinhard-normalise every crop (:func:`nucbench.data.stain.reinhard_normalise`) with the
        slide's own L*a*b* statistics, measured once on up to 16 tissue squares of 256 level-0
        pixels (a tile is normalised with its own statistics), through a per-slide colour table
        (:class:`nucbench.data.stain.ReinhardColourMap`: the same pixels, each colour converted
        once). Default ``False``.
    preload_mb : float, optional
        Memory budget, in MiB of RGB pixels, for holding the pyramid levels the crops come from:
        when they fit, they are read whole once (from each level's origin, so their pixels are the
        level's own) and crops are cut from memory; otherwise every crop is read with OpenSlide.
        Default 1024; 0 always reads per crop.

    Attributes
    ----------
    slide : Slide
    mask : ndarray
        The bool tissue mask.
    mask_downsample : float
        Level-0 pixels per mask pixel.
    statistics : (mean, std) or None
        The slide's (L, a, b) statistics when `stain_normalize`.
    normaliser : ReinhardColourMap or None
        The colour table that normalises the crops, when `stain_normalize`.
    preloaded_levels : tuple of int
        The levels held in memory (after the sampler has prepared the source).

    Raises
    ------
    InputError
        If the slide cannot be opened, has no resolution and no `mpp` is given, or a parameter is
        out of range.

    Notes
    -----
    A crop of class ``m`` is read by :meth:`nucbench.data.Slide.read_region` at ``m`` (``m / k``
    with the sampler's jitter ``k``): from the level whose downsample is the largest not above the
    needed one, the remainder resized down with Lanczos filtering. Where a slide has no level at
    ``m`` (say 10x on a slide with levels at 40x and 20x only) the crop thus comes from the best
    higher-resolution level, resized. The position is snapped down to that level's pixel grid, so
    that OpenSlide does not interpolate between level pixels (exact for integer downsamples).
    When the levels are held in memory (`preload_mb`) the same region is cut from the level read
    whole, whose pixels are the level's own for any downsample.
    """

    #: Side (level-0 pixels) and number of the squares the stain statistics are measured on.
    STAIN_SQUARE, STAIN_SQUARES = 256, 16

    def __init__(self, path: str | os.PathLike[str], *, mpp: float | None = None, min_tissue: float = 0.7,
                 mask_size: int = 1024, stain_normalize: bool = False, preload_mb: float = 1024) -> None:
        from nucbench.data.slides import Slide
        from nucbench.data.tissue import slide_tissue_mask

        self.path = Path(path)
        if not 0.0 <= min_tissue <= 1.0:
            raise InputError(f"{self.path}: min_tissue must be a fraction in [0, 1]; got {min_tissue}")
        if mask_size < 16:
            raise InputError(f"{self.path}: mask_size must be at least 16 pixels; got {mask_size}")
        if not preload_mb >= 0:
            raise InputError(f"{self.path}: preload_mb must be >= 0; got {preload_mb}")
        self.preload_mb = float(preload_mb)
        self._levels: dict[int, np.ndarray] = {}
        slide = Slide(self.path)
        if not slide.has_resolution:
            slide.close()
            if mpp is None:
                raise InputError(
                    f"{self.path}: the slide's metadata has no mpp and no objective power; give its "
                    "level-0 resolution as mpp (e.g. mpp: 0.25 for a 40x scan)"
                )
            slide = Slide(self.path, mpp=mpp)
        self.slide = slide
        self.min_tissue = float(min_tissue)
        self.mask, self.mask_downsample = slide_tissue_mask(slide, max_size=mask_size)
        self._positions_cache: dict[tuple[float, int, float], tuple[np.ndarray, int, int]] = {}
        self.statistics: tuple[np.ndarray, np.ndarray] | None = None
        self.normaliser: ReinhardColourMap | None = None
        if stain_normalize:
            self.statistics = self._stain_statistics()
            self.normaliser = ReinhardColourMap(self.statistics)

    def __repr__(self) -> str:
        return (f"SlideCropSource('{self.path}', {self.slide.magnification:g}x, "
                f"tissue {self.mask.mean():.0%} of the slide)")

    def close(self) -> None:
        """Release the slide."""
        self.slide.close()

    def level_for(self, magnification: float) -> tuple[int, float]:
        """The pyramid level a crop at `magnification` is read from, and the downsample left to apply."""
        return self.slide.best_level(magnification)

    def prepare(self, magnifications: Sequence[float], crop_size: int, jitter: float = 1.0) -> None:
        """Check that crops of every class can be read, find their tissue positions (cached), and
        read the levels they come from into memory when those fit in `preload_mb`.

        Raises
        ------
        InputError
            If level 0 is below the highest magnification (slides are never upsampled), or there
            is no tissue region large enough for a crop of some class.
        """
        from nucbench.data.slides import MAGNIFICATION_TOLERANCE

        base, top = self.slide.magnification, max(magnifications)
        if top > base * (1.0 + MAGNIFICATION_TOLERANCE):
            raise InputError(
                f"{self.path}: level 0 is {base:g}x, below the {top:g}x crops asked for (slides are "
                "never upsampled); use a higher-magnification scan or lower magnifications"
            )
        used = set()
        for m in magnifications:
            self._positions(m, crop_size, jitter)
            # best_level is monotonic: the crops use every level between those of m and m / jitter
            first, last = self.level_for(m)[0], self.level_for(m / jitter)[0]
            used.update(range(min(first, last), max(first, last) + 1))
        needed = sum(3 * w * h for i, (w, h) in enumerate(self.slide.level_dimensions) if i in used)
        if needed <= self.preload_mb * 2**20:
            for level in sorted(used - self._levels.keys()):
                self._levels[level] = self.slide.read_level(level)

    @property
    def preloaded_levels(self) -> tuple[int, ...]:
        return tuple(sorted(self._levels))

    def _positions(self, magnification: float, crop_size: int, jitter: float) -> tuple[np.ndarray, int, int]:
        """Tissue boxes: flat indices of their corners in the grid of mask cells, grid width, box side.

        A box is the square, in mask pixels, of the largest region a crop of the class covers.
        """
        key = (float(magnification), int(crop_size), float(jitter))
        if key in self._positions_cache:
            return self._positions_cache[key]
        side0 = crop_size * jitter * self.slide.magnification / magnification
        box = max(1, round(side0 / self.mask_downsample))
        height, width = self.mask.shape
        cells = np.zeros(0, np.int64)
        if box <= min(height, width) and side0 <= min(self.slide.dimensions):
            integral = np.zeros((height + 1, width + 1), np.int32)
            integral[1:, 1:] = self.mask.cumsum(0, dtype=np.int32).cumsum(1, dtype=np.int32)
            sums = (integral[box:, box:] - integral[:-box, box:] - integral[box:, :-box]
                    + integral[:-box, :-box])
            cells = np.flatnonzero(sums >= self.min_tissue * box * box)
        if not len(cells):
            raise InputError(
                f"{self.path}: no square of {side0:.0f} level-0 pixels (a {crop_size}-pixel crop at "
                f"{magnification:g}x{f' with jitter {jitter:g}' if jitter > 1 else ''}) with at least "
                f"{self.min_tissue:.0%} tissue (the mask finds {self.mask.mean():.1%} tissue on a slide of "
                f"{self.slide.dimensions[0]}×{self.slide.dimensions[1]}); lower min_tissue or check the slide"
            )
        entry = (cells.astype(np.int32), width - box + 1, box)
        self._positions_cache[key] = entry
        return entry

    def _level0_corner(self, cell: int, grid_width: int, box: int, size0: float, du: float,
                       dv: float) -> tuple[float, float]:
        """Top-left corner (level 0) of a square of side `size0` centred in the box at `cell`.

        The centre moves by ``(du, dv)`` mask pixels (each in [0, 1)) around the box's centre, so
        that positions are continuous; the square is kept inside the slide.
        """
        row, col = divmod(cell, grid_width)
        cx = (col + box / 2 + du - 0.5) * self.mask_downsample
        cy = (row + box / 2 + dv - 0.5) * self.mask_downsample
        width, height = self.slide.dimensions
        x0 = min(max(cx - size0 / 2, 0.0), width - size0)
        y0 = min(max(cy - size0 / 2, 0.0), height - size0)
        return x0, y0

    def crop(self, rng: np.random.Generator, magnification: float, crop_size: int, *, jitter: float = 1.0,
             scale: float = 1.0) -> np.ndarray:
        """Read one random tissue crop of class `magnification`.

        Parameters
        ----------
        rng : numpy.random.Generator
            Draws the position (three draws).
        magnification : float
            The crop's class; it is read at ``magnification / scale``.
        crop_size : int
            Side of the crop in pixels.
        jitter : float, optional
            The sampler's largest `scale` (positions leave room for it), default 1.
        scale : float, optional
            The jitter ``k`` of this crop, in ``[1, jitter]``, default 1.

        Returns
        -------
        ndarray
            crop_size × crop_size × 3 uint8.
        """
        cells, grid_width, box = self._positions(magnification, crop_size, jitter)
        cell = int(cells[int(rng.integers(len(cells)))])
        du, dv = float(rng.random()), float(rng.random())
        read_at = magnification / scale
        size0 = crop_size * self.slide.magnification / read_at
        x0, y0 = self._level0_corner(cell, grid_width, box, size0, du, dv)
        level, remaining = self.slide.best_level(read_at)
        down = self.slide.level_downsamples[level]
        pixels = self._levels.get(level)
        if pixels is None:
            x, y = int(math.floor(x0 / down) * down), int(math.floor(y0 / down) * down)
            crop = self.slide.read_region(x, y, crop_size, crop_size, magnification=read_at)
        else:  # the same region and resizing as Slide.read_region, cut from the level in memory
            side = crop_size if remaining == 1.0 else max(1, round(crop_size * remaining))
            x = min(int(math.floor(x0 / down)), pixels.shape[1] - side)
            y = min(int(math.floor(y0 / down)), pixels.shape[0] - side)
            crop = pixels[y : y + side, x : x + side]
            if side != crop_size:
                crop = np.asarray(Image.fromarray(crop).resize((crop_size, crop_size), _LANCZOS))
        if self.normaliser is not None:
            crop = self.normaliser(crop)
        return crop

    def _stain_statistics(self) -> tuple[np.ndarray, np.ndarray]:
        from nucbench.data.stain import lab_statistics

        side = min(self.STAIN_SQUARE, *self.slide.dimensions)
        base = self.slide.magnification
        cells, grid_width, box = self._positions(base, side, 1.0)
        picks = np.unique(np.linspace(0, len(cells) - 1, min(self.STAIN_SQUARES, len(cells))).round())
        squares = []
        for i in picks.astype(int):
            x0, y0 = self._level0_corner(int(cells[i]), grid_width, box, side, 0.5, 0.5)
            squares.append(self.slide.read_region(int(x0), int(y0), side, side))
        return lab_statistics(np.concatenate(squares, axis=0))
