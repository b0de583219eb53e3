"""A plugin FILE for the suite tests: a synthetic dataset and a fast threshold segmenter.

``disks``: images of dark disks on a light background with their instance labels (tiny, made in
memory). ``dark-blobs``: grey value below `threshold`, then connected components. The segmenter
sleeps for ever when the environment variable ``NUCBENCH_TEST_HANG`` is ``SEED:MARKER`` and its
seed is SEED, after creating the file MARKER (the kill-and-resume test waits for that file).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from nucbench import InputError, hookimpl
from nucbench.data import Sample


class Disks:
    """`n_images` images of `size`×`size` pixels, each with a few dark disks of radius 4."""

    def __init__(self, n_images: int = 3, size: int = 32, broken: int | None = None) -> None:
        self.n_images = n_images
        self.size = size
        self.broken = broken

    def __len__(self) -> int:
        return self.n_images

    def __getitem__(self, index: int) -> Sample:
        if index == self.broken:
            raise InputError(f"disk-{index}.png: cannot read (broken on purpose)")
        rows, cols = np.indices((self.size, self.size))
        labels = np.zeros((self.size, self.size), np.int32)
        for k in range(index + 1):  # image i has i + 1 disks, centres along the diagonal
            centre = 6 + 9 * k
            labels[(rows - centre) ** 2 + (cols - centre) ** 2 <= 16] = k + 1
        image = np.full((self.size, self.size, 3), 220, np.uint8)
        image[labels > 0] = 40
        return Sample(image=image, labels=labels, mpp=0.25, magnification=40.0, id=f"disk-{index}")


class DarkBlobs:
    """Grey value below `threshold`, then 4-connected components (an error when there are `fail_on_count`)."""

    def __init__(self, threshold: float = 128.0, seed: int = 0, fail_on_count: int | None = None) -> None:
        self.threshold = threshold
        self.seed = seed
        self.fail_on_count = fail_on_count

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        hang = os.environ.get("NUCBENCH_TEST_HANG", "")
        if hang and int(hang.split(":", 1)[0]) == self.seed:
            Path(hang.split(":", 1)[1]).touch()
            time.sleep(600)
        labels, count = ndimage.label(image.mean(axis=2) < self.threshold)
        if count == self.fail_on_count:
            raise ValueError("failing on purpose")
        return labels.astype(np.int32)


@hookimpl
def nucbench_register(registries):
    registries.dataset.register("disks", Disks)
    registries.segmenter.register("dark-blobs", DarkBlobs)
