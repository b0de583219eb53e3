"""A test-only plugin file: a fast segmenter (dark pixels → connected components).

Loaded with ``PluginManager.load_file`` / ``--plugin``, as a user's own plugin file would be.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from nucbench import hookimpl


class DarkThreshold:
    """Pixels whose grey level is below `threshold` are nuclei; each 4-connected component is one.

    `fail` makes every call raise (to test failing tiles).
    """

    def __init__(self, threshold: int = 120, min_size: int = 4, fail: bool = False) -> None:
        self.threshold = threshold
        self.min_size = min_size
        self.fail = fail

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        if self.fail:
            raise RuntimeError("test segmenter asked to fail")
        dark = np.asarray(image, float).mean(axis=2) < self.threshold
        labels, n = ndi.label(dark)
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        labels[sizes[labels] < self.min_size] = 0
        return labels.astype(np.int32)


@hookimpl
def nucbench_register(registries):
    registries.segmenter.register("test-dark-threshold", DarkThreshold,
                                  description="Test segmenter: dark pixels, connected components.")
