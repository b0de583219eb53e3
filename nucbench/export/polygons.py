"""Nucleus masks → valid polygons (what a GeoJSON detection needs).

Pixel convention: pixel ``(row, col)`` covers the square ``[col, col + 1) × [row, row + 1)``, as in
QuPath and OpenSlide, so a pixel's centre is at ``(col + 0.5, row + 0.5)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["mask_to_polygon", "clean_polygon", "clean_polygons"]


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
        (pixel ``(r, c)`` covers ``[c, c+1) × [r, r+1)``), or ``None`` when `mask` is empty.

    Notes
    -----
    The ring is the 0.5 iso-line of the mask (:func:`skimage.measure.find_contours`, foreground
    4-connected, background 8-connected): it follows pixel edges and cuts convex corners
    diagonally, so it is a simple ring. A nucleus is one blob: when the mask has several
    components or holes, only the largest component is kept and its holes are filled.

    Examples
    --------
    >>> import numpy as np
    >>> ring = mask_to_polygon(np.ones((2, 3), bool))
    >>> float(ring[:, 0].min()), float(ring[:, 0].max()), float(ring[:, 1].min()), float(ring[:, 1].max())
    (0.0, 3.0, 0.0, 2.0)
    """
    from skimage.measure import find_contours

    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return None
    contours = find_contours(np.pad(mask, 1).astype(float), 0.5)
    if len(contours) > 1:  # several components, or holes: keep the largest component, filled
        from scipy import ndimage as ndi

        labels, _ = ndi.label(mask)
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        mask = ndi.binary_fill_holes(labels == int(sizes.argmax()))
        contours = find_contours(np.pad(mask, 1).astype(float), 0.5)
    ring = max(contours, key=len)
    # (row, col) in padded pixel-centre coordinates → (x, y) with pixel edges at integers.
    xy = np.stack([ring[:, 1] - 0.5, ring[:, 0] - 0.5], axis=1)
    if not np.array_equal(xy[0], xy[-1]):
        xy = np.vstack([xy, xy[:1]])
    return xy


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
