"""Metrics on the one-to-one matching at IoU > 0.5: panoptic quality (PQ = DQ × SQ) and detection.

A ground-truth and a predicted object are a true positive (TP) pair when their IoU is strictly
above 0.5. An object can then be in at most one such pair (two objects cannot both cover more
than half of a third's union), so the matching is unique and needs no assignment step. Unpaired
predictions are false positives (FP), unpaired ground-truth objects false negatives (FN).

Empty images, for every metric here: a ratio whose denominator is zero is 1.0 when both images
are empty and 0.0 otherwise.
"""

from __future__ import annotations

import numpy as np

from nucbench import Overlap

__all__ = ["pq", "dq", "sq", "precision", "recall", "f1"]

#: A pair matches when its IoU is strictly above this.
IOU_THRESHOLD = 0.5


def _counts(true_labels: np.ndarray, pred_labels: np.ndarray):
    ov = Overlap.of(true_labels, pred_labels)
    matched = ov.pairs_above(IOU_THRESHOLD)
    return ov.n_true, ov.n_pred, int(matched.size), float(ov.pair_iou[matched].sum())


def _ratio(numerator: float, denominator: float, n_true: int, n_pred: int) -> float:
    if denominator == 0:
        return 1.0 if n_true == 0 and n_pred == 0 else 0.0
    return numerator / denominator


def _dq(n_true: int, n_pred: int, tp: int) -> float:
    return _ratio(tp, tp + 0.5 * (n_pred - tp) + 0.5 * (n_true - tp), n_true, n_pred)


def dq(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """Detection quality ``DQ = TP / (TP + FP/2 + FN/2)``, the F1 score of the matching; higher is better.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background).

    Returns
    -------
    float
        In [0, 1]. Both images empty: 1.0; exactly one empty: 0.0.

    References
    ----------
    Kirillov et al., "Panoptic Segmentation", CVPR 2019, eq. (1)–(2); for nuclei, Graham et al.,
    Medical Image Analysis 58:101563, 2019, section 4.2.

    Examples
    --------
    >>> import numpy as np
    >>> dq(np.array([[1, 1, 0, 2]]), np.array([[1, 1, 0, 0]]))  # TP 1, FN 1: 1 / 1.5
    0.6666666666666666
    """
    n_true, n_pred, tp, _ = _counts(true_labels, pred_labels)
    return _dq(n_true, n_pred, tp)


def sq(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """Segmentation quality ``SQ``: the mean IoU of the matched pairs; higher is better.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background).

    Returns
    -------
    float
        In (0.5, 1], or 0.0 when nothing matches; both images empty: 1.0.

    References
    ----------
    Kirillov et al., "Panoptic Segmentation", CVPR 2019, eq. (2).

    Examples
    --------
    >>> import numpy as np
    >>> sq(np.array([[1, 1, 1, 0]]), np.array([[1, 1, 1, 1]]))  # IoU 3/4
    0.75
    """
    n_true, n_pred, tp, iou_sum = _counts(true_labels, pred_labels)
    return _ratio(iou_sum, tp, n_true, n_pred)


def pq(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """Panoptic quality ``PQ = DQ × SQ = Σ_TP IoU / (TP + FP/2 + FN/2)``; higher is better.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background).

    Returns
    -------
    float
        In [0, 1]. Both images empty: 1.0; exactly one empty: 0.0.

    References
    ----------
    Kirillov et al., "Panoptic Segmentation", CVPR 2019, eq. (1)–(2); Graham et al., Medical
    Image Analysis 58:101563, 2019, section 4.2.

    Examples
    --------
    >>> import numpy as np
    >>> pq(np.array([[1, 1, 1, 0, 2]]), np.array([[1, 1, 1, 1, 0]]))  # DQ 1/1.5 × SQ 3/4
    0.5
    """
    n_true, n_pred, tp, iou_sum = _counts(true_labels, pred_labels)
    return _dq(n_true, n_pred, tp) * _ratio(iou_sum, tp, n_true, n_pred)


def precision(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """Detection precision ``TP / (number of predicted objects)`` at IoU > 0.5; higher is better.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background).

    Returns
    -------
    float
        In [0, 1]. No predictions: 1.0 if the ground truth is empty too, else 0.0.

    References
    ----------
    Kirillov et al., CVPR 2019 (the matching); e.g. Graham et al., Medical Image Analysis
    58:101563, 2019, section 4.2 (detection F1 of nuclei).

    Examples
    --------
    >>> import numpy as np
    >>> precision(np.array([[1, 1, 0, 0]]), np.array([[1, 1, 0, 2]]))  # 1 of 2 predictions
    0.5
    """
    n_true, n_pred, tp, _ = _counts(true_labels, pred_labels)
    return _ratio(tp, n_pred, n_true, n_pred)


def recall(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """Detection recall ``TP / (number of ground-truth objects)`` at IoU > 0.5; higher is better.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background).

    Returns
    -------
    float
        In [0, 1]. Empty ground truth: 1.0 if the prediction is empty too, else 0.0.

    References
    ----------
    As :func:`precision`.

    Examples
    --------
    >>> import numpy as np
    >>> recall(np.array([[1, 1, 0, 2]]), np.array([[1, 1, 0, 0]]))  # 1 of 2 nuclei found
    0.5
    """
    n_true, n_pred, tp, _ = _counts(true_labels, pred_labels)
    return _ratio(tp, n_true, n_true, n_pred)


def f1(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """Detection F1 ``2 TP / (n_true + n_pred)`` at IoU > 0.5 (equal to DQ); higher is better.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background).

    Returns
    -------
    float
        In [0, 1]. Both images empty: 1.0; exactly one empty: 0.0.

    References
    ----------
    As :func:`precision`.

    Examples
    --------
    >>> import numpy as np
    >>> f1(np.array([[1, 1, 0, 2]]), np.array([[1, 1, 0, 0]]))  # 2·1 / (2 + 1)
    0.6666666666666666
    """
    n_true, n_pred, tp, _ = _counts(true_labels, pred_labels)
    return _ratio(2 * tp, n_true + n_pred, n_true, n_pred)
