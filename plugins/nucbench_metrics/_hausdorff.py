"""Exact Hausdorff distances between many pairs of objects of two label images, vectorised.

Objects are stored as horizontal runs (row, first column, last column). The distance from a pixel
``q`` to an object ``B`` is, exactly, ``min over runs (r, lo, hi) of B of
(q_row - r)**2 + max(lo - q_col, 0, q_col - hi)**2`` (squared, in integers). The directed
distance ``h(A -> B) = max over a in A of d(a, B)`` only needs the pixels of ``A`` outside ``B``
(the others are at distance 0), and every one of them is evaluated — no boundary or sampling
shortcut, so the result equals the brute-force definition on pixel centres.

Exact savings keep it fast; call an object *simple* when it has exactly one run on each row
from its top to its bottom row (most nuclei). For a simple ``B``, the pixels of an ``A`` run
outside ``B`` are that run minus ``B``'s run on the same row, found without looking at pixels.
Above ``B``'s top row the distance to ``B`` grows upwards (each run of ``B`` is further away), so
of a simple ``A`` only pixels without an ``A`` pixel right above them can be farthest; below
``B``, likewise downwards. On a row, the distance to ``B`` grows away from ``B``'s column span, so
outside that span only the outermost pixel of each interval can be farthest. Finally the rows of
a simple ``B`` are visited outwards from the query's row, stopping once the row distance alone
exceeds the best distance found. Other objects
(a row with two runs, a gap between rows) take the general path: pixels checked against the
label image, every run of ``B`` visited.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ObjectRuns", "pair_hausdorff_sq", "nearest_by_hausdorff"]


def _ragged(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``concat(arange(s, s + c))`` over (starts, counts), and the group of each element."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    group = np.repeat(np.arange(counts.size), counts)
    base = np.repeat(np.asarray(starts, dtype=np.int64) - (np.cumsum(counts) - counts), counts)
    return base + np.arange(total), group


class ObjectRuns:
    """Horizontal runs of the objects of one label image, grouped by object index.

    Parameters
    ----------
    labels : ndarray
        H×W integer labels.
    ids : ndarray
        The object ids present, sorted (``Overlap.true_ids`` / ``pred_ids``); object index =
        position in `ids`.
    """

    def __init__(self, labels: np.ndarray, ids: np.ndarray) -> None:
        height, width = labels.shape
        self.width = width
        self.flat = labels.ravel()
        self.ids = ids
        flat = self.flat
        change = np.empty(flat.size, dtype=bool)
        change[:1] = True
        np.not_equal(flat[1:], flat[:-1], out=change[1:])
        change[::width] = True
        start = np.flatnonzero(change)
        stop = np.empty_like(start)
        stop[:-1] = start[1:]
        stop[-1:] = flat.size
        label = flat[start]
        keep = label != 0
        start, stop, label = start[keep], stop[keep], label[keep]
        obj = np.searchsorted(ids, label)
        order = np.argsort(obj, kind="stable")  # raster order within each object
        start, stop = start[order], stop[order]
        coord = np.int32 if max(height, width) < 32768 else np.int64
        row, lo = np.divmod(start, width)
        self.row = row.astype(coord)
        self.lo = lo.astype(coord)
        self.hi = (lo + (stop - start) - 1).astype(coord)
        self.count = np.bincount(obj, minlength=ids.size)
        self.offset = np.cumsum(self.count) - self.count
        self.dtype = coord
        if ids.size:
            last = self.offset + self.count - 1
            self.rmin, self.rmax = self.row[self.offset], self.row[last]
            self.cmin = np.minimum.reduceat(self.lo, self.offset)
            self.cmax = np.maximum.reduceat(self.hi, self.offset)
            # "simple": exactly one run on each row from rmin to rmax
            step_ok = np.ones(self.row.size, dtype=bool)
            step_ok[1:] = np.diff(self.row) == 1
            step_ok[self.offset] = True
            self.simple = np.logical_and.reduceat(step_ok, self.offset)


def _minus(first, last, cut_lo, cut_hi, cut):
    """[first, last] minus [cut_lo, cut_hi] where `cut`: the parts left and right of the cut.

    Returns (left_last, has_left, right_first, has_right); where not `cut`, the left part is the
    whole interval.
    """
    left_last = np.where(cut, np.minimum(last, cut_lo - 1), last)
    right_first = np.maximum(first, cut_hi + 1)
    return left_last, left_last >= first, right_first, cut & (right_first <= last)


def _query_pixels(src: ObjectRuns, dst: ObjectRuns, a: np.ndarray, b: np.ndarray):
    """The pixels of src object a[k] outside dst object b[k] that can be farthest from it: (pixel, k).

    Three exact reductions (module docstring): a simple target's run on the same row is removed
    without looking at pixels; above the target's top row the distance to it grows upwards, so of
    a simple object only the pixels with no pixel of the same object just above them can be the
    farthest (below the target's bottom row, likewise downwards); and on a row, outside the
    target's column span, only the outermost pixel of each interval can.
    """
    width = src.width
    run, owner = _ragged(src.offset[a], src.count[a])
    rows = src.row[run].astype(np.int64)
    first, last = src.lo[run].astype(np.int64), src.hi[run].astype(np.int64)
    target = b[owner]
    source = a[owner]
    t_simple = dst.simple[target]
    t_rmin, t_rmax = dst.rmin[target], dst.rmax[target]
    # 1. Above / below the target, a simple source: drop what the neighbouring row covers.
    above, below = rows < t_rmin, rows > t_rmax
    neighbour = np.where(above, rows - 1, rows + 1)
    has_neighbour = (src.simple[source] & (above | below)
                     & (neighbour >= src.rmin[source]) & (neighbour <= src.rmax[source]))
    n_run = src.offset[source] + np.where(has_neighbour, neighbour - src.rmin[source], 0)
    cut_lo = np.where(has_neighbour, src.lo[n_run], 0).astype(np.int64)
    cut_hi = np.where(has_neighbour, src.hi[n_run], 0).astype(np.int64)
    # 2. Rows of a simple target: drop its run on that row.
    on_target = t_simple & ~above & ~below
    t_run = dst.offset[target] + np.where(on_target, rows - t_rmin, 0)
    cut_lo = np.where(on_target, dst.lo[t_run], cut_lo)
    cut_hi = np.where(on_target, dst.hi[t_run], cut_hi)
    left_last, has_left, right_first, has_right = _minus(first, last, cut_lo, cut_hi,
                                                         has_neighbour | on_target)
    rows = np.concatenate([rows[has_left], rows[has_right]])
    first, last = np.concatenate([first[has_left], right_first[has_right]]), np.concatenate(
        [left_last[has_left], last[has_right]])
    owner = np.concatenate([owner[has_left], owner[has_right]])
    check = ~dst.simple[b[owner]] & (rows >= dst.rmin[b[owner]]) & (rows <= dst.rmax[b[owner]])
    # 3. Outside the target's column span only the outermost pixel of an interval.
    cmin, cmax = dst.cmin[b[owner]], dst.cmax[b[owner]]
    mid_first, mid_last = np.maximum(first, cmin), np.minimum(last, cmax)
    has_left, has_right, has_mid = first < cmin, last > cmax, mid_first <= mid_last
    n_ends = int(has_left.sum()) + int(has_right.sum())
    starts = np.concatenate([rows[has_left] * width + first[has_left],
                             rows[has_right] * width + last[has_right],
                             rows[has_mid] * width + mid_first[has_mid]])
    lengths = np.concatenate([np.ones(n_ends, dtype=np.int64), mid_last[has_mid] - mid_first[has_mid] + 1])
    owners = np.concatenate([owner[has_left], owner[has_right], owner[has_mid]])
    checks = np.concatenate([np.zeros(n_ends, dtype=bool), check[has_mid]])
    pixel, interval = _ragged(starts, lengths)
    pair_of_pixel = owners[interval]
    to_check = checks[interval]
    if to_check.any():  # pixels on the rows of a general target: look them up in the label image
        outside = ~to_check | (dst.flat[pixel] != dst.ids[b[pair_of_pixel]])
        pixel, pair_of_pixel = pixel[outside], pair_of_pixel[outside]
    return pixel, pair_of_pixel


def _all_runs_sq(dst: ObjectRuns, q_row, q_col, target, dtype) -> np.ndarray:
    """Squared distance of each query to its target, visiting every run of the target."""
    n_runs = dst.count[target]
    order = np.argsort(-n_runs, kind="stable")  # the queries still active at step j are a prefix
    q_row, q_col = q_row[order], q_col[order]
    first = dst.offset[target][order]
    n_runs = n_runs[order]
    active = np.searchsorted(-n_runs, -np.arange(1, int(n_runs[0]) + 1), side="right")
    best = np.full(q_row.size, np.iinfo(dtype).max, dtype=dtype)
    for j, n in enumerate(active):
        t = first[:n] + j
        d_row = q_row[:n] - dst.row[t]
        gap = dst.lo[t] - q_col[:n]
        np.maximum(gap, q_col[:n] - dst.hi[t], out=gap)
        np.maximum(gap, 0, out=gap)
        d_row *= d_row
        gap *= gap
        d_row += gap
        np.minimum(best[:n], d_row, out=best[:n])
    out = np.empty_like(best)
    out[order] = best
    return out


def _row_window_sq(dst: ObjectRuns, q_row, q_col, target, dtype, max_steps: int = 6):
    """Squared distance of each query to its simple target (one run per row), exactly.

    Rows are visited outwards from the target row nearest to the query; a query stops once the
    next rows are further away (in rows alone) than its best distance. Returns the distances and
    the indices of the queries not settled within `max_steps` rows on each side (far from their
    target), whose distances are not final.
    """
    rmin, rmax = dst.rmin[target], dst.rmax[target]
    start = np.clip(q_row, rmin, rmax)
    base = (dst.offset[target] - rmin).astype(dtype)  # run index of row r = base + r
    gap0 = np.abs(q_row - start)  # row distance to the nearest row of the target
    best = np.full(q_row.size, np.iinfo(dtype).max, dtype=dtype)
    index = np.arange(q_row.size)

    def visit(sel, r):
        t = base[sel] + r
        gap = np.maximum(dst.lo[t] - q_col[sel], q_col[sel] - dst.hi[t])
        np.maximum(gap, 0, out=gap)
        d_row = q_row[sel] - r
        d = d_row * d_row + gap * gap
        np.minimum(best[index[sel]], d, out=d)
        best[index[sel]] = d

    visit(slice(None), start)
    step = 1
    while index.size and step <= max_steps:
        reach = gap0.astype(np.int64) + step
        alive = (reach * reach < best[index]) & ((start - step >= rmin) | (start + step <= rmax))
        if not alive.all():
            index, q_row, q_col, start, base, gap0, rmin, rmax = (
                x[alive] for x in (index, q_row, q_col, start, base, gap0, rmin, rmax))
        if not index.size:
            break
        for r, ok in ((start - step, start - step >= rmin), (start + step, start + step <= rmax)):
            if ok.all():
                visit(slice(None), r)
            elif ok.any():
                visit(ok, r[ok])
        step += 1
    return best, index


def _directed_sq(src: ObjectRuns, dst: ObjectRuns, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared directed Hausdorff ``h(src_a -> dst_b)`` for each pair (a[k], b[k])."""
    out = np.zeros(a.size, dtype=np.int64)
    if a.size == 0:
        return out
    pixel, pair = _query_pixels(src, dst, a, b)
    if pixel.size == 0:
        return out
    dtype = np.int32 if dst.dtype == np.int32 else np.int64
    q_row, q_col = (x.astype(dtype) for x in np.divmod(pixel, src.width))
    target = b[pair]
    simple = dst.simple[target]
    best = np.empty(pixel.size, dtype=dtype)
    general = ~simple
    if simple.any():
        near = np.flatnonzero(simple)
        best[near], unsettled = _row_window_sq(dst, q_row[near], q_col[near], target[near], dtype)
        general[near[unsettled]] = True
    if general.any():
        best[general] = _all_runs_sq(dst, q_row[general], q_col[general], target[general], dtype)
    np.maximum.at(out, pair, best.astype(np.int64))
    return out


def pair_hausdorff_sq(true: ObjectRuns, pred: ObjectRuns, t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Squared Hausdorff distance between true object t[k] and predicted object p[k] (int64)."""
    return np.maximum(_directed_sq(true, pred, t, p), _directed_sq(pred, true, p, t))


def nearest_by_hausdorff(objects: np.ndarray, own: ObjectRuns, other: ObjectRuns,
                         hausdorff_sq) -> tuple[np.ndarray, np.ndarray]:
    """For each of `objects` (indices into `own`), the object of `other` at least Hausdorff distance.

    Candidates are visited in order of a lower bound — the largest offset between the two
    bounding boxes' sides, since the extreme row/column of one object is at least that far from
    every pixel of the other — and the search stops when the bound exceeds the best distance
    found. Ties go to the smaller index (id).

    Parameters
    ----------
    hausdorff_sq : callable
        ``hausdorff_sq(own_indices, other_indices) -> int64 squared distances``.

    Returns
    -------
    partner, distance_sq : ndarray
        Index into `other` and the squared Hausdorff distance, per object.
    """
    n = objects.size
    partner = np.full(n, -1, dtype=np.int64)
    best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    if n == 0 or other.ids.size == 0:
        return partner, best
    chunk = max(1, (1 << 22) // other.ids.size)
    for lo in range(0, n, chunk):
        idx = np.arange(lo, min(n, lo + chunk))
        obj = objects[idx]
        bound = np.abs(own.rmin[obj, None].astype(np.int64) - other.rmin[None, :])
        for mine, theirs in ((own.rmax, other.rmax), (own.cmin, other.cmin), (own.cmax, other.cmax)):
            np.maximum(bound, np.abs(mine[obj, None].astype(np.int64) - theirs[None, :]), out=bound)
        bound *= bound
        order = np.argsort(bound, axis=1, kind="stable")
        bound = np.take_along_axis(bound, order, axis=1)
        step = 0
        todo = np.arange(idx.size)
        while todo.size and step < other.ids.size:
            cand = order[todo, step]
            lb = bound[todo, step]
            worth = (lb < best[idx[todo]]) | ((lb == best[idx[todo]]) & (cand < partner[idx[todo]]))
            todo, cand = todo[worth], cand[worth]
            if todo.size == 0:
                break
            d = hausdorff_sq(obj[todo], cand)
            k = idx[todo]
            better = (d < best[k]) | ((d == best[k]) & (cand < partner[k]))
            best[k[better]] = d[better]
            partner[k[better]] = cand[better]
            step += 1
    return partner, best
