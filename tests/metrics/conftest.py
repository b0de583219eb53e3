"""Small synthetic label images for the metric tests."""

from __future__ import annotations

import numpy as np


def square(shape, top, left, size, value=1, out=None):
    """Paint a size×size square of `value` at (top, left) into `out` (new zeros array by default)."""
    out = np.zeros(shape, dtype=np.int32) if out is None else out
    out[top:top + size, left:left + size] = value
    return out


def random_labels(rng: np.random.Generator, shape=(48, 48), n=8) -> np.ndarray:
    """`n` random ellipses painted in order (later ones over earlier), ids 1..n."""
    rows, cols = np.indices(shape)
    labels = np.zeros(shape, dtype=np.int32)
    for k in range(1, n + 1):
        r, c = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        a, b = rng.uniform(2, 7), rng.uniform(2, 7)
        labels[((rows - r) / a) ** 2 + ((cols - c) / b) ** 2 <= 1] = k
    return labels


def perturb(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """A plausible prediction: objects shifted, grown or shrunk, dropped, merged, split; plus noise blobs."""
    from scipy import ndimage as ndi

    out = np.zeros_like(labels)
    next_id = 1
    for k in np.unique(labels)[1:]:
        mask = labels == k
        u = rng.random()
        if u < 0.1:
            continue  # a miss
        if u < 0.3:
            mask = ndi.binary_dilation(mask)
        elif u < 0.5:
            mask = ndi.binary_erosion(mask) if ndi.binary_erosion(mask).any() else mask
        mask = np.roll(mask, tuple(rng.integers(-2, 3, 2)), axis=(0, 1))
        if rng.random() < 0.15:  # a split along the rows
            rows = np.nonzero(mask)[0]
            half = mask & (np.indices(mask.shape)[0] < np.median(rows))
            out[half] = next_id
            out[mask & ~half] = next_id + 1
            next_id += 2
            continue
        out[mask] = next_id
        next_id += 1
    if next_id > 2 and rng.random() < 0.5:  # a merge (possibly of two distant objects)
        out[out == 2] = 1
    for _ in range(rng.integers(0, 3)):  # false positives
        r, c = rng.integers(0, labels.shape[0] - 3), rng.integers(0, labels.shape[1] - 3)
        out[r:r + 3, c:c + 3] = next_id
        next_id += 1
    ids = np.unique(out)[1:]
    lut = np.zeros(out.max() + 1, dtype=np.int64)
    lut[ids] = rng.permutation(ids.size) * 7 + 3  # shuffled, non-contiguous ids
    return lut[out]
