"""QuPath-compatible GeoJSON: nuclei as ``detection`` objects, streamed to disk and written atomically.

QuPath (0.3 and later) imports a GeoJSON FeatureCollection by *File → Import objects* or by dragging
the file onto the open slide. Each Feature is one object; QuPath reads ``properties.objectType``
(``"detection"``), ``properties.classification`` (``{"name", "color"}``) and
``properties.measurements`` (name → number). Coordinates are level-0 pixels of the slide, x to the
right and y down, a pixel ``(row, col)`` covering ``[col, col+1) × [row, row+1)``.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from nucbench.atomic import atomic_path

__all__ = ["DetectionWriter", "detection_feature", "object_uuid", "NUCLEUS_CLASS"]

#: The classification given to every nucleus: QuPath's built-in "Nucleus"-like class, in blue.
NUCLEUS_CLASS: dict[str, Any] = {"name": "Nucleus", "color": [32, 96, 255]}

_NAMESPACE = uuid.UUID("6f1a3c52-8d0e-4b57-9a3e-2f4d1c7b9e10")


def _number(value: float) -> float | None:
    value = float(value)
    return float(f"{value:.6g}") if math.isfinite(value) else None


def object_uuid(seed: str, key: object) -> str:
    """A deterministic UUID for the object `key` of an output named by `seed` (QuPath's ``id``).

    Examples
    --------
    >>> object_uuid("slide.svs", 0) == object_uuid("slide.svs", 0) != object_uuid("slide.svs", 1)
    True
    """
    return str(uuid.uuid5(_NAMESPACE, f"{seed}:{key}"))


def detection_feature(ring: np.ndarray, measurements: Mapping[str, float], *,
                      classification: Mapping[str, Any] = NUCLEUS_CLASS, object_id: str | None = None,
                      decimals: int = 2) -> dict[str, Any]:
    """One QuPath detection as a GeoJSON Feature.

    Parameters
    ----------
    ring : ndarray
        N×2 ``(x, y)`` exterior ring in level-0 pixels, closed (first = last); see
        :func:`nucbench.export.polygons.clean_polygon` for a valid one.
    measurements : mapping of str to float
        Name → value, shown by QuPath in the object's measurement table; kept to 6 significant
        digits. Non-finite values become ``null``.
    classification : mapping, optional
        ``{"name": ..., "color": [r, g, b]}``, default :data:`NUCLEUS_CLASS`.
    object_id : str, optional
        The Feature's ``id`` (QuPath keeps a UUID there).
    decimals : int, optional
        Coordinates are rounded to this many decimals (default 2).

    Examples
    --------
    >>> import numpy as np
    >>> ring = np.array([[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]], float)
    >>> feature = detection_feature(ring, {"Area µm^2": 1.0})
    >>> feature["properties"]["objectType"], feature["geometry"]["coordinates"][0][1]
    ('detection', [2.0, 0.0])
    """
    coords = np.round(np.asarray(ring, dtype=float), decimals).tolist()
    feature: dict[str, Any] = {"type": "Feature"}
    if object_id is not None:
        feature["id"] = object_id
    feature["geometry"] = {"type": "Polygon", "coordinates": [coords]}
    feature["properties"] = {
        "objectType": "detection",
        "classification": dict(classification),
        "measurements": {name: _number(value) for name, value in measurements.items()},
    }
    return feature


class DetectionWriter:
    """Stream detections into a GeoJSON FeatureCollection at `path`, atomically.

    Features go to a temporary file beside `path`; leaving the ``with`` block normally renames it
    to `path`, an exception removes it, so `path` is either complete or untouched.

    Parameters
    ----------
    path : str or path-like
        The ``.geojson`` file to write.
    classification : mapping, optional
        Classification of every detection (default :data:`NUCLEUS_CLASS`).
    id_seed : str, optional
        Feature ids are UUIDs derived from this string and the running count, so that the same
        input gives the same ids (default: the file name).

    Examples
    --------
    >>> import json, tempfile, pathlib, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "nuclei.geojson"
    >>> with DetectionWriter(path) as out:
    ...     out.add(np.array([[0, 0], [1, 0], [1, 1], [0, 0]]), {"Area µm^2": 0.5})
    >>> len(json.loads(path.read_text())["features"])
    1
    """

    def __init__(self, path: str | os.PathLike[str], *, classification: Mapping[str, Any] = NUCLEUS_CLASS,
                 id_seed: str | None = None) -> None:
        self.path = Path(path)
        self.classification = dict(classification)
        self.id_seed = id_seed if id_seed is not None else self.path.name
        self.count = 0
        self._stack = ExitStack()
        self._file: IO[str] | None = None

    def __enter__(self) -> DetectionWriter:
        with ExitStack() as stack:
            tmp = stack.enter_context(atomic_path(self.path))
            self._file = stack.enter_context(open(tmp, "w", encoding="utf-8"))
            self._stack = stack.pop_all()
        self._file.write('{"type": "FeatureCollection", "features": [')
        return self

    def add(self, ring: np.ndarray, measurements: Mapping[str, float], *,
            object_id: str | None = None) -> None:
        """Append one detection (see :func:`detection_feature`); its id defaults to one from `id_seed`."""
        if object_id is None:
            object_id = object_uuid(self.id_seed, self.count)
        feature = detection_feature(ring, measurements, classification=self.classification,
                                    object_id=object_id)
        self.add_encoded(json.dumps(feature, ensure_ascii=False), 1)

    def add_encoded(self, text: str, n: int) -> None:
        """Append `n` detections already encoded as JSON Features joined by ``",\\n"``.

        This lets workers encode their tiles' features in parallel while one writer streams them.
        """
        assert self._file is not None, "use DetectionWriter in a with block"
        if n:
            self._file.write(("\n" if self.count == 0 else ",\n") + text)
            self.count += n

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._file is not None
        if exc_type is not None:
            self._stack.__exit__(exc_type, exc, tb)
            return
        with self._stack:  # an error in the closing write still removes the temporary file
            self._file.write("\n]}\n")


