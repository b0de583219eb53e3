"""MoNuSeg 2018 (Kumar et al., IEEE TMI 2017/2020): 1000×1000 H&E tiles at 40x with XML nuclei.

Layout (as in ``../shared/data/monuseg``)::

    monuseg/test/images/<case>.tif          14 tiles
    monuseg/test/annotations/<case>.xml     14 Aperio ImageScope XML
    monuseg/train/images/<case>.tif         30 tiles
    monuseg/train/annotations/<case>.xml    13 of 30
    monuseg/train/colour_masks_derived/<case>.png   30 (one colour per nucleus; derived data)
    monuseg/train/binary_masks/<case>.png           30 (0/1; derived data)

The 30 training tiles are split 19 train / 11 validation (the paper's sizes) by the fixed case
lists below. All 11 validation tiles have the organisers' XML, because validation selects the
model and tunes post-processing; they span the five organ groups that have XML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from nucbench import InputError
from nucbench.data import (
    Sample,
    labels_from_binary_mask,
    labels_from_colour_mask,
    read_image,
    read_label_image,
    read_monuseg_mpp,
    read_monuseg_xml,
    resolve_data_root,
)

__all__ = ["MonusegDataset", "SPLITS", "DEFAULT_MPP"]

#: mpp used when a tile's XML gives none (MoNuSeg is scanned at 40x, ≈ 0.25 µm/px).
DEFAULT_MPP = 0.25
MAGNIFICATION = 40.0

#: Validation tiles: 11 of the 13 training tiles with XML, by organ group as MoNuSeg lists them
#: (its "liver" group are TCGA lung projects).
VAL_CASES: tuple[str, ...] = (
    "TCGA-21-5784-01Z-00-DX1",  # liver (MoNuSeg group)
    "TCGA-21-5786-01Z-00-DX1",  # liver
    "TCGA-50-5931-01Z-00-DX1",  # liver
    "TCGA-A7-A13E-01Z-00-DX1",  # breast
    "TCGA-AR-A1AK-01Z-00-DX1",  # breast
    "TCGA-E2-A1B5-01Z-00-DX1",  # breast
    "TCGA-B0-5698-01Z-00-DX1",  # kidney
    "TCGA-B0-5710-01Z-00-DX1",  # kidney
    "TCGA-CH-5767-01Z-00-DX1",  # prostate
    "TCGA-G9-6362-01Z-00-DX1",  # prostate
    "TCGA-NH-A8F7-01A-01-TS1",  # colon
)

#: Training tiles: the other 19 (17 without XML, plus AR-A1AS and B0-5711 which have it).
TRAIN_CASES: tuple[str, ...] = (
    "TCGA-18-5592-01Z-00-DX1",  # liver
    "TCGA-38-6178-01Z-00-DX1",  # liver
    "TCGA-49-4488-01Z-00-DX1",  # liver
    "TCGA-A7-A13F-01Z-00-DX1",  # breast
    "TCGA-AR-A1AS-01Z-00-DX1",  # breast (has XML)
    "TCGA-E2-A14V-01Z-00-DX1",  # breast
    "TCGA-B0-5711-01Z-00-DX1",  # kidney (has XML)
    "TCGA-HE-7128-01Z-00-DX1",  # kidney
    "TCGA-HE-7129-01Z-00-DX1",  # kidney
    "TCGA-HE-7130-01Z-00-DX1",  # kidney
    "TCGA-G9-6336-01Z-00-DX1",  # prostate
    "TCGA-G9-6348-01Z-00-DX1",  # prostate
    "TCGA-G9-6356-01Z-00-DX1",  # prostate
    "TCGA-G9-6363-01Z-00-DX1",  # prostate
    "TCGA-DK-A2I6-01A-01-TS1",  # bladder
    "TCGA-G2-A2EK-01A-02-TSB",  # bladder
    "TCGA-AY-A8YK-01A-01-TS1",  # colon
    "TCGA-KB-A93J-01A-01-TS1",  # stomach
    "TCGA-RD-A8N9-01A-01-TS1",  # stomach
)

#: The 14 test tiles (evaluation only).
TEST_CASES: tuple[str, ...] = (
    "TCGA-2Z-A9J9-01A-01-TS1",
    "TCGA-44-2665-01B-06-BS6",
    "TCGA-69-7764-01A-01-TS1",
    "TCGA-A6-6782-01A-01-BS1",
    "TCGA-AC-A2FO-01A-01-TS1",
    "TCGA-AO-A0J2-01A-01-BSA",
    "TCGA-CU-A0YN-01A-02-BSB",
    "TCGA-EJ-A46H-01A-03-TSC",
    "TCGA-FG-A4MU-01B-01-TS1",
    "TCGA-GL-6846-01A-01-BS1",
    "TCGA-HC-7209-01A-01-TS1",
    "TCGA-HT-8564-01Z-00-DX1",
    "TCGA-IZ-8196-01A-01-BS1",
    "TCGA-ZF-A9R5-01A-01-TS1",
)

#: split name → (folder under monuseg/, case ids).
SPLITS: dict[str, tuple[str, tuple[str, ...]]] = {
    "train": ("train", TRAIN_CASES),
    "val": ("train", VAL_CASES),
    "train-all": ("train", tuple(sorted(TRAIN_CASES + VAL_CASES))),
    "test": ("test", TEST_CASES),
}

LabelSource = Literal["xml", "colour", "binary", "none"]


class MonusegDataset:
    """MoNuSeg 2018 tiles (40x, 1000×1000) with nuclei instance labels, loaded lazily.

    Parameters
    ----------
    root : str, optional
        The folder holding ``monuseg/`` (or the ``monuseg`` folder itself). Default: the
        ``NUCBENCH_DATA`` environment variable.
    split : {'test', 'train', 'val', 'train-all'}, optional
        ``test`` (14 tiles, default), ``train`` (19), ``val`` (11, all with XML) or ``train-all``
        (the 30 training tiles). The train/val case lists are fixed (``SPLITS``).
    labels : {'xml', 'colour', 'binary', 'none'}, optional
        ``xml`` (default): the organisers' XML polygons where the tile has them (every test and
        validation tile), else the derived colour mask. ``colour``: instances = 8-connected pixels
        of one colour in ``colour_masks_derived`` (training tiles only). ``binary``: 4-connected
        components of ``binary_masks`` (touching nuclei merge; training tiles only). ``none``:
        images only (self-supervised training).

    Notes
    -----
    A sample's ``mpp`` is the XML's ``MicronsPerPixel`` (0.2456–0.2527), else 0.25; its
    magnification is 40; its ``id`` is the case id (file stem). Nothing is cached: each
    ``dataset[i]`` reads the files again.

    References
    ----------
    Kumar et al., "A Dataset and a Technique for Generalized Nuclear Segmentation for
    Computational Pathology", IEEE TMI 36(7), 2017.
    """

    def __init__(self, root: str | None = None, split: Literal["test", "train", "val", "train-all"] = "test",
                 labels: LabelSource = "xml") -> None:
        base = resolve_data_root(root, dataset="monuseg")
        if (base / "monuseg").is_dir():
            base = base / "monuseg"
        elif not ((base / "train").is_dir() or (base / "test").is_dir()):
            raise InputError(f"{base / 'monuseg'}: dataset 'monuseg' folder not found")
        if split not in SPLITS:  # the registry validates; direct construction is checked here
            raise InputError(f"monuseg: unknown split '{split}'; expected one of {', '.join(SPLITS)}")
        folder, cases = SPLITS[split]
        self.folder = base / folder
        self.split = split
        self.labels = labels
        if folder == "test" and labels in ("colour", "binary"):
            raise InputError(f"{self.folder}: the test split has only XML labels; use labels='xml' or 'none'")
        images = self.folder / "images"
        if not images.is_dir():
            raise InputError(f"{images}: dataset 'monuseg' folder not found")
        missing = [c for c in cases if not (images / f"{c}.tif").is_file()]
        if missing:
            raise InputError(
                f"{images}: monuseg split '{split}' lacks {len(missing)} of {len(cases)} tiles "
                f"(e.g. {missing[0]}.tif)"
            )
        self.ids: tuple[str, ...] = tuple(cases)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return (f"MonusegDataset(split={self.split!r}, labels={self.labels!r}, n={len(self)}, "
                f"folder='{self.folder}')")

    def image_path(self, index: int) -> Path:
        """The ``.tif`` of sample `index`."""
        return self.folder / "images" / f"{self.ids[index]}.tif"

    def xml_path(self, index: int) -> Path | None:
        """The XML of sample `index`, or ``None`` when the tile has none."""
        path = self.folder / "annotations" / f"{self.ids[index]}.xml"
        return path if path.is_file() else None

    def label_source(self, index: int) -> str:
        """Where sample `index`'s labels come from: ``xml``, ``colour``, ``binary`` or ``none``."""
        if self.labels == "xml":
            return "xml" if self.xml_path(index) is not None else "colour"
        return self.labels

    def __getitem__(self, index: int) -> Sample:
        if not -len(self) <= index < len(self):
            raise IndexError(f"monuseg '{self.split}' has {len(self)} samples; index {index} is out of range")
        index %= len(self)
        case = self.ids[index]
        image = read_image(self.image_path(index))
        xml = self.xml_path(index)
        mpp = (read_monuseg_mpp(xml) if xml is not None else None) or DEFAULT_MPP
        source = self.label_source(index)
        labels: np.ndarray | None
        if source == "none":
            labels = None
        elif source == "xml":
            labels = read_monuseg_xml(xml, image.shape[:2])
        elif source == "colour":
            mask_path = self.folder / "colour_masks_derived" / f"{case}.png"
            labels = labels_from_colour_mask(read_image(mask_path))
            _check_shape(labels, image, mask_path, self.image_path(index))
        else:
            mask_path = self.folder / "binary_masks" / f"{case}.png"
            labels = labels_from_binary_mask(read_label_image(mask_path))
            _check_shape(labels, image, mask_path, self.image_path(index))
        return Sample(image=image, labels=labels, mpp=mpp, magnification=MAGNIFICATION, id=case)


def _check_shape(labels: np.ndarray, image: np.ndarray, mask_path: Path, image_path: Path) -> None:
    if labels.shape != image.shape[:2]:
        raise InputError(
            f"{mask_path}: mask is {labels.shape[0]}×{labels.shape[1]} but its image {image_path} is "
            f"{image.shape[0]}×{image.shape[1]}"
        )
