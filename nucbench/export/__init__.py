"""Exports a pathologist can open: QuPath GeoJSON detections, measurement CSVs, overlay pictures.

Label images are written by :func:`nucbench.data.io.write_label_image`.
"""

from nucbench.export.geojson import NUCLEUS_CLASS, DetectionWriter, detection_feature, object_uuid
from nucbench.export.measurements import MEASUREMENTS, measure_nuclei
from nucbench.export.overlay import OverlayCanvas
from nucbench.export.polygons import (
    clean_polygon,
    clean_polygons,
    label_outlines,
    mask_to_polygon,
    rings_to_polygons,
)
from nucbench.export.table import TableWriter, format_row

__all__ = [
    "MEASUREMENTS",
    "NUCLEUS_CLASS",
    "DetectionWriter",
    "OverlayCanvas",
    "TableWriter",
    "clean_polygon",
    "clean_polygons",
    "detection_feature",
    "format_row",
    "label_outlines",
    "mask_to_polygon",
    "measure_nuclei",
    "object_uuid",
    "rings_to_polygons",
]
