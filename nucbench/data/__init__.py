"""Data layer: samples, image and annotation reading, dataset roots, slide access, tissue detection,
stain normalisation.

Light to import: the heavy readers (Pillow, tifffile, scikit-image, openslide) load on first use.
"""

from nucbench.data.annotations import (
    count_monuseg_regions,
    labels_from_binary_mask,
    labels_from_colour_mask,
    parse_monuseg_xml,
    read_monuseg_mpp,
    read_monuseg_xml,
)
from nucbench.data.io import IMAGE_SUFFIXES, LABEL_SUFFIXES, read_image, read_label_image, write_label_image
from nucbench.data.roots import DATA_ENV, resolve_data_root
from nucbench.data.sample import Sample
from nucbench.data.slides import Slide, open_slide
from nucbench.data.stain import (
    REINHARD_TARGET_MEAN,
    REINHARD_TARGET_STD,
    hed_jitter,
    hed_to_rgb,
    lab_statistics,
    reinhard_normalise,
    rgb_to_hed,
)
from nucbench.data.tissue import (
    Tile,
    filter_tiles,
    slide_tissue_mask,
    tile_grid,
    tile_tissue_fractions,
    tissue_fraction,
    tissue_mask,
)

__all__ = [
    "DATA_ENV",
    "IMAGE_SUFFIXES",
    "LABEL_SUFFIXES",
    "REINHARD_TARGET_MEAN",
    "REINHARD_TARGET_STD",
    "Sample",
    "Slide",
    "Tile",
    "count_monuseg_regions",
    "filter_tiles",
    "hed_jitter",
    "hed_to_rgb",
    "lab_statistics",
    "labels_from_binary_mask",
    "labels_from_colour_mask",
    "open_slide",
    "parse_monuseg_xml",
    "read_image",
    "read_label_image",
    "read_monuseg_mpp",
    "read_monuseg_xml",
    "reinhard_normalise",
    "resolve_data_root",
    "rgb_to_hed",
    "slide_tissue_mask",
    "tile_grid",
    "tile_tissue_fractions",
    "tissue_fraction",
    "tissue_mask",
    "write_label_image",
]
