"""Exact Hausdorff distances between many pairs of objects of two label images, vectorised.

Objects are stored as horizontal runs (row, first column, last column). The distance from a pixel
``q`` to an object ``B`` is, exactly, ``min over runs (r, lo, hi) of B of
(q_row - r)**2 + max(lo - q_col, 0, q_col - hi)**2`` (squared, in integers). The directed
distance ``h(A -> B) = max over a in A of d(a, B)`` only needs the pixels of ``A`` outside ``B``
(the others are at distance 0). Every pixel of every query object is evaluated against every run
of its target, in a handful of numpy passes over all pairs together; no bounding-box or boundary
shortcut, so the result equals the brute-force definition on pixel centres.
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


def _directed_sq(src: ObjectRuns, dst: ObjectRuns, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared directed Hausdorff ``h(src_a -> dst_b)`` for each pair (a[k], b[k])."""
    out = np.zeros(a.size, dtype=np.int64)
    if a.size == 0:
        return out
    width = src.width
    run, pair = _ragged(src.offset[a], src.count[a])
    length = (src.hi[run] - src.lo[run] + 1).astype(np.int64)
    pixel, owner = _ragged(src.row[run].astype(np.int64) * width + src.lo[run], length)
    pair = pair[owner]
    outside = dst.flat[pixel] != dst.ids[b][pair]  # pixels of src_a inside dst_b are at distance 0
    pixel, pair = pixel[outside], pair[outside]
    if pixel.size == 0:
        return out
    dtype = np.int32 if dst.dtype == np.int32 else np.int64
    q_row, q_col = (x.astype(dtype) for x in np.divmod(pixel, width))
    target = b[pair]
    n_runs = dst.count[target]
    order = np.argsort(-n_runs, kind="stable")  # the queries still active at step j are a prefix
    q_row, q_col, pair = q_row[order], q_col[order], pair[order]
    first = dst.offset[target][order]
    n_runs = n_runs[order]
    active = np.searchsorted(-n_runs, -np.arange(1, int(n_runs[0]) + 1), side="right")
    best = np.full(pixel.size, np.iinfo(dtype).max, dtype=dtype)
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
