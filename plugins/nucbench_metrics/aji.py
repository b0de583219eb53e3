"""Aggregated Jaccard Index: AJI (Kumar et al. 2017, MoNuSeg 2018) and AJI+ (Graham et al. 2019)."""

from __future__ import annotations

import numpy as np

from nucbench import Overlap

__all__ = ["aji", "aji_terms", "aji_plus", "aji_plus_terms"]


def _terms(ov: Overlap, chosen: np.ndarray) -> tuple[int, int]:
    """(Σ |G ∩ S|, Σ |G ∪ S| + unmatched areas) for the chosen pairs."""
    intersection = int(ov.pair_intersection[chosen].sum())
    union = int(ov.pair_union[chosen].sum())
    matched_true = np.zeros(ov.n_true, dtype=bool)
    matched_true[ov.pair_true[chosen]] = True
    used_pred = np.zeros(ov.n_pred, dtype=bool)
    used_pred[ov.pair_pred[chosen]] = True
    union += int(ov.true_areas[~matched_true].sum()) + int(ov.pred_areas[~used_pred].sum())
    return intersection, union


def _ratio(terms: tuple[int, int]) -> float:
    intersection, union = terms
    return 1.0 if union == 0 else intersection / union


def aji_terms(true_labels: np.ndarray, pred_labels: np.ndarray) -> tuple[int, int]:
    """AJI's numerator and denominator for one image: ``(C, U)`` with ``AJI = C / U``.

    Summing them over images gives the aggregate AJI of a whole set (``ΣC / ΣU``).
    """
    ov = Overlap.of(true_labels, pred_labels)
    return _terms(ov, ov.best_iou_pairs())


def aji(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """Aggregated Jaccard Index (MoNuSeg 2018 definition); higher is better.

    Each ground-truth nucleus ``G_i`` is matched to the predicted nucleus ``S_j`` of largest
    IoU among those it overlaps; a prediction may be matched by several nuclei.
    ``AJI = Σ_i |G_i ∩ S_j(i)| / (Σ_i |G_i ∪ S_j(i)| + Σ_{S_k unused} |S_k|)``, where a nucleus
    that overlaps no prediction adds ``|G_i|`` to the denominator only.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background; ids need not be contiguous).

    Returns
    -------
    float
        In [0, 1]. Both images empty: 1.0. Exactly one empty: 0.0.

    Raises
    ------
    nucbench.InputError
        If the arrays are not 2-D non-negative integer labels of the same shape.

    Notes
    -----
    Follows the MoNuSeg 2018 reference code (Kumar / Verma, final version of 2018-07-17): an
    exact IoU tie goes to the prediction with the smaller id, and an unmatched nucleus is not
    paired with an arbitrary prediction (the bug of the first release). HoVer-Net's
    ``get_fast_aji`` divides by ``union + 1e-6``, which breaks exact ties towards the larger
    intersection instead; the two agree whenever no nucleus has two predictions of exactly equal
    IoU.

    References
    ----------
    Kumar et al., "A Dataset and a Technique for Generalized Nuclear Segmentation for
    Computational Pathology", IEEE TMI 36(7):1550–1560, 2017, section IV-A.

    Examples
    --------
    A 4×4 square against the same square shifted one pixel: intersection 12, union 20.

    >>> import numpy as np
    >>> true = np.zeros((6, 6), int); true[1:5, 1:5] = 1
    >>> pred = np.zeros((6, 6), int); pred[1:5, 2:6] = 1
    >>> aji(true, pred)
    0.6
    """
    return _ratio(aji_terms(true_labels, pred_labels))


def aji_plus_terms(true_labels: np.ndarray, pred_labels: np.ndarray) -> tuple[int, int]:
    """AJI+'s numerator and denominator for one image: ``(C, U)`` with ``AJI+ = C / U``."""
    ov = Overlap.of(true_labels, pred_labels)
    return _terms(ov, ov.optimal_pairs())


def aji_plus(true_labels: np.ndarray, pred_labels: np.ndarray) -> float:
    """AJI+: the Aggregated Jaccard Index with a one-to-one matching; higher is better.

    Ground-truth and predicted nuclei are paired one-to-one so that the total IoU of the pairs is
    maximal (Hungarian algorithm over overlapping pairs); the numerator sums the pairs'
    intersections, the denominator their unions plus the area of every unpaired nucleus on
    either side. Unlike AJI, a prediction covering two nuclei is counted once, so AJI+ does not
    over-penalise merges.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W integer instance labels (0 = background).

    Returns
    -------
    float
        In [0, 1]. Both images empty: 1.0. Exactly one empty: 0.0.

    Notes
    -----
    When several matchings reach the same maximal total IoU the solver picks one of them, and
    the value can depend on which (another implementation may pick another).

    References
    ----------
    Graham et al., "HoVer-Net: Simultaneous Segmentation and Classification of Nuclei in
    Multi-Tissue Histology Images", Medical Image Analysis 58:101563, 2019, section 4.2.

    Examples
    --------
    One prediction covering two 2×2 nuclei: AJI+ pairs it with one of them only.

    >>> import numpy as np
    >>> true = np.array([[1, 1, 0, 2, 2]] * 2)
    >>> pred = np.array([[1, 1, 1, 1, 1]] * 2)
    >>> aji_plus(true, pred)  # C = 4, U = (4 + 10 - 4) + 4 unpaired = 14
    0.2857142857142857
    """
    return _ratio(aji_plus_terms(true_labels, pred_labels))
