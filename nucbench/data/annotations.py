"""Instance labels from annotations: MoNuSeg (Aperio ImageScope XML) polygons and derived masks.

The project's ground-truth convention (DESIGN.md) is: each ``Region`` of a MoNuSeg XML is one
instance, id 1..n in file order, filled with :func:`skimage.draw.polygon` on the raw float vertex
coordinates (``rows=Y``, ``cols=X``), a later region overwriting an earlier one where they overlap.
Every scorer in nucbench reads the XML through :func:`read_monuseg_xml`, so that all agree.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nucbench.errors import InputError

__all__ = [
    "MonusegRegion",
    "parse_monuseg_xml",
    "read_monuseg_xml",
    "read_monuseg_mpp",
    "count_monuseg_regions",
    "labels_from_colour_mask",
    "labels_from_binary_mask",
]


@dataclass(frozen=True)
class MonusegRegion:
    """One annotated nucleus: its XML ``Id`` and polygon vertices in pixels (float).

    Attributes
    ----------
    region_id : str
        The ``Id`` attribute of the ``Region`` element (for messages; not the label id).
    x, y : ndarray
        Vertex columns and rows, float64, in polygon order.
    """

    region_id: str
    x: np.ndarray
    y: np.ndarray


def _parse(path: str | os.PathLike[str]) -> tuple[ET.Element, Path]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected a MoNuSeg XML annotation file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: annotation file is empty; expected Aperio ImageScope XML")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"{path}: not valid XML ({exc})") from None
    if root.tag != "Annotations":
        raise InputError(
            f"{path}: root element is <{root.tag}>; expected <Annotations> (Aperio ImageScope XML)"
        )
    return root, path


def _regions(root: ET.Element) -> list[ET.Element]:
    return root.findall("./Annotation/Regions/Region")


def parse_monuseg_xml(path: str | os.PathLike[str]) -> list[MonusegRegion]:
    """Read the polygons of a MoNuSeg / Aperio ImageScope XML file, in file order.

    Parameters
    ----------
    path : str or path-like
        The ``.xml`` file.

    Returns
    -------
    list of MonusegRegion
        One per ``Region`` element (``RegionAttributeHeaders`` is not a region).

    Raises
    ------
    InputError
        If the file is missing, empty, not XML, not ImageScope XML, has no ``Region``, or a region
        has no vertices or a vertex without numeric ``X``/``Y`` (the message names the file and
        the region's ``Id``).
    """
    root, path = _parse(path)
    elements = _regions(root)
    if not elements:
        raise InputError(f"{path}: no <Region> elements (no nuclei annotated); expected at least one")
    regions = []
    for element in elements:
        region_id = element.get("Id", "?")
        vertices = element.findall("./Vertices/Vertex")
        if not vertices:
            raise InputError(f"{path}: Region Id={region_id} has no vertices")
        try:
            x = np.array([float(v.attrib["X"]) for v in vertices])
            y = np.array([float(v.attrib["Y"]) for v in vertices])
        except (KeyError, ValueError) as exc:
            raise InputError(
                f"{path}: Region Id={region_id} has a vertex without a numeric X/Y ({exc})"
            ) from None
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise InputError(f"{path}: Region Id={region_id} has a non-finite vertex coordinate")
        regions.append(MonusegRegion(region_id, x, y))
    return regions


def read_monuseg_xml(path: str | os.PathLike[str], shape: tuple[int, int]) -> np.ndarray:
    """Rasterise a MoNuSeg XML file into instance labels.

    Parameters
    ----------
    path : str or path-like
        Aperio ImageScope XML (``Annotations/Annotation/Regions/Region/Vertices/Vertex``).
    shape : tuple of int
        ``(H, W)`` of the image the annotation belongs to (1000×1000 for MoNuSeg tiles).

    Returns
    -------
    ndarray
        H×W int32 labels: region k of the file (1-based, file order) has id k, 0 = background.
        Each polygon is filled with ``skimage.draw.polygon(rows=Y, cols=X, shape)`` on the raw
        float coordinates, clipped to the image; a later region overwrites an earlier one.

    Raises
    ------
    InputError
        As :func:`parse_monuseg_xml`, and if a polygon lies entirely outside the image.

    Notes
    -----
    The number of distinct ids equals :func:`count_monuseg_regions` unless a region is entirely
    covered by later ones or encloses no pixel centre. In MoNuSeg 2018 the 14 test files match
    exactly (6,697 regions); two training files each hold one zero-area region (two vertices,
    ``Area="0.0"``: a stray click, not a nucleus), so TCGA-50-5931 gives 444 ids for 445 regions
    and TCGA-E2-A1B5 328 for 329.
    """
    from skimage.draw import polygon

    height, width = (int(s) for s in shape)
    if height <= 0 or width <= 0:
        raise InputError(f"{path}: image shape must be positive (H, W); got {tuple(shape)}")
    regions = parse_monuseg_xml(path)
    labels = np.zeros((height, width), dtype=np.int32)
    for label, region in enumerate(regions, start=1):
        if (
            region.x.max() < 0
            or region.y.max() < 0
            or region.x.min() > width - 1
            or region.y.min() > height - 1
        ):
            raise InputError(
                f"{path}: Region Id={region.region_id} lies entirely outside the {height}×{width} "
                f"image (X {region.x.min():g}..{region.x.max():g}, Y {region.y.min():g}.."
                f"{region.y.max():g}); is this the annotation of another image?"
            )
        rows, cols = polygon(region.y, region.x, shape=(height, width))
        labels[rows, cols] = label
    return labels


def read_monuseg_mpp(path: str | os.PathLike[str]) -> float | None:
    """The ``MicronsPerPixel`` attribute of the XML root, or ``None`` when absent or not positive.

    Raises
    ------
    InputError
        If the file is missing, empty or not ImageScope XML.
    """
    root, _ = _parse(path)
    try:
        mpp = float(root.get("MicronsPerPixel", ""))
    except ValueError:
        return None
    return mpp if np.isfinite(mpp) and mpp > 0 else None


def count_monuseg_regions(path: str | os.PathLike[str]) -> int:
    """Number of ``Region`` elements (annotated nuclei) in a MoNuSeg XML file.

    Raises
    ------
    InputError
        If the file is missing, empty or not ImageScope XML.
    """
    root, _ = _parse(path)
    return len(_regions(root))


def labels_from_colour_mask(mask: np.ndarray, *, background: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """Instance labels from a colour-coded mask: an instance is an 8-connected set of one colour.

    Parameters
    ----------
    mask : ndarray
        H×W×3 (or H×W×4, alpha ignored) uint8 image, each nucleus painted in its own colour.
    background : tuple of int, optional
        The background colour (black by default).

    Returns
    -------
    ndarray
        H×W int32 labels, ids 1..n in raster order of each instance's first pixel.

    Notes
    -----
    8-connectivity, because on MoNuSeg's derived colour masks it keeps the number of components
    close to the number of colours (TCGA-21-5784: 447 colours, 448 8-connected components, 461
    4-connected ones); the masks still hold more instances than the XML (398 regions).

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((3, 4, 3), np.uint8)
    >>> m[0, 0:2] = (255, 0, 0); m[0, 2:4] = (0, 255, 0); m[2, 0] = (255, 0, 0)
    >>> labels_from_colour_mask(m).tolist()
    [[1, 1, 2, 2], [0, 0, 0, 0], [3, 0, 0, 0]]
    """
    from skimage.measure import label

    mask = np.asarray(mask)
    if mask.ndim != 3 or mask.shape[2] not in (3, 4):
        raise InputError(f"colour mask has shape {mask.shape}; expected H×W×3")
    rgb = mask[..., :3].astype(np.int64)
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    bg = (int(background[0]) << 16) | (int(background[1]) << 8) | int(background[2])
    code = np.where(code == bg, 0, code + 1)
    return label(code, background=0, connectivity=2).astype(np.int32)


def labels_from_binary_mask(mask: np.ndarray) -> np.ndarray:
    """Instance labels from a 0/1 mask: an instance is a 4-connected foreground component.

    Touching nuclei merge into one instance, so such labels are only an approximation.

    Examples
    --------
    >>> import numpy as np
    >>> labels_from_binary_mask(np.array([[1, 0, 1], [1, 0, 0]])).tolist()
    [[1, 0, 2], [1, 0, 0]]
    """
    from skimage.measure import label

    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[..., 0]
    return label(mask > 0, background=0, connectivity=1).astype(np.int32)
