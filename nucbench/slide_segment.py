"""Whole-slide nuclei segmentation: tissue → tiles → any segmenter → stitched nuclei → QuPath GeoJSON.

:func:`segment_slide` runs a registered segmenter over a slide (or a region of it) tile by tile and
writes, in the output folder:

- ``<stem>.geojson``: a QuPath FeatureCollection of nucleus ``detection`` polygons in level-0
  pixel coordinates, with measurements (:mod:`nucbench.export`);
- ``<stem>.csv``: the same nuclei, one row each (centroid in level-0 pixels, measurements);
- ``<stem>.overlay.png``: a low-resolution picture of the region with the outlines drawn;
- ``<stem>.tiles/``: the work folder: ``run.json`` (the settings) and one small ``.npz`` per tile
  with its nuclei, so that an interrupted run resumes where it stopped.

How nuclei are kept exactly once
--------------------------------
Tiles come from :func:`nucbench.data.tissue.tile_grid` at the working magnification: a stride of
`tile_size` pixels, each tile extended by `overlap` pixels into each neighbour, so two neighbours
share a strip ``2 · overlap`` wide. A tile's *core* is its grid cell (the tile minus `overlap` on
each inner side); the cores partition the region. An object found in a tile is kept when

1. its bounding box does not touch a side of the tile that borders another tile (a side on the
   region's edge does not count), i.e. the object lies whole in the tile, and
2. its centroid lies in the tile's core.

A nucleus of diameter ``d < overlap`` whose centroid lies in a core lies whole in that core's tile
(it reaches at most ``d`` from its centroid, and the core is ``overlap`` away from the tile's inner
sides), and the same nucleus seen whole in a neighbour has the same centroid, which lies in one
core only: so each nucleus is kept once, from a tile where it is whole, and a half-nucleus cut by
a tile side is never kept. **The overlap must exceed the largest nucleus diameter** in working
pixels (64 px by default: 16 µm at 40x, 32 µm at 20x). An object with its centroid in a core that
still touches an inner side is larger than that; it is dropped and counted in
:attr:`SlideResult.n_too_large`.

Memory stays bounded by a few tiles: the tissue mask comes from a thumbnail of at most 2048
pixels, each worker holds one tile, per-tile results go to small files, and the merge streams them
into the outputs one tile at a time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nucbench.atomic import atomic_path
from nucbench.cliparams import add_executor_options, executor_choice
from nucbench.errors import InputError, NucbenchError

__all__ = [
    "SLIDE_SUFFIXES",
    "add_slide_arguments",
    "run_slide_inputs",
    "SegmenterRef",
    "SlideResult",
    "SlideTile",
    "is_slide_path",
    "parse_region",
    "plan_tiles",
    "select_whole_objects",
    "segment_slide",
]

#: File suffixes always treated as slides (OpenSlide formats). ``.tif``/``.tiff`` are slides when
#: OpenSlide recognises them (tiled pyramids), else plain images.
SLIDE_SUFFIXES: tuple[str, ...] = (".svs", ".ndpi", ".mrxs", ".vms", ".vmu", ".scn", ".svslide", ".bif")

#: Version of the per-tile file layout; a work folder of another version is not reused.
_WORK_VERSION = 2


def is_slide_path(path: str | os.PathLike[str]) -> bool:
    """Whether `path` should be read as a whole slide (OpenSlide) rather than as an image file.

    A path with a slide suffix (:data:`SLIDE_SUFFIXES`) is a slide even if it does not exist (so
    that opening it gives the slide error); a ``.tif``/``.tiff`` file is a slide when OpenSlide
    recognises it (a tiled, pyramidal TIFF); anything else is not.

    Examples
    --------
    >>> is_slide_path("scan.svs"), is_slide_path("tile.png")
    (True, False)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SLIDE_SUFFIXES:
        return True
    if suffix in (".tif", ".tiff") and path.is_file():
        import openslide

        try:
            return openslide.OpenSlide.detect_format(str(path)) is not None
        except Exception:  # an unreadable file is not a slide; the image reader reports it
            return False
    return False


def parse_region(text: str) -> tuple[int, int, int, int]:
    """Parse ``"x,y,w,h"`` (level-0 pixels) into four integers.

    Examples
    --------
    >>> parse_region("100, 200, 512, 512")
    (100, 200, 512, 512)
    """
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise InputError(f"--region '{text}': expected four integers x,y,w,h in level-0 pixels")
    if values[2] <= 0 or values[3] <= 0:
        raise InputError(f"--region '{text}': width and height must be positive")
    return values  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Planning: which tiles, where.


@dataclass(frozen=True)
class SlideTile:
    """One tile of a slide region, in the two frames the run needs.

    Attributes
    ----------
    col, row : int
        Grid position.
    x, y : int
        Top-left corner in level-0 pixels of the slide (what is read).
    w, h : int
        Size in working pixels (tile plus overlap, clipped at the region's edge).
    gx, gy : int
        Top-left corner in working pixels relative to the region's corner.
    core : (int, int, int, int)
        ``(x0, y0, x1, y1)`` of the tile's grid cell in the same frame as `gx`, `gy`.
    inner : (bool, bool, bool, bool)
        Whether the left, top, right, bottom side borders another tile (not the region's edge).
    """

    col: int
    row: int
    x: int
    y: int
    w: int
    h: int
    gx: int
    gy: int
    core: tuple[int, int, int, int]
    inner: tuple[bool, bool, bool, bool]

    @property
    def name(self) -> str:
        """File stem of the tile's result, ``c{col}_r{row}``."""
        return f"c{self.col:04d}_r{self.row:04d}"


def plan_tiles(region: tuple[int, int, int, int], tile_size: int, overlap: int,
               downsample: float) -> list[SlideTile]:
    """The tiles of a region, row by row (:func:`nucbench.data.tissue.tile_grid` plus the cores).

    Parameters
    ----------
    region : (int, int, int, int)
        ``(x, y, w, h)`` in level-0 pixels.
    tile_size : int
        Grid stride in working pixels.
    overlap : int
        Working pixels each tile extends into each neighbour.
    downsample : float
        Level-0 pixels per working pixel.

    Examples
    --------
    >>> tiles = plan_tiles((100, 0, 10, 4), tile_size=4, overlap=1, downsample=1.0)
    >>> [(t.x, t.w, t.core[0], t.core[2], t.inner[0], t.inner[2]) for t in tiles]
    [(100, 5, 0, 4, False, True), (103, 6, 4, 8, True, True), (107, 3, 8, 10, True, False)]
    """
    from nucbench.data.tissue import tile_grid

    rx, ry, rw, rh = region
    grid = tile_grid(rw, rh, tile_size, overlap, downsample=downsample)
    n_cols = max(t.col for t in grid) + 1
    n_rows = max(t.row for t in grid) + 1
    grid_w = int(math.floor(rw / downsample + 1e-9))
    grid_h = int(math.floor(rh / downsample + 1e-9))
    tiles = []
    for t in grid:
        gx, gy = max(t.col * tile_size - overlap, 0), max(t.row * tile_size - overlap, 0)
        core = (t.col * tile_size, t.row * tile_size,
                min((t.col + 1) * tile_size, grid_w), min((t.row + 1) * tile_size, grid_h))
        inner = (t.col > 0, t.row > 0, t.col < n_cols - 1, t.row < n_rows - 1)
        tiles.append(SlideTile(t.col, t.row, rx + t.x, ry + t.y, t.w, t.h, gx, gy, core, inner))
    return tiles


# ---------------------------------------------------------------------------------------------
# Stitching rule.


def select_whole_objects(labels: np.ndarray, tile: SlideTile) -> tuple[np.ndarray, int]:
    """The objects of one tile that the stitching keeps (see the module notes).

    Parameters
    ----------
    labels : ndarray
        The segmenter's ``h × w`` integer labels for `tile`.
    tile : SlideTile

    Returns
    -------
    keep : ndarray
        Ids of the objects that lie whole in the tile (their bounding box touches no inner side)
        and whose centroid (pixel centres at ``+0.5``) lies in the tile's core, ascending.
    n_too_large : int
        Objects whose centroid lies in the core but that touch an inner side: larger than the
        overlap allows, so they are kept nowhere.

    Examples
    --------
    A 6×6 tile whose right side borders a neighbour (core: columns 0–3): the object touching the
    right side is cut, the one centred at column 4.5 belongs to the neighbour's core.

    >>> import numpy as np
    >>> labels = np.zeros((6, 6), int)
    >>> labels[1:3, 0:2] = 1; labels[1:3, 4:6] = 2; labels[4:6, 4:5] = 3
    >>> tile = SlideTile(0, 0, 0, 0, 6, 6, 0, 0, (0, 0, 4, 6), (False, False, True, False))
    >>> keep, n_too_large = select_whole_objects(labels, tile)
    >>> keep.tolist(), n_too_large
    ([1], 0)
    """
    from scipy import ndimage as ndi

    labels = np.asarray(labels)
    flat = labels.ravel()
    where = np.flatnonzero(flat)
    if where.size == 0:
        return np.zeros(0, np.int64), 0
    ids, index = np.unique(flat[where], return_inverse=True)
    rows, cols = np.divmod(where, labels.shape[1])
    count = np.bincount(index).astype(float)
    gy = tile.gy + np.bincount(index, weights=rows.astype(float)) / count + 0.5
    gx = tile.gx + np.bincount(index, weights=cols.astype(float)) / count + 0.5
    boxes = ndi.find_objects(labels)
    r0, c0, r1, c1 = np.array([(boxes[i - 1][0].start, boxes[i - 1][1].start,
                                boxes[i - 1][0].stop, boxes[i - 1][1].stop) for i in ids]).T
    h, w = labels.shape
    left, top, right, bottom = tile.inner
    touches = (left & (c0 == 0)) | (top & (r0 == 0)) | (right & (c1 == w)) | (bottom & (r1 == h))
    x0, y0, x1, y1 = tile.core
    in_core = (gx >= x0) & (gx < x1) & (gy >= y0) & (gy < y1)
    keep = ids[in_core & ~touches].astype(np.int64)
    return keep, int(np.count_nonzero(in_core & touches))


# ---------------------------------------------------------------------------------------------
# Worker side: one tile.


@dataclass(frozen=True)
class SegmenterRef:
    """A registered segmenter by name, as sent to workers (each builds it once per process).

    Attributes
    ----------
    name : str
        Registered segmenter name.
    params_json : str
        Its parameters, as sorted JSON (hashable).
    plugins : tuple of str
        Plugin files (absolute paths) to load before building it.
    """

    name: str
    params_json: str = "{}"
    plugins: tuple[str, ...] = ()

    @classmethod
    def make(cls, name: str, params: Mapping[str, Any] | None = None,
             plugins: Sequence[str | os.PathLike[str]] = ()) -> SegmenterRef:
        """Build a reference (params must be JSON-serialisable)."""
        return cls(name, json.dumps(dict(params or {}), sort_keys=True),
                   tuple(str(Path(p).expanduser().resolve()) for p in plugins))

    @property
    def params(self) -> dict[str, Any]:
        return json.loads(self.params_json)


_SEGMENTERS: dict[tuple[SegmenterRef, int], Any] = {}
_SLIDES: dict[tuple[str, float | None], Any] = {}


def _build_segmenter(ref: SegmenterRef) -> Any:
    from nucbench.plugins import get_plugin_manager

    manager = get_plugin_manager()
    key = (ref, id(manager))
    if key not in _SEGMENTERS:
        for path in ref.plugins:
            manager.load_file(path)
        _SEGMENTERS.clear()  # one segmenter per process at a time: models can be large
        _SEGMENTERS[key] = manager.create("segmenter", ref.name, **ref.params)
    return _SEGMENTERS[key]


def _open_slide(path: str, mpp: float | None) -> Any:
    from nucbench.data.slides import Slide

    key = (path, mpp)
    if key not in _SLIDES:
        if len(_SLIDES) >= 4:
            _SLIDES.pop(next(iter(_SLIDES))).close()
        _SLIDES[key] = Slide(path, mpp=mpp)
    return _SLIDES[key]


@dataclass(frozen=True)
class TileJob:
    """What a worker needs to segment one tile and store its nuclei."""

    slide: str
    mpp_override: float | None
    magnification: float
    downsample: float
    mpp: float
    segmenter: Any  # SegmenterRef, or a segmenter object (pickled to workers)
    segmenter_label: str
    tile: SlideTile
    result: str
    overview_scale: float
    id_seed: str


@dataclass(frozen=True)
class TileSummary:
    """What a worker returns for one tile (its nuclei are in the tile file)."""

    n_objects: int
    n_kept: int
    n_too_large: int
    seconds: float


def run_tile(job: TileJob) -> TileSummary:
    """Read, segment and stitch-select one tile; write its nuclei to ``job.result`` (atomically).

    The file holds, for the kept nuclei in ascending label order: ``rings`` (all polygon vertices,
    level-0 ``x, y``), ``offsets`` (ring ``i`` is ``rings[offsets[i]:offsets[i+1]]``),
    ``centroids`` (level-0 ``x, y``), ``values`` (one column per
    :data:`nucbench.export.MEASUREMENTS`), the same nuclei encoded for the outputs (``features``:
    UTF-8 GeoJSON Features joined by ``",\\n"``; ``rows``: UTF-8 CSV rows without their id,
    joined by newlines), the tile's core downsampled for the overview (``overview`` and its
    ``overview_corner``) and the counts.

    Raises
    ------
    InputError
        If the segmenter returns something other than integer labels of the tile's size.
    """
    import shapely

    from nucbench.export import (
        MEASUREMENTS,
        detection_feature,
        format_row,
        label_outlines,
        measure_nuclei,
        object_uuid,
        rings_to_polygons,
    )

    start = time.perf_counter()
    tile = job.tile
    slide = _open_slide(job.slide, job.mpp_override)
    image = slide.read_region(tile.x, tile.y, tile.w, tile.h, job.magnification)
    segmenter = _build_segmenter(job.segmenter) if isinstance(job.segmenter, SegmenterRef) else job.segmenter
    labels = segmenter.segment(image, mpp=job.mpp)
    if not (isinstance(labels, np.ndarray) and labels.shape == image.shape[:2]
            and np.issubdtype(labels.dtype, np.integer) and (labels.size == 0 or labels.min() >= 0)):
        seen = (f"{labels.dtype} array of shape {labels.shape}" if isinstance(labels, np.ndarray)
                else type(labels).__name__)
        raise InputError(
            f"segmenter '{job.segmenter_label}' returned {seen} for tile {tile.name} of {job.slide}; "
            f"expected non-negative integer labels of shape {image.shape[:2]}"
        )
    keep, n_too_large = select_whole_objects(labels, tile)
    kept_labels = np.where(np.isin(labels, keep), labels, 0)
    rings, counts = label_outlines(kept_labels, keep)
    outlines = rings_to_polygons(rings, counts)  # in the tile's working pixels
    measured = measure_nuclei(image, kept_labels, mpp=job.mpp, outlines=outlines)
    # Level-0 coordinates, rounded to the 0.01 px the GeoJSON keeps.
    level0 = np.round(rings * job.downsample + (tile.x, tile.y), 2)
    polygons = rings_to_polygons(level0, counts, grid_size=0.01)
    ok = np.array([p is not None for p in polygons], dtype=bool)
    coords = [shapely.get_coordinates(p.exterior) for p in polygons[ok]]
    centroids = shapely.get_coordinates(shapely.centroid(polygons[ok]))
    values = np.column_stack([measured[name] for name, _ in MEASUREMENTS])[ok]
    # Encode the GeoJSON features and CSV rows here, in parallel across workers; the merge only
    # concatenates them.
    display = [name for _, name in MEASUREMENTS]
    features, rows = [], []
    for i, (ring, (cx, cy), row) in enumerate(zip(coords, centroids, values.tolist(), strict=True)):
        feature = detection_feature(ring, dict(zip(display, row, strict=True)),
                                    object_id=object_uuid(job.id_seed, f"{tile.name}:{i}"))
        features.append(json.dumps(feature, ensure_ascii=False))
        rows.append(format_row([tile.name, round(cx, 2), round(cy, 2), *row]))

    x0, y0, x1, y1 = tile.core
    s = job.overview_scale
    ox0, oy0, ox1, oy1 = (round(v / s) for v in (x0, y0, x1, y1))
    if ox1 > ox0 and oy1 > oy0:
        from PIL import Image

        core = image[y0 - tile.gy:y1 - tile.gy, x0 - tile.gx:x1 - tile.gx]
        overview = np.asarray(Image.fromarray(core).resize((ox1 - ox0, oy1 - oy0), Image.Resampling.BOX))
    else:
        overview = np.zeros((0, 0, 3), np.uint8)
    with atomic_path(job.result) as tmp, open(tmp, "wb") as f:
        np.savez(
            f,
            rings=np.concatenate(coords) if coords else np.zeros((0, 2)),
            offsets=np.concatenate([[0], np.cumsum([len(c) for c in coords])]).astype(np.int64),
            centroids=centroids.reshape(-1, 2),
            values=values.reshape(-1, len(MEASUREMENTS)),
            features=np.frombuffer(",\n".join(features).encode("utf-8"), np.uint8),
            rows=np.frombuffer("\n".join(rows).encode("utf-8"), np.uint8),
            overview=overview,
            overview_corner=np.asarray([ox0, oy0], np.int64),
            counts=np.asarray([len(keep), len(coords), n_too_large], np.int64),
        )
    return TileSummary(int(np.unique(labels[labels != 0]).size), len(coords), n_too_large,
                       time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------
# Driver side.


@dataclass
class SlideResult:
    """What :func:`segment_slide` produced.

    Attributes
    ----------
    geojson, csv, overlay : Path
        The output files.
    work_dir : Path
        The per-tile results (kept, so that a rerun only merges).
    n_nuclei : int
        Nuclei written.
    n_tiles : int
        Tiles in the region's grid.
    n_tissue_tiles : int
        Tiles with enough tissue to be segmented.
    n_computed : int
        Tiles segmented by this call (the rest were resumed from the work folder).
    n_too_large : int
        Objects dropped because they were larger than the overlap allows (see the module notes).
    megapixels : float
        Working-magnification megapixels of the tissue tiles' cores (the area segmented).
    segment_s : float
        Wall-clock seconds spent on the tiles computed by this call.
    tile_s : float
        Sum over those tiles of the seconds a worker spent on each (read, segment, outline,
        measure, encode); ``tile_s / (segment_s · workers)`` is the executor's efficiency.
    merge_s : float
        Wall-clock seconds spent writing the outputs.
    magnification, mpp : float
        Working magnification and its µm per pixel.
    """

    geojson: Path
    csv: Path
    overlay: Path
    work_dir: Path
    n_nuclei: int
    n_tiles: int
    n_tissue_tiles: int
    n_computed: int
    n_too_large: int
    megapixels: float
    segment_s: float
    tile_s: float
    merge_s: float
    magnification: float
    mpp: float


def _check_region(slide: Any, region: Sequence[int] | None) -> tuple[int, int, int, int]:
    width, height = slide.dimensions
    if region is None:
        return (0, 0, width, height)
    if len(region) != 4:
        raise InputError(f"{slide.path}: region must be (x, y, w, h) in level-0 pixels; got {region}")
    x, y, w, h = (int(v) for v in region)
    if w <= 0 or h <= 0:
        raise InputError(f"{slide.path}: region {x},{y},{w},{h}: width and height must be positive")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise InputError(
            f"{slide.path}: region {x},{y},{w},{h} (x,y,w,h in level-0 pixels) is outside the slide, "
            f"which is {width}×{height} level-0 pixels; give x ≥ 0, y ≥ 0, x + w ≤ {width}, y + h ≤ {height}"
        )
    return (x, y, w, h)


def _slide_identity(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "bytes": stat.st_size}


def _segmenter_identity(segmenter: Any) -> dict[str, Any]:
    if isinstance(segmenter, SegmenterRef):
        return {"name": segmenter.name, "params": segmenter.params}
    return {"object": f"{type(segmenter).__module__}.{type(segmenter).__qualname__}"}


def _prepare_work_dir(work_dir: Path, manifest: dict[str, Any], *, overwrite: bool) -> None:
    """Create the work folder, or check that an existing one belongs to the same settings."""
    path = work_dir / "run.json"
    if work_dir.exists() and overwrite:
        shutil.rmtree(work_dir)
    if path.is_file():
        try:
            previous = json.loads(path.read_text())
        except (OSError, ValueError):
            previous = None
        if previous != manifest:
            old = previous if isinstance(previous, dict) else {}
            changed = sorted(k for k in manifest if old.get(k) != manifest[k])
            raise InputError(
                f"{work_dir}: holds tiles of a run with other settings (differs in: "
                f"{', '.join(changed) or 'format'}); pass --overwrite to discard them, or choose "
                "another --out"
            )
        return
    work_dir.mkdir(parents=True, exist_ok=True)

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))


def segment_slide(
    slide: str | os.PathLike[str],
    segmenter: str | Any,
    out_dir: str | os.PathLike[str],
    *,
    params: Mapping[str, Any] | None = None,
    plugins: Sequence[str | os.PathLike[str]] = (),
    magnification: float | None = None,
    mpp: float | None = None,
    region: Sequence[int] | None = None,
    tile_size: int = 1024,
    overlap: int = 64,
    min_tissue: float = 0.01,
    executor: str | Any = "local",
    executor_params: Mapping[str, Any] | None = None,
    overview_size: int = 2048,
    overwrite: bool = False,
    progress: bool = True,
) -> SlideResult:
    """Segment the nuclei of a whole slide (or a region) with any segmenter; write QuPath outputs.

    Parameters
    ----------
    slide : str or path-like
        A slide OpenSlide reads (``.svs``, ``.ndpi``, ``.mrxs``, tiled pyramidal ``.tif``, …).
    segmenter : str or Segmenter
        A registered segmenter name (built on each worker, with `params`), or a segmenter object
        (sent to the workers as is).
    out_dir : str or path-like
        Output folder (created). Outputs are named after the slide's stem (see the module notes).
    params : mapping, optional
        Parameters of the named segmenter (JSON-serialisable).
    plugins : sequence of path, optional
        Plugin files that define the named segmenter (loaded here and on each worker).
    magnification : float, optional
        Working magnification (e.g. 40, 20); default: the slide's level-0 magnification. The
        segmenter sees tiles at this magnification and ``mpp = 10 / magnification``-equivalent.
    mpp : float, optional
        Level-0 µm per pixel, overriding the slide's metadata; needed when the metadata has
        neither mpp nor objective power.
    region : (int, int, int, int), optional
        ``(x, y, w, h)`` in level-0 pixels; default the whole slide. Must lie inside the slide.
    tile_size : int, optional
        Tile stride in working pixels (default 1024).
    overlap : int, optional
        Working pixels each tile extends into each neighbour (default 64). Must exceed the
        largest nucleus diameter (module notes).
    min_tissue : float, optional
        Tiles with a smaller tissue fraction (HSV mask on the slide thumbnail,
        :func:`nucbench.data.tissue.slide_tissue_mask`) are not segmented (default 0.01).
    executor : str or Executor, optional
        Registered executor name (``local``, ``dask``) built with `executor_params` and closed at
        the end, or an executor object (left open). Default ``"local"``.
    executor_params : mapping, optional
        Parameters of the named executor (e.g. ``{"n_workers": 2}`` or ``{"address": ...}``).
    overview_size : int, optional
        Longer side of the overlay PNG in pixels (default 2048).
    overwrite : bool, optional
        Discard per-tile results of an earlier run in `out_dir`. Without it, tiles already done
        with the same settings are reused (resume), and tiles of a run with other settings are
        an error.
    progress : bool, optional
        Show a tqdm progress bar over tiles (default ``True``).

    Returns
    -------
    SlideResult

    Raises
    ------
    InputError
        Before anything is written: the slide is missing or not a slide, its resolution is
        unknown (give `mpp`), the magnification is above level 0's, the region is outside the
        slide, the segmenter or executor is unknown. After the tiles: some tiles failed (their
        errors are in ``<work_dir>/errors.txt``; the finished tiles are kept and a rerun resumes);
        no output file is written then.

    Notes
    -----
    With a Dask cluster whose workers run on other machines, the slide, `out_dir` and the plugin
    files must be at the same paths there (a shared file system).
    """
    from tqdm.auto import tqdm

    import nucbench
    from nucbench.data.slides import Slide
    from nucbench.data.tissue import slide_tissue_mask, tile_tissue_fractions

    path = Path(slide)
    # --- validate every input before writing anything ----------------------------------------
    with Slide(path, mpp=mpp) as opened:
        base_mpp = opened.mpp  # raises when the resolution is unknown
        base_magnification = opened.magnification
        magnification = float(magnification) if magnification is not None else base_magnification
        opened.best_level(magnification)  # raises above level 0's magnification
        the_region = _check_region(opened, region)
        downsample = base_magnification / magnification
        if int(tile_size) != tile_size or tile_size < 16:
            raise InputError(f"tile_size must be an integer of at least 16 working pixels; got {tile_size}")
        if int(overlap) != overlap or overlap < 0:
            raise InputError(f"overlap must be a non-negative integer of working pixels; got {overlap}")
        if not 0.0 <= min_tissue <= 1.0:
            raise InputError(f"min_tissue must be a fraction in [0, 1]; got {min_tissue}")
        if the_region[2] / downsample < 1 or the_region[3] / downsample < 1:
            raise InputError(f"{path}: region {the_region} is smaller than one pixel at {magnification:g}x")
        tiles = plan_tiles(the_region, int(tile_size), int(overlap), downsample)
        mask, mask_downsample = slide_tissue_mask(opened)
        boxes = [_level0_tile(t, downsample) for t in tiles]
        fractions = tile_tissue_fractions(boxes, mask, mask_downsample=mask_downsample)
        dimensions = opened.dimensions
    tissue_tiles = [t for t, f in zip(tiles, fractions, strict=True) if f >= min_tissue]
    work_mpp = base_mpp * downsample

    if isinstance(segmenter, str):
        ref = SegmenterRef.make(segmenter, params, plugins)
        local_segmenter = _build_segmenter(ref)  # raises for an unknown name or bad params, here
        job_segmenter: Any = ref
        label = ref.name
    else:
        if params:
            raise InputError("params are for a segmenter given by name; build the object with them instead")
        local_segmenter = job_segmenter = segmenter
        label = type(segmenter).__name__
    if not callable(getattr(local_segmenter, "segment", None)):
        raise InputError(f"segmenter '{label}' has no segment(image, *, mpp=None) method")

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    grid_w = math.floor(the_region[2] / downsample + 1e-9)
    grid_h = math.floor(the_region[3] / downsample + 1e-9)
    overview_scale = max(1.0, max(grid_w, grid_h) / max(1, int(overview_size)))

    manifest = {
        "version": _WORK_VERSION,
        "slide": _slide_identity(path),
        "dimensions": list(dimensions),
        "mpp": base_mpp,
        "magnification": magnification,
        "region": list(the_region),
        "tile_size": int(tile_size),
        "overlap": int(overlap),
        "min_tissue": float(min_tissue),
        "overview_size": int(overview_size),
        "segmenter": _segmenter_identity(job_segmenter),
    }
    stem = path.stem
    work_dir = out / f"{stem}.tiles"
    out.mkdir(parents=True, exist_ok=True)
    _prepare_work_dir(work_dir, manifest, overwrite=overwrite)

    # --- segment the tiles not done yet -------------------------------------------------------
    jobs = [
        TileJob(str(path.resolve()), mpp, magnification, downsample, work_mpp, job_segmenter, label, t,
                str(work_dir / f"{t.name}.npz"), overview_scale, id_seed=f"{path.name}:{the_region}")
        for t in tissue_tiles
    ]
    pending = [j for j in jobs if not Path(j.result).is_file()]
    failures: list[str] = []
    segment_s = tile_s = 0.0
    if pending:
        owned = isinstance(executor, str)
        runner = nucbench.create("executor", executor, **dict(executor_params or {})) if owned else executor
        start = time.perf_counter()
        try:
            bar = tqdm(total=len(jobs), initial=len(jobs) - len(pending), desc=f"{path.name} tiles",
                       unit="tile", disable=not progress)
            with bar:
                for outcome in runner.imap(run_tile, pending):
                    if outcome.ok:
                        tile_s += outcome.value.seconds
                    else:
                        failures.append(f"tile {pending[outcome.index].tile.name}: {outcome.error}")
                    bar.update(1)
        finally:
            if owned:
                runner.close()
        segment_s = time.perf_counter() - start
    if failures:
        errors = work_dir / "errors.txt"
        errors.write_text("\n\n".join(failures) + "\n")
        first = failures[0].splitlines()[0]
        raise NucbenchError(
            f"{path}: {len(failures)} of {len(jobs)} tiles failed ({first}); all errors are in {errors}. "
            "The finished tiles are kept: run the same command again to resume"
        )

    # --- merge: stream the tile files into the outputs ----------------------------------------
    start = time.perf_counter()
    geojson, csv_path, overlay = (out / f"{stem}.geojson", out / f"{stem}.csv", out / f"{stem}.overlay.png")
    n_nuclei, n_too_large = _merge(jobs, the_region, downsample, overview_scale, (grid_w, grid_h),
                                   geojson, csv_path, overlay)
    merge_s = time.perf_counter() - start
    megapixels = sum((t.core[2] - t.core[0]) * (t.core[3] - t.core[1]) for t in tissue_tiles) / 1e6
    return SlideResult(geojson, csv_path, overlay, work_dir, n_nuclei, len(tiles), len(tissue_tiles),
                       len(pending), n_too_large, megapixels, segment_s, tile_s, merge_s, magnification,
                       work_mpp)


def _level0_tile(tile: SlideTile, downsample: float) -> Any:
    from nucbench.data.tissue import Tile

    return Tile(tile.col, tile.row, tile.x, tile.y, tile.w, tile.h, downsample)


def _merge(jobs: Sequence[TileJob], region: tuple[int, int, int, int], downsample: float,
           overview_scale: float, grid_size: tuple[int, int], geojson: Path, csv_path: Path,
           overlay: Path) -> tuple[int, int]:
    """Stream the tile files, in tile order, into the GeoJSON, the CSV and the overlay."""
    from nucbench.export import MEASUREMENTS, DetectionWriter, OverlayCanvas, TableWriter

    header = ["id", "tile", "centroid_x", "centroid_y", *(name for name, _ in MEASUREMENTS)]
    canvas = OverlayCanvas(round(grid_size[0] / overview_scale), round(grid_size[1] / overview_scale))
    to_overview = downsample * overview_scale
    n_nuclei = n_too_large = 0
    with DetectionWriter(geojson) as features, TableWriter(csv_path, header) as table:
        for job in jobs:
            try:
                with np.load(job.result) as data:
                    rings, offsets, counts = data["rings"], data["offsets"], data["counts"]
                    encoded = data["features"].tobytes().decode("utf-8")
                    rows = data["rows"].tobytes().decode("utf-8")
                    overview, corner = data["overview"], data["overview_corner"]
            except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
                raise InputError(
                    f"{job.result}: unreadable tile result ({exc}); delete it and run again to redo the tile"
                ) from None
            n = len(offsets) - 1
            n_too_large += int(counts[2])
            if overview.size:
                canvas.paste(overview, (int(corner[0]), int(corner[1])))
            features.add_encoded(encoded, n)
            for row in rows.split("\n") if n else ():
                n_nuclei += 1
                table.add_line(f"{n_nuclei},{row}")
            for i in range(n):
                canvas.draw_ring((rings[offsets[i]:offsets[i + 1]] - (region[0], region[1])) / to_overview)
        canvas.save(overlay)
    return n_nuclei, n_too_large


# ---------------------------------------------------------------------------------------------
# Command line: the slide part of ``nucbench segment``.


def add_slide_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the whole-slide options to ``nucbench segment``'s parser (one argument group)."""
    group = parser.add_argument_group(
        "whole-slide inputs",
        "Slides (.svs, .ndpi, .mrxs, .scn, tiled pyramidal .tif, ...: whatever OpenSlide opens) are "
        "segmented tile by tile and written as DIR/<stem>.geojson (QuPath detections, level-0 "
        "coordinates), DIR/<stem>.csv (one row per nucleus), DIR/<stem>.overlay.png, with per-tile "
        "results in DIR/<stem>.tiles/ so that an interrupted run resumes. --mpp gives a slide's "
        "level-0 µm per pixel when its metadata has none.",
    )
    group.add_argument("--magnification", type=float, metavar="X",
                       help="working magnification, e.g. 40 or 20 (default: the slide's own, level 0)")
    group.add_argument("--region", metavar="x,y,w,h",
                       help="segment only this rectangle, in level-0 pixels (default: the whole slide)")
    group.add_argument("--tile-size", type=int, default=1024, metavar="PX",
                       help="tile stride in pixels at the working magnification (default 1024)")
    group.add_argument("--overlap", type=int, default=64, metavar="PX",
                       help="pixels each tile extends into its neighbours; must exceed the largest "
                            "nucleus diameter (default 64)")
    group.add_argument("--min-tissue", type=float, default=0.01, metavar="FRACTION",
                       help="skip tiles with less tissue than this (HSV mask; default 0.01)")
    add_executor_options(group, executor_help="run tiles with this executor: local (default) or dask")


def run_slide_inputs(args: argparse.Namespace, slides: Sequence[Path], segmenter: str,
                     params: Mapping[str, Any]) -> list[SlideResult]:
    """Segment `slides` as ``nucbench segment`` was asked to; print one summary line per slide.

    Raises
    ------
    InputError
        For a bad ``--region`` or executor options that do not go together (and every error of
        :func:`segment_slide`).
    """
    import sys

    name, given = executor_choice(args)
    name = name or "local"
    region = parse_region(args.region) if args.region else None
    if region is not None and len(slides) > 1:
        raise InputError("--region applies to one slide; give a single slide with it")
    results = []
    for slide in slides:
        result = segment_slide(
            slide, segmenter, args.out, params=params, plugins=getattr(args, "plugin", None) or (),
            magnification=args.magnification, mpp=args.mpp, region=region, tile_size=args.tile_size,
            overlap=args.overlap, min_tissue=args.min_tissue, executor=name, executor_params=given,
            overwrite=args.overwrite, progress=sys.stderr.isatty(),
        )
        print(f"{slide}: {result.n_nuclei} nuclei from {result.n_tissue_tiles} tissue tiles "
              f"({result.n_computed} segmented now) at {result.magnification:g}x → {result.geojson}, "
              f"{result.csv.name}, {result.overlay.name}")
        if result.n_too_large:
            print(f"{slide}: warning: {result.n_too_large} object(s) larger than the overlap were dropped; "
                  f"raise --overlap (now {args.overlap}) above the largest nucleus diameter", file=sys.stderr)
        results.append(result)
    return results
