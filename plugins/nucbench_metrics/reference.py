"""Slow per-object reference implementations, to check the fast metrics (not registered).

They follow the published evaluation codes structurally — a boolean mask per object, pairwise
intersection/union against every overlapping object (HoVer-Net's ``metrics/stats_utils.py``,
``get_fast_aji`` and relatives), per-object Dice/Hausdorff with the pairing of the GlaS code
(``ObjDice.m``, ``ObjHausdorff.m``) — and share no code with the fast path: no
:class:`nucbench.Overlap`, no run-length geometry; Hausdorff distances come from
``scipy.ndimage.distance_transform_edt`` on crops.

Deliberate departures from HoVer-Net's code, none of which changes a value except in exact ties:
IoU is divided exactly (HoVer-Net adds 1e-6 to the union, which breaks exact IoU ties towards the
larger intersection; MoNuSeg's own code keeps the first, i.e. smaller, id), and SQ divides by the
exact number of matches (HoVer-Net adds 1e-6).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "pairwise",
    "reference_aji",
    "reference_aji_plus",
    "reference_pq",
    "reference_detection",
    "reference_dice",
    "reference_object_dice",
    "reference_object_hausdorff",
]


def _masks(labels: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    ids = np.unique(labels)
    ids = ids[ids != 0]
    return ids, [labels == i for i in ids]


def pairwise(true: np.ndarray, pred: np.ndarray):
    """Per-object masks and dense pairwise intersection / union matrices (n_true × n_pred)."""
    true_ids, true_masks = _masks(true)
    pred_ids, pred_masks = _masks(pred)
    index_of = {int(i): k for k, i in enumerate(pred_ids)}
    inter = np.zeros((len(true_ids), len(pred_ids)))
    union = np.zeros((len(true_ids), len(pred_ids)))
    for r, t_mask in enumerate(true_masks):
        for p in np.unique(pred[t_mask]):
            if p == 0:
                continue
            c = index_of[int(p)]
            p_mask = pred_masks[c]
            inter[r, c] = np.logical_and(t_mask, p_mask).sum()
            union[r, c] = np.logical_or(t_mask, p_mask).sum()
    return true_masks, pred_masks, inter, union


def _iou(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _aggregate(true_masks, pred_masks, inter, union, rows, cols) -> float:
    total_inter = inter[rows, cols].sum()
    total_union = union[rows, cols].sum()
    paired_true, paired_pred = set(rows.tolist()), set(cols.tolist())
    total_union += sum(m.sum() for k, m in enumerate(true_masks) if k not in paired_true)
    total_union += sum(m.sum() for k, m in enumerate(pred_masks) if k not in paired_pred)
    return 1.0 if total_union == 0 else float(total_inter / total_union)


def reference_aji(true: np.ndarray, pred: np.ndarray) -> float:
    """AJI: each ground-truth object to its prediction of largest IoU (first on ties)."""
    true_masks, pred_masks, inter, union = pairwise(true, pred)
    if inter.size == 0:
        return _aggregate(true_masks, pred_masks, inter, union, np.zeros(0, int), np.zeros(0, int))
    iou = _iou(inter, union)
    best = np.argmax(iou, axis=1)
    rows = np.flatnonzero(iou[np.arange(len(best)), best] > 0)
    return _aggregate(true_masks, pred_masks, inter, union, rows, best[rows])


def reference_aji_plus(true: np.ndarray, pred: np.ndarray) -> float:
    """AJI+: Hungarian matching of maximal total IoU on the full matrix, IoU > 0 pairs kept."""
    from scipy.optimize import linear_sum_assignment

    true_masks, pred_masks, inter, union = pairwise(true, pred)
    iou = _iou(inter, union)
    rows, cols = linear_sum_assignment(iou, maximize=True) if iou.size else (np.zeros(0, int),) * 2
    keep = iou[rows, cols] > 0
    return _aggregate(true_masks, pred_masks, inter, union, rows[keep], cols[keep])


def reference_pq(true: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """(DQ, SQ, PQ) with pairs of IoU > 0.5."""
    true_masks, pred_masks, inter, union = pairwise(true, pred)
    iou = _iou(inter, union)
    matched = iou[iou > 0.5]
    tp = matched.size
    fp, fn = len(pred_masks) - tp, len(true_masks) - tp
    if tp + fp + fn == 0:
        return 1.0, 1.0, 1.0
    dq = tp / (tp + 0.5 * fp + 0.5 * fn)
    sq = float(matched.sum() / tp) if tp else 0.0
    return dq, sq, dq * sq


def reference_detection(true: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, F1) of the matching at IoU > 0.5."""
    true_masks, pred_masks, inter, union = pairwise(true, pred)
    tp = int((_iou(inter, union) > 0.5).sum())
    n_true, n_pred = len(true_masks), len(pred_masks)
    empty = 1.0 if n_true == n_pred == 0 else 0.0
    return (tp / n_pred if n_pred else empty, tp / n_true if n_true else empty,
            2 * tp / (n_true + n_pred) if n_true + n_pred else empty)


def reference_dice(true: np.ndarray, pred: np.ndarray) -> float:
    """Pixel Dice of the foregrounds."""
    t, p = true > 0, pred > 0
    total = t.sum() + p.sum()
    return 1.0 if total == 0 else float(2 * np.logical_and(t, p).sum() / total)


class _Objects:
    """Per-object bounding boxes (``ndi.find_objects``) and crop masks of one label image."""

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels
        self.ids = np.unique(labels)
        self.ids = self.ids[self.ids != 0]
        slices = ndi.find_objects(labels)
        self.boxes = {int(i): slices[i - 1] for i in self.ids}

    def area(self, i: int) -> int:
        return int((self.labels[self.boxes[i]] == i).sum())

    def mask(self, i: int, box: tuple[slice, slice]) -> np.ndarray:
        return self.labels[box] == i


def _union_box(a: tuple[slice, slice], b: tuple[slice, slice]) -> tuple[slice, slice]:
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b, strict=True))


def _most_overlapping(objects: _Objects, i: int, other: _Objects) -> int:
    """The label of `other` covering most of object `i` (smallest on ties), 0 if none."""
    box = objects.boxes[i]
    values = other.labels[box][objects.mask(i, box)]
    values = values[values != 0]
    if values.size == 0:
        return 0
    ids, counts = np.unique(values, return_counts=True)
    return int(ids[np.argmax(counts)])


def reference_object_dice(true: np.ndarray, pred: np.ndarray) -> float:
    """GlaS object Dice, as ``ObjDice.m``."""
    t, p = _Objects(true), _Objects(pred)
    if len(t.ids) == 0 and len(p.ids) == 0:
        return 1.0
    if len(t.ids) == 0 or len(p.ids) == 0:
        return 0.0

    def side(own: _Objects, other: _Objects) -> float:
        areas = {int(i): own.area(int(i)) for i in own.ids}
        total_area = sum(areas.values())
        value = 0.0
        for i, area in areas.items():
            partner = _most_overlapping(own, i, other)
            if partner:
                box = _union_box(own.boxes[i], other.boxes[partner])
                a, b = own.mask(i, box), other.mask(partner, box)
                value += area / total_area * 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())
        return value

    return 0.5 * (side(t, p) + side(p, t))


def _hausdorff(own: _Objects, i: int, other: _Objects, j: int) -> float:
    """Hausdorff distance of two objects (pixel centres), by EDT on their joint bounding box."""
    box = _union_box(own.boxes[i], other.boxes[j])
    a, b = own.mask(i, box), other.mask(j, box)
    to_a = ndi.distance_transform_edt(~a)
    to_b = ndi.distance_transform_edt(~b)
    return float(max(to_b[a].max(), to_a[b].max()))


def _nearest_by_hausdorff(own: _Objects, i: int, other: _Objects) -> int:
    """Label of `other` at least Hausdorff distance from object `i` (smallest label on ties)."""
    to_i = ndi.distance_transform_edt(own.labels != i)
    # the largest distance of an object's pixels to object i is a lower bound of their Hausdorff
    bound = np.asarray(ndi.maximum(to_i, labels=other.labels, index=other.ids))
    best, best_id = math.inf, 0
    for k in np.lexsort((other.ids, bound)):
        if bound[k] > best:
            break
        d = _hausdorff(own, i, other, int(other.ids[k]))
        if d < best or (d == best and other.ids[k] < best_id):
            best, best_id = d, int(other.ids[k])
    return best_id


def reference_object_hausdorff(true: np.ndarray, pred: np.ndarray) -> float:
    """GlaS object Hausdorff, as ``ObjHausdorff.m`` (nearest by Hausdorff when nothing overlaps)."""
    t, p = _Objects(true), _Objects(pred)
    if len(t.ids) == 0 and len(p.ids) == 0:
        return 0.0
    if len(t.ids) == 0 or len(p.ids) == 0:
        return math.hypot(true.shape[0] - 1, true.shape[1] - 1)

    def side(own: _Objects, other: _Objects) -> float:
        areas = {int(i): own.area(int(i)) for i in own.ids}
        total_area = sum(areas.values())
        value = 0.0
        for i, area in areas.items():
            partner = _most_overlapping(own, i, other) or _nearest_by_hausdorff(own, i, other)
            value += area / total_area * _hausdorff(own, i, other, partner)
        return value

    return 0.5 * (side(t, p) + side(p, t))
