"""Exports a pathologist can open: QuPath GeoJSON detections, measurement CSVs, overlay pictures.

Label images are written by :func:`nucbench.data.io.write_label_image`.
"""

from nucbench.export.geojson import NUCLEUS_CLASS, DetectionWriter, detection_feature
from nucbench.export.measurements import MEASUREMENTS, measure_nuclei
from nucbench.export.overlay import OverlayCanvas
from nucbench.export.polygons import clean_polygon, clean_polygons, mask_to_polygon
from nucbench.export.table import TableWriter

__all__ = [
    "MEASUREMENTS",
    "NUCLEUS_CLASS",
    "DetectionWriter",
    "OverlayCanvas",
    "TableWriter",
    "clean_polygon",
    "clean_polygons",
    "detection_feature",
    "mask_to_polygon",
    "measure_nuclei",
]
