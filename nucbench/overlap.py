"""The overlap table of two instance-label images: the one computation every metric shares.

:class:`Overlap` counts, in one pass over the pixels (``np.bincount`` over paired labels), the
area of every object and the intersection of every overlapping (ground truth, prediction) pair.
It keeps the table sparse (only pairs that overlap) and derives from it, on demand and cached,
the matchings the metrics are defined on: best-IoU partner (AJI), largest-intersection partner
(GlaS object Dice / Hausdorff), pairs above an IoU threshold (PQ, detection F1) and the optimal
one-to-one matching (AJI+).

Metric functions keep the plain contract ``metric(true_labels, pred_labels) -> float`` and get
their table with :meth:`Overlap.of`. Inside ``with overlap.shared():`` (what
:func:`nucbench.evaluate.score_image` does), ``Overlap.of`` called with that overlap's own label
arrays returns it instead of counting again, so scoring all metrics of an image builds the table
once. A third-party metric can use the same door.

Examples
--------
>>> import numpy as np
>>> true = np.array([[1, 1, 0, 2]])
>>> pred = np.array([[5, 0, 0, 7]])
>>> ov = Overlap(true, pred)
>>> ov.true_ids.tolist(), ov.pred_ids.tolist(), ov.pair_intersection.tolist()
([1, 2], [5, 7], [1, 1])
>>> ov.pair_iou.tolist()  # 1 / (2 + 1 - 1), 1 / (1 + 1 - 1)
[0.5, 1.0]
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

import numpy as np

from nucbench.errors import InputError

__all__ = ["Overlap", "check_label_image", "check_label_pair"]

_SHARED: ContextVar[Overlap | None] = ContextVar("nucbench_shared_overlap", default=None)
_T = TypeVar("_T")

#: Largest dense (true id × pred id) table counted with one bincount; beyond it ids are compacted.
_DENSE_CAP = 1 << 23


def check_label_image(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    """Validate one instance-label image; return it as a read-only ndarray view.

    Parameters
    ----------
    labels : array_like
        H×W non-negative integers, 0 = background; ids need not be contiguous.
    name : str, optional
        Argument name used in the error message.

    Raises
    ------
    InputError
        If `labels` is not 2-D, not of an integer dtype (bool and float are refused: a mask is not
        an instance labelling), or holds a negative id.
    """
    array = np.asarray(labels)
    if array.ndim != 2:
        raise InputError(f"`{name}` has shape {array.shape}; expected 2-D instance labels (H×W)")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise InputError(
            f"`{name}` has dtype {array.dtype}; expected integer instance labels (H×W, 0 = background)"
        )
    if array.size and np.issubdtype(array.dtype, np.signedinteger) and array.min() < 0:
        raise InputError(f"`{name}` has negative ids (min {array.min()}); expected ids ≥ 0")
    view = array.view()
    view.flags.writeable = False
    return view


def check_label_pair(true_labels: np.ndarray, pred_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (ground truth, prediction) pair: each as :func:`check_label_image`, same shape.

    Raises
    ------
    InputError
        Naming the argument that is wrong and what was seen.
    """
    true = check_label_image(true_labels, "true_labels")
    pred = check_label_image(pred_labels, "pred_labels")
    if true.shape != pred.shape:
        raise InputError(
            f"`pred_labels` (shape {pred.shape}) must have the same shape as `true_labels` "
            f"(shape {true.shape})"
        )
    return true, pred


def _compact(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel to 0..n (0 stays 0, order kept); return (raw ids incl. 0, relabelled)."""
    top = int(flat.max()) if flat.size else 0
    if top <= max(_DENSE_CAP, 4 * flat.size):
        present = np.bincount(flat, minlength=top + 1) > 0
        present[0] = True
        ids = np.flatnonzero(present)
        lut = np.zeros(top + 1, dtype=np.int64)
        lut[ids] = np.arange(ids.size)
        return ids, lut[flat]
    ids, inverse = np.unique(flat, return_inverse=True)
    if ids[0] != 0:
        ids = np.concatenate([[0], ids])
        inverse = inverse + 1
    return ids.astype(np.int64), inverse.reshape(-1).astype(np.int64)


def _as_index(flat: np.ndarray, name: str) -> np.ndarray:
    """`flat` as something np.bincount takes (uint64 ids become int64)."""
    if flat.dtype != np.uint64:
        return flat
    if flat.size and int(flat.max()) >= 1 << 62:
        raise InputError(f"`{name}` has ids of 2**62 or more (max {flat.max()}); relabel it")
    return flat.astype(np.int64)


def _count(true: np.ndarray, pred: np.ndarray):
    """Areas of every id and intersections of every overlapping (true > 0, pred > 0) pair."""
    t = _as_index(true.ravel(), "true_labels")
    p = _as_index(pred.ravel(), "pred_labels")
    t_ids = p_ids = None
    top_t = int(t.max()) if t.size else 0
    top_p = int(p.max()) if p.size else 0
    if (top_t + 1) * (top_p + 1) > _DENSE_CAP:
        t_ids, t = _compact(t)
        p_ids, p = _compact(p)
        top_t, top_p = t_ids.size - 1, p_ids.size - 1
    width = top_p + 1
    if (top_t + 1) * width <= _DENSE_CAP:
        code = t.astype(np.int64)
        code *= width
        code += p
        table = np.bincount(code, minlength=(top_t + 1) * width)
        nonzero = np.flatnonzero(table != 0)  # faster than on the int64 table itself
        counts = table[nonzero]
        rows, cols = np.divmod(nonzero, width)
        true_area = np.bincount(rows, weights=counts, minlength=top_t + 1).astype(np.int64)
        pred_area = np.bincount(cols, weights=counts, minlength=width).astype(np.int64)
    else:  # many objects on both sides: count only pixels where both are foreground
        true_area = np.bincount(t, minlength=top_t + 1)
        pred_area = np.bincount(p, minlength=width)
        both = (t != 0) & (p != 0)
        code = t[both].astype(np.int64) * width + p[both]
        nonzero, counts = np.unique(code, return_counts=True)
        rows, cols = np.divmod(nonzero, width)
    keep = (rows != 0) & (cols != 0)
    rows, cols, counts = rows[keep], cols[keep], counts[keep].astype(np.int64)
    # Object index = rank of its id among present ids (ids sorted ascending).
    t_present = np.flatnonzero(true_area[1:]) + 1
    p_present = np.flatnonzero(pred_area[1:]) + 1
    t_index = np.searchsorted(t_present, rows)
    p_index = np.searchsorted(p_present, cols)
    t_raw = t_present if t_ids is None else t_ids[t_present]
    p_raw = p_present if p_ids is None else p_ids[p_present]
    return (t_raw.astype(np.int64), true_area[t_present], p_raw.astype(np.int64), pred_area[p_present],
            t_index, p_index, counts)


class Overlap:
    """Areas and pairwise intersections of the objects of two label images, counted once.

    Parameters
    ----------
    true_labels, pred_labels : ndarray
        H×W non-negative integer instance labels (0 = background), ground truth and prediction.
        Ids need not be contiguous.

    Attributes
    ----------
    true_labels, pred_labels : ndarray
        Read-only views of the inputs.
    true_ids, pred_ids : ndarray
        The object ids present, sorted ascending (int64). An object's *index* is its position here.
    true_areas, pred_areas : ndarray
        Pixel count of each object (int64), aligned with the ids.
    pair_true, pair_pred, pair_intersection : ndarray
        One entry per overlapping pair: object indices and intersection in pixels, sorted by
        (true index, pred index).

    Raises
    ------
    InputError
        If either image is not 2-D non-negative integer labels, or their shapes differ.

    Notes
    -----
    One ``np.bincount`` over ``true * (max_pred + 1) + pred``; when that dense table would exceed
    2**23 cells the ids are first compacted to 0..n, and when it still would (many thousands of
    objects on both sides) only pixels that are foreground in both are counted, with
    ``np.unique``. Results are identical on every path.
    """

    def __init__(self, true_labels: np.ndarray, pred_labels: np.ndarray) -> None:
        true, pred = check_label_pair(true_labels, pred_labels)
        self.true_labels = true
        self.pred_labels = pred
        (self.true_ids, self.true_areas, self.pred_ids, self.pred_areas,
         self.pair_true, self.pair_pred, self.pair_intersection) = _count(true, pred)
        self._cache: dict[object, object] = {}

    # -- construction and sharing ------------------------------------------------------------
    @classmethod
    def of(cls, true_labels: np.ndarray, pred_labels: np.ndarray) -> Overlap:
        """The overlap of this pair: the shared one when inside its :meth:`shared` block, else new.

        The shared overlap is reused only when `true_labels` and `pred_labels` are the very array
        objects it holds (``is``), which :func:`nucbench.evaluate.score_image` passes to every metric.
        """
        shared = _SHARED.get()
        if shared is not None and true_labels is shared.true_labels and pred_labels is shared.pred_labels:
            return shared
        return cls(true_labels, pred_labels)

    @contextlib.contextmanager
    def shared(self) -> Iterator[Overlap]:
        """Make :meth:`of` return this overlap for its own label arrays within the block."""
        token = _SHARED.set(self)
        try:
            yield self
        finally:
            _SHARED.reset(token)

    # -- basic quantities --------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of both images."""
        return self.true_labels.shape  # type: ignore[return-value]

    @property
    def n_true(self) -> int:
        """Number of ground-truth objects."""
        return int(self.true_ids.size)

    @property
    def n_pred(self) -> int:
        """Number of predicted objects."""
        return int(self.pred_ids.size)

    @functools.cached_property
    def pair_union(self) -> np.ndarray:
        """``|G ∪ S|`` of each overlapping pair (int64)."""
        return self.true_areas[self.pair_true] + self.pred_areas[self.pair_pred] - self.pair_intersection

    @functools.cached_property
    def pair_iou(self) -> np.ndarray:
        """Intersection over union of each overlapping pair (float64, in (0, 1])."""
        return self.pair_intersection / self.pair_union

    def cached(self, key: object, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per overlap and `key` (for quantities several metrics derive)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]  # type: ignore[return-value]

    # -- matchings ---------------------------------------------------------------------------
    def _first_per_group(self, group: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Indices into the pairs: the first pair of each `group` value in `order`."""
        grouped = group[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = grouped[1:] != grouped[:-1]
        return order[first]

    def best_iou_pairs(self) -> np.ndarray:
        """For each ground-truth object that overlaps a prediction, its pair of largest IoU.

        Ties go to the prediction with the smaller id (the MoNuSeg 2018 reference code keeps
        the first maximum). Returns indices into the pair arrays, one per matched ground-truth
        object, in ground-truth order; a prediction may be chosen by several objects.
        """

        def compute() -> np.ndarray:
            order = np.lexsort((self.pair_pred, -self.pair_iou, self.pair_true))
            return self._first_per_group(self.pair_true, order)

        return self.cached("best_iou_pairs", compute)

    def largest_intersection_pairs(self, side: str) -> np.ndarray:
        """For each object of `side` (``"true"``/``"pred"``) that overlaps, its pair of largest intersection.

        Ties go to the smaller id on the other side (MATLAB's ``mode``, as in the GlaS reference
        code). Returns indices into the pair arrays, one per overlapping object of `side`, in
        that side's order.
        """
        if side not in ("true", "pred"):
            raise ValueError(f"side must be 'true' or 'pred'; got {side!r}")

        def compute() -> np.ndarray:
            own, other = ((self.pair_true, self.pair_pred) if side == "true"
                          else (self.pair_pred, self.pair_true))
            order = np.lexsort((other, -self.pair_intersection, own))
            return self._first_per_group(own, order)

        return self.cached(("largest_intersection_pairs", side), compute)

    def largest_intersection_partner(self, side: str) -> np.ndarray:
        """Index of the largest-intersection partner of every object of `side`, -1 where none.

        See :meth:`largest_intersection_pairs`; one int64 entry per object of `side`.
        """
        best = self.largest_intersection_pairs(side)
        own, other, n = ((self.pair_true, self.pair_pred, self.n_true) if side == "true"
                         else (self.pair_pred, self.pair_true, self.n_pred))
        partner = np.full(n, -1, dtype=np.int64)
        partner[own[best]] = other[best]
        return partner

    def pairs_above(self, iou_threshold: float = 0.5) -> np.ndarray:
        """Indices of the pairs with IoU strictly above `iou_threshold` (≥ 0.5).

        For a threshold of at least 0.5 every object is in at most one such pair (two objects
        cannot both cover more than half of a third's union), so this is a one-to-one matching.

        Raises
        ------
        ValueError
            If `iou_threshold` is below 0.5 or not below 1.
        """
        if not 0.5 <= iou_threshold < 1.0:
            raise ValueError(
                f"iou_threshold must be in [0.5, 1) for a unique matching; got {iou_threshold}"
            )
        return self.cached(
            ("pairs_above", float(iou_threshold)),
            lambda: np.flatnonzero(self.pair_intersection > iou_threshold * self.pair_union),
        )

    def optimal_pairs(self) -> np.ndarray:
        """One-to-one matching of maximal total IoU (Hungarian algorithm), as pair indices.

        Solved separately on each connected component of the overlap graph (objects are nodes,
        overlapping pairs are edges); a component of one ground-truth and one predicted object is
        its own solution. Only overlapping pairs can be chosen.
        """
        return self.cached("optimal_pairs", self._optimal_pairs)

    def _optimal_pairs(self) -> np.ndarray:
        from scipy.optimize import linear_sum_assignment
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        n_pairs = self.pair_true.size
        if n_pairs == 0:
            return np.zeros(0, dtype=np.int64)
        nt = self.n_true
        graph = coo_matrix(
            (np.ones(n_pairs), (self.pair_true, nt + self.pair_pred)),
            shape=(nt + self.n_pred, nt + self.n_pred),
        )
        n_components, component = connected_components(graph, directed=False)
        pair_component = component[self.pair_true]
        size = np.bincount(pair_component, minlength=n_components)
        chosen = [np.flatnonzero(size[pair_component] == 1)]
        crowded = np.flatnonzero(size[pair_component] > 1)
        if crowded.size:
            # Solve several small components in one block-diagonal problem (zero IoU between
            # components changes no optimum, and zero-IoU picks are dropped), a few thousand
            # cells at a time so that the cubic solver stays cheap.
            rows = np.bincount(component[:nt], minlength=n_components)
            cols = np.bincount(component[nt:], minlength=n_components)
            by_component = crowded[np.argsort(pair_component[crowded], kind="stable")]
            cuts = np.flatnonzero(np.diff(pair_component[by_component])) + 1
            group: list[np.ndarray] = []
            n_rows = n_cols = 0
            for members in np.split(by_component, cuts):
                c = pair_component[members[0]]
                if group and (n_rows + rows[c]) * (n_cols + cols[c]) > 4096:
                    chosen.append(self._assign(np.concatenate(group), linear_sum_assignment))
                    group, n_rows, n_cols = [], 0, 0
                group.append(members)
                n_rows, n_cols = n_rows + rows[c], n_cols + cols[c]
            chosen.append(self._assign(np.concatenate(group), linear_sum_assignment))
        return np.sort(np.concatenate(chosen))

    def _assign(self, members: np.ndarray, linear_sum_assignment) -> np.ndarray:
        """Pairs of maximal total IoU among the pairs `members` (indices into the pair arrays)."""
        rows, row_index = np.unique(self.pair_true[members], return_inverse=True)
        cols, col_index = np.unique(self.pair_pred[members], return_inverse=True)
        iou = np.zeros((rows.size, cols.size))
        iou[row_index, col_index] = self.pair_iou[members]
        pair_at = np.full((rows.size, cols.size), -1, dtype=np.int64)
        pair_at[row_index, col_index] = members
        r, c = linear_sum_assignment(iou, maximize=True)
        picked = pair_at[r, c]
        return picked[iou[r, c] > 0]
