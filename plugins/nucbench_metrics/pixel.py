"""Pixel-level (semantic) Dice coefficient of the foregrounds."""

from __future__ import annotations

import numpy as np

from nucbench import Overlap

__all__ = ["dice", "dice_terms"]


def dice_terms(true_labels: np.ndarray, pred_labels: np.ndarray) -> tuple[int, int]:
    """Dice's numerator and denominator: ``(2 |T ∩ P|, |T| + |P|)`` of the foregrounds."""
    ov = Overlap.of(true_labels, pred_labels)
    return 2 * int(ov.pair_intersection.sum()), int(ov.true_areas.sum()) + int(ov.pred_areas.sum())


def dice(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """Pixel Dice ``2 |T ∩ P| / (|T| + |P|)`` of the foregrounds (label > 0); higher is better.

    Instances are ignored: only whether a pixel is foreground counts.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer labels (0 = background).

    Returns
    -------
    float
        In [0, 1]. Both foregrounds empty: 1.0. Exactly one empty: 0.0.

    References
    ----------
    Dice, "Measures of the Amount of Ecologic Association Between Species", Ecology 26(3), 1945;
    as "Dice 1" in Graham et al., Medical Image Analysis 58:101563, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> dice(np.array([[1, 1, 0, 0]]), np.array([[0, 2, 2, 0]]))  # 2·1 / (2 + 2)
    0.5
    """
    numerator, denominator = dice_terms(true_labels, pred_labels)
    return 1.0 if denominator == 0 else numerator / denominator
