"""Nucleus masks → valid polygons (what a GeoJSON detection needs).

Pixel convention: pixel ``(row, col)`` covers the square ``[col, col + 1) × [row, row + 1)``, as in
QuPath and OpenSlide, so a pixel's centre is at ``(col + 0.5, row + 0.5)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["mask_to_polygon", "label_outlines", "rings_to_polygons", "clean_polygon", "clean_polygons"]


#: Unit steps (dx, dy) of the four edge directions: east, south, west, north (y down).
_STEPS = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])


def mask_to_polygon(mask: np.ndarray) -> np.ndarray | None:
    """Outline of the largest 4-connected component of `mask`, holes filled.

    Parameters
    ----------
    mask : ndarray
        H×W bool (one object, e.g. the crop of one label).

    Returns
    -------
    ndarray or None
        N×2 float ``(x, y)`` vertices of a closed ring (first = last) in pixel coordinates
        (pixel ``(r, c)`` covers ``[c, c+1) × [r, r+1)``), counter-clockwise for y up, or
        ``None`` when `mask` is empty. See :func:`label_outlines` for how it is traced.

    Examples
    --------
    >>> import numpy as np
    >>> mask_to_polygon(np.ones((1, 2), bool)).tolist()
    [[0.5, 0.0], [1.5, 0.0], [2.0, 0.5], [1.5, 1.0], [0.5, 1.0], [0.0, 0.5], [0.5, 0.0]]
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return None
    coords, _ = label_outlines(mask.astype(np.int32), [1])
    return coords


def label_outlines(labels: np.ndarray, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Outlines of the objects `ids` of a label image, all traced at once.

    Parameters
    ----------
    labels : ndarray
        H×W non-negative integer labels.
    ids : sequence of int
        Objects to outline, ascending; each must be present in `labels`.

    Returns
    -------
    coords : ndarray
        The closed rings' ``(x, y)`` vertices in `labels`' pixel frame (pixel ``(r, c)`` covers
        ``[c, c+1) × [r, r+1)``), one ring after another, in the order of `ids`.
    counts : ndarray
        Vertices of each ring.

    Notes
    -----
    A ring joins, in order, the midpoints of the pixel edges between the object and everything
    else: the object mask's 0.5 iso-line, the same polygon as :func:`skimage.measure.find_contours`
    with the object 4-connected (it follows pixel edges and cuts corners diagonally), here
    without collinear vertices, counter-clockwise for y up. The edges of all objects are found
    with array operations, linked to their successors by sorting, and ordered along their loops
    by pointer jumping, so the cost is a few passes over the boundary pixels rather than a call
    per object. A nucleus is one blob: an object whose boundary has several loops (several
    components, or holes) is outlined as its largest 4-connected component with its holes filled.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((4, 4), int); labels[0, 0] = 1; labels[2:4, 2:4] = 2
    >>> coords, counts = label_outlines(labels, [1, 2])
    >>> counts.tolist(), coords[counts[0]:].min(axis=0).tolist()
    ([5, 9], [2.0, 2.0])
    """
    labels = np.asarray(labels)
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size == 0:
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    wanted = np.where(np.isin(labels, ids), labels, 0)
    rings, several = _trace_all(wanted, ids)
    if several.size:
        for i, ring in zip(several, _trace_blobs(wanted, ids[several]), strict=True):
            rings[i] = ring
    counts = np.array([len(r) for r in rings], dtype=np.int64)
    return np.concatenate(rings), counts


def _trace_blobs(labels: np.ndarray, ids: np.ndarray) -> list[np.ndarray]:
    """Rings of the largest 4-connected component of each object in `ids`, holes filled.

    Each object's mask is put in its own cell of a mosaic (cells one pixel apart, packed in rows),
    so that one labelling, one hole filling and one :func:`_trace_all` call serve all of them.
    """
    from scipy import ndimage as ndi

    found = ndi.find_objects(labels)
    boxes = [found[int(label) - 1] for label in ids]
    shapes = [(b[0].stop - b[0].start, b[1].stop - b[1].start) for b in boxes]
    width = max(2048, max(w for _, w in shapes) + 2)
    places, x, y, row_height = [], 1, 1, 0
    for h, w in shapes:
        if x + w + 1 > width:
            x, y, row_height = 1, y + row_height + 1, 0
        places.append((x, y))
        x, row_height = x + w + 1, max(row_height, h)
    mask = np.zeros((y + row_height + 1, width), bool)
    cells = np.zeros(mask.shape, np.int64)
    for k, (label, box, (h, w), (px, py)) in enumerate(zip(ids, boxes, shapes, places, strict=True), start=1):
        mask[py:py + h, px:px + w] = labels[box] == label
        cells[py:py + h, px:px + w] = k
    # Largest 4-connected component of each cell.
    parts, n_parts = ndi.label(mask)
    size = np.bincount(parts.ravel(), minlength=n_parts + 1)
    cell_of = np.zeros(n_parts + 1, np.int64)
    cell_of[parts.ravel()] = cells.ravel()
    index = np.arange(1, n_parts + 1)
    order = np.lexsort((-index, size[1:], cell_of[1:])) + 1   # by cell, size, first found
    last = np.r_[cell_of[order][1:] != cell_of[order][:-1], True]
    keep = np.zeros(n_parts + 1, bool)
    keep[order[last]] = True
    # Fill only pockets closed even diagonally (background 8-connected, as the tracing treats
    # it); the one-pixel gaps between cells connect every cell's outside to the mosaic's edge.
    blobs = ndi.binary_fill_holes(keep[parts], structure=np.ones((3, 3)))
    rings, _ = _trace_all(np.where(blobs, cells, 0), np.arange(1, len(ids) + 1))
    return [ring - place + (box[1].start, box[0].start)
            for ring, place, box in zip(rings, places, boxes, strict=True)]


def _trace_all(labels: np.ndarray, ids: np.ndarray) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Rings of every object of `labels` (whose non-zero values are exactly `ids`).

    Returns the rings (``None`` for objects with several loops) and the indices of those objects.
    """
    h, w = labels.shape
    padded = np.zeros((h + 2, w + 2), labels.dtype)
    padded[1:-1, 1:-1] = labels
    inner = padded[1:-1, 1:-1]
    # Boundary edges, clockwise around each object on screen (object on the right, y down): top
    # edges run east from (c, r), right edges south from (c+1, r), bottom edges west from
    # (c+1, r+1), left edges north from (c, r+1).
    neighbours = (padded[:-2, 1:-1], padded[1:-1, 2:], padded[2:, 1:-1], padded[1:-1, :-2])
    offsets = ((0, 0), (1, 0), (1, 1), (0, 1))
    xs, ys, dirs, objs = [], [], [], []
    for d in range(4):
        r, c = np.nonzero((inner != 0) & (inner != neighbours[d]))
        xs.append(c + offsets[d][0])
        ys.append(r + offsets[d][1])
        dirs.append(np.full(r.size, d, np.int64))
        objs.append(inner[r, c])
    x, y, direction = np.concatenate(xs), np.concatenate(ys), np.concatenate(dirs)
    obj = np.searchsorted(ids, np.concatenate(objs))
    n = x.size
    n_vertices = (h + 1) * (w + 1)
    start_key = obj * n_vertices + y * (w + 1) + x
    end_key = start_key + _STEPS[direction, 1] * (w + 1) + _STEPS[direction, 0]
    order = np.argsort(start_key, kind="stable")
    sorted_keys = start_key[order]
    first = np.searchsorted(sorted_keys, end_key, "left")
    following = order[first]
    # At a saddle vertex (two diagonal pixels of the object) two edges leave: turn right, so
    # that diagonal pixels stay apart (the object is 4-connected).
    saddle = np.flatnonzero(np.searchsorted(sorted_keys, end_key, "right") - first == 2)
    if saddle.size:
        other = order[first[saddle] + 1]
        right_turn = (direction[saddle] + 1) % 4
        following[saddle] = np.where(direction[following[saddle]] == right_turn, following[saddle], other)
    # Pointer jumping: head = smallest edge index on each loop; dist = steps to the loop's tail.
    longest = int(np.bincount(obj).max())
    rounds = max(1, int(np.ceil(np.log2(longest))) + 1)
    head, jump = np.arange(n), following.copy()
    for _ in range(rounds):
        head = np.minimum(head, head[jump])
        jump = jump[jump]
    is_head = head == np.arange(n)
    loops = np.bincount(obj[is_head], minlength=ids.size)
    tail = following == head
    succ = np.where(tail, np.arange(n), following)
    dist = (~tail).astype(np.int64)
    for _ in range(rounds):
        dist = dist + dist[succ]
        succ = succ[succ]
    position = dist[head] - dist
    ordered = np.lexsort((position, obj))
    obj, x, y, direction = obj[ordered], x[ordered], y[ordered], direction[ordered]
    mid = np.column_stack([x, y]) + 0.5 * _STEPS[direction]
    # Drop collinear vertices (zero cross product with both neighbours on the same ring).
    counts = np.bincount(obj, minlength=ids.size)
    ring_start = np.repeat(np.cumsum(counts) - counts, counts)
    ring_end = ring_start + np.repeat(counts, counts) - 1
    index = np.arange(n)
    before = mid[np.where(index == ring_start, ring_end, index - 1)]
    after = mid[np.where(index == ring_end, ring_start, index + 1)]
    cross = (mid[:, 0] - before[:, 0]) * (after[:, 1] - mid[:, 1]) - (mid[:, 1] - before[:, 1]) * (
        after[:, 0] - mid[:, 0])
    corner = cross != 0
    mid, obj = mid[corner], obj[corner]
    kept = np.bincount(obj, minlength=ids.size)
    pieces = np.split(mid, np.cumsum(kept)[:-1])
    rings: list[np.ndarray | None] = [
        np.vstack([piece, piece[:1]]) if loops[i] == 1 else None for i, piece in enumerate(pieces)
    ]
    return rings, np.flatnonzero(loops != 1)


def rings_to_polygons(coords: np.ndarray, counts: Sequence[int], *,
                      grid_size: float | None = None) -> np.ndarray:
    """Build many valid Polygons at once from concatenated rings.

    Parameters
    ----------
    coords : ndarray
        All rings' ``(x, y)`` vertices, one after another (each ring closed).
    counts : sequence of int
        Vertices of each ring.
    grid_size : float, optional
        Grid the coordinates already lie on (e.g. 0.01 after rounding to 2 decimals); used when
        an invalid polygon has to be repaired, so that the repair stays on it.

    Returns
    -------
    ndarray of object
        One valid Polygon (or ``None``) per ring. Polygons are built with shapely's vectorised
        constructors; only the invalid ones go through :func:`clean_polygons`.

    Examples
    --------
    >>> import numpy as np
    >>> square = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    >>> polygons = rings_to_polygons(np.array(square + square, float) * [1, 2], [5, 5])
    >>> [p.area for p in polygons]
    [2.0, 2.0]
    """
    import shapely

    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        return np.empty(0, dtype=object)
    index = np.repeat(np.arange(counts.size), counts)
    polygons = shapely.polygons(shapely.linearrings(np.asarray(coords, dtype=float), indices=index))
    bad = np.flatnonzero(~shapely.is_valid(polygons))
    if bad.size:
        repaired = clean_polygons(list(polygons[bad]), grid_size=grid_size)
        for i, polygon in zip(bad, repaired, strict=True):
            polygons[i] = polygon
    return polygons


def clean_polygons(shapes: Sequence[Any], *, grid_size: float | None = None,
                   simplify: float = 0.0) -> list[Any]:
    """Valid shapely Polygons from rings or polygons (``None`` where nothing with area is left).

    Parameters
    ----------
    shapes : sequence
        N×2 ``(x, y)`` rings, shapely Polygons, or ``None``.
    grid_size : float, optional
        Snap coordinates to this grid with :func:`shapely.set_precision`, which keeps the result
        valid (e.g. 0.01 pixel, what GeoJSON output keeps). Default: no snapping.
    simplify : float, optional
        Douglas–Peucker tolerance (topology preserving) applied first, in the shapes' units;
        0 (default) keeps every vertex.

    Returns
    -------
    list
        One entry per input: a valid (``is_valid``) Polygon without holes, exterior
        counter-clockwise in a y-up frame (GeoJSON's right-hand rule), or ``None``. An invalid
        shape (self-touching, bow-tie) is repaired with :func:`shapely.make_valid` and, when that
        gives several pieces, the largest polygon is kept.

    Examples
    --------
    >>> import numpy as np
    >>> bowtie = np.array([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]], float)
    >>> square = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], float)
    >>> [round(p.area, 2) for p in clean_polygons([bowtie, square])]
    [1.0, 1.0]
    """
    import shapely

    geoms = np.array([_as_polygon(s) for s in shapes] + [None], dtype=object)[:-1]
    if simplify > 0:
        geoms = shapely.simplify(geoms, simplify, preserve_topology=True)
    if grid_size:
        geoms = _repair(geoms)
        geoms = shapely.set_precision(geoms, grid_size)
    geoms = _repair(geoms)
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    return [g if g is not None and g.is_valid and not g.is_empty else None for g in geoms]


def clean_polygon(ring: np.ndarray, *, grid_size: float | None = None, simplify: float = 0.0) -> Any:
    """One ring through :func:`clean_polygons`: a valid Polygon, or ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> poly = clean_polygon(np.array([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]], float))
    >>> poly.is_valid, round(poly.area, 2)
    (True, 1.0)
    """
    return clean_polygons([ring], grid_size=grid_size, simplify=simplify)[0]


def _as_polygon(shape: Any) -> Any:
    from shapely.geometry import Polygon

    if shape is None or isinstance(shape, Polygon):
        return shape
    ring = np.asarray(shape, dtype=float)
    if ring.ndim != 2 or ring.shape[1] != 2 or len(ring) < 3:
        return None
    return Polygon(ring)


def _repair(geoms: np.ndarray) -> np.ndarray:
    """Make every geometry a valid hole-free Polygon (the largest piece) or ``None``."""
    import shapely
    from shapely.geometry import Polygon

    out = geoms.copy()
    present = np.array([g is not None for g in geoms], dtype=bool)
    bad = np.zeros(len(geoms), bool)
    bad[present] = ~shapely.is_valid(geoms[present]) | (shapely.get_num_interior_rings(geoms[present]) > 0)
    bad[present] |= shapely.get_type_id(geoms[present]) != 3  # 3 = Polygon
    for i in np.flatnonzero(bad):
        pieces = [g for g in _flatten(shapely.make_valid(geoms[i])) if isinstance(g, Polygon) and g.area > 0]
        out[i] = Polygon(max(pieces, key=lambda g: g.area).exterior) if pieces else None
    present = np.array([g is not None for g in out], dtype=bool)
    empty = np.zeros(len(out), bool)
    empty[present] = shapely.is_empty(out[present]) | (shapely.area(out[present]) <= 0)
    out[empty] = None
    return out


def _flatten(geom: Any) -> list[Any]:
    """The simple geometries inside `geom` (collections of collections included)."""
    parts = getattr(geom, "geoms", None)
    if parts is None:
        return [geom]
    return [leaf for part in parts for leaf in _flatten(part)]
