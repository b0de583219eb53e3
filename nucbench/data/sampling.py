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

Sampling is deterministic given the seed, and :meth:`MultiScaleCropSampler.state_dict` /
:meth:`~MultiScaleCropSampler.load_state_dict` capture it exactly so that a resumed training run
draws the same batches as an uninterrupted one.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageFilter

__all__ = ["MultiScaleCropSampler", "dihedral", "DIHEDRAL_NAMES"]

#: The 8 dihedral transforms of a square, by index (0 = identity).
DIHEDRAL_NAMES = ("identity", "rot90", "rot180", "rot270", "hflip", "vflip", "transpose", "antitranspose")

_RESAMPLE = Image.Resampling.BICUBIC  # PIL widens the kernel when reducing: anti-aliased


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
    images : sequence of ndarray
        H×W×3 uint8 tiles at `source_magnification`.
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

    Raises
    ------
    ValueError
        If the batch size does not split evenly over the classes or a tile is too small for the
        lowest magnification's crop.

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
        self.magnifications = tuple(float(m) for m in magnifications)
        self.source_magnification = float(source_magnification)
        self.crop_size = int(crop_size)
        self.batch_size = int(batch_size)
        self.mode = mode
        self.jitter = float(jitter) if mode == "shared-resample" else 1.0
        self.augment = bool(augment) and mode == "shared-resample"
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self._pil = [Image.fromarray(np.ascontiguousarray(im)) for im in images]
        need = self.crop_size * self.source_magnification / min(self.magnifications) * self.jitter
        small = [i for i, im in enumerate(self._pil) if min(im.size) < math.ceil(need)]
        if small:
            raise ValueError(
                f"image {small[0]} is {self._pil[small[0]].size[1]}×{self._pil[small[0]].size[0]}: too small "
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
        crops = np.empty((self.batch_size, self.crop_size, self.crop_size, 3), np.uint8)
        for i, cls in enumerate(targets):
            crops[i] = self._crop(self.magnifications[cls])
        return crops, targets

    def _crop(self, magnification: float) -> np.ndarray:
        rng = self.rng
        index = int(rng.integers(len(self._pil)))
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
            crop = self._augment(crop)
        return np.asarray(crop)

    def _augment(self, crop: Image.Image) -> np.ndarray:
        """Shared augmentations, drawn independently of the class."""
        rng = self.rng
        array = dihedral(np.asarray(crop), int(rng.integers(8)))
        # stain jitter in optical density: per-channel scale and shift (HED-like jitter)
        od = -np.log((array.astype(np.float32) + 1.0) / 256.0)
        od = od * rng.uniform(0.85, 1.15, size=3).astype(np.float32) + rng.uniform(
            -0.05, 0.05, size=3
        ).astype(np.float32)
        array = np.clip(256.0 * np.exp(-np.maximum(od, 0.0)) - 1.0, 0, 255).astype(np.uint8)
        image = Image.fromarray(array)
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
            noise = rng.normal(0.0, sigma, size=array.shape).astype(np.float32)
            array = np.clip(array.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        return array
