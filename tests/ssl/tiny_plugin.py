"""A test-only plugin file (``--plugin``): a tiny synthetic dataset and a threshold post-processor.

``tiny-blobs``: 96×96 RGB tiles of dark-purple disks on pink, with their instance labels, so a
training run takes seconds. ``tiny-threshold``: ``probability > threshold`` then connected components.
"""

from __future__ import annotations

import numpy as np

from nucbench import hookimpl
from nucbench.data.sample import Sample


class TinyBlobs:
    """`n` synthetic 96×96 tiles with 6 disks each (seeded by index)."""

    def __init__(self, n: int = 3, size: int = 96) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> Sample:
        rng = np.random.default_rng(index)
        yy, xx = np.indices((self.size, self.size))
        labels = np.zeros((self.size, self.size), np.int32)
        for k in range(6):
            cy, cx = rng.integers(8, self.size - 8, size=2)
            labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= int(rng.integers(3, 7)) ** 2] = k + 1
        image = np.empty((self.size, self.size, 3), np.uint8)
        image[:] = (235, 170, 200)
        image[labels > 0] = (80, 40, 130)
        noise = rng.integers(-10, 11, size=image.shape)
        return Sample(np.clip(image + noise, 0, 255).astype(np.uint8), labels, 0.25, 40, f"tiny-{index}")


def tiny_threshold(probability: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Threshold then 4-connected components."""
    from scipy import ndimage

    labels, _ = ndimage.label(probability > threshold)
    return labels.astype(np.int32)


@hookimpl
def nucbench_register(registries):
    registries.dataset.register("tiny-blobs", TinyBlobs)
    registries["post-processor"].register("tiny-threshold", tiny_threshold, bind=True)
