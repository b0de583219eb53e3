"""A generic dataset: an ``images`` folder and a ``masks`` folder whose files share stems.

This is how CPM-15-, CryoNuSeg-, Kumar- or PanNuke-style sets are added without code: export the
images as PNG/TIFF and the instance masks as PNG/TIFF/NPY label images with the same stems, then
name the folder, the magnification and the mpp in the suite YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from nucbench import ConfigError, InputError
from nucbench.data import (
    IMAGE_SUFFIXES,
    LABEL_SUFFIXES,
    Sample,
    labels_from_binary_mask,
    labels_from_colour_mask,
    read_image,
    read_label_image,
    resolve_data_root,
)

__all__ = ["FolderDataset"]

MaskType = Literal["instance", "binary", "colour"]


def _by_stem(folder: Path, suffixes: tuple[str, ...], what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: {what} folder not found")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file() or path.suffix.lower() not in suffixes:
            continue
        if path.stem in found:
            other = found[path.stem].name
            raise InputError(f"{path}: two {what} files share the stem '{path.stem}' ({other})")
        found[path.stem] = path
    return found


class FolderDataset:
    """Images with optional instance masks from two folders, matched by file stem; loaded lazily.

    Parameters
    ----------
    root : str, optional
        The dataset folder. A relative path is taken under ``NUCBENCH_DATA`` when that is set;
        default: ``NUCBENCH_DATA`` itself.
    images : str, optional
        Sub-folder of the images (PNG, TIFF, JPEG, BMP, NPY), default ``images``.
    masks : str, optional
        Sub-folder of the masks, default ``masks``; every image needs a mask with the same stem.
        Give ``""`` for an unlabelled set.
    mask_type : {'instance', 'binary', 'colour'}, optional
        ``instance`` (default): integer label images (PNG/TIFF/NPY, 0 = background).
        ``binary``: 0/non-0 masks, instances = 4-connected components. ``colour``: one colour per
        nucleus, instances = 8-connected pixels of one colour, black = background.
    magnification : float, optional
        Objective magnification of the images (e.g. 40). Default ``10 / mpp`` when `mpp` is given.
    mpp : float, optional
        Microns per pixel. Default ``10 / magnification`` when `magnification` is given
        (40x ≈ 0.25 µm/px).

    Notes
    -----
    Sample ids are the image stems, in sorted order. A mask whose size differs from its image
    raises :class:`nucbench.InputError` naming both files when the sample is read.
    """

    def __init__(self, root: str | None = None, images: str = "images", masks: str = "masks",
                 mask_type: MaskType = "instance", magnification: float | None = None,
                 mpp: float | None = None) -> None:
        for name, value in (("magnification", magnification), ("mpp", mpp)):
            if value is not None and not value > 0:
                raise ConfigError(f"dataset 'folder': {name} must be positive; got {value}")
        if mpp is None and magnification is not None:
            mpp = 10.0 / magnification
        if magnification is None and mpp is not None:
            magnification = 10.0 / mpp
        self.mpp, self.magnification = mpp, magnification
        self.root = resolve_data_root(root, dataset="folder")
        self.mask_type = mask_type
        self._images = _by_stem(self.root / images, IMAGE_SUFFIXES, "images")
        if not self._images:
            raise InputError(
                f"{self.root / images}: no images found (suffixes {', '.join(IMAGE_SUFFIXES)})"
            )
        self._masks: dict[str, Path] = {}
        if masks:
            suffixes = IMAGE_SUFFIXES if mask_type == "colour" else LABEL_SUFFIXES
            self._masks = _by_stem(self.root / masks, suffixes, "masks")
            missing = [s for s in self._images if s not in self._masks]
            if missing:
                raise InputError(
                    f"{self._images[missing[0]]}: no mask with stem '{missing[0]}' in {self.root / masks} "
                    f"({len(missing)} of {len(self._images)} images lack one)"
                )
        self.ids: tuple[str, ...] = tuple(self._images)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"FolderDataset(root='{self.root}', n={len(self)}, labelled={bool(self._masks)})"

    def __getitem__(self, index: int) -> Sample:
        if not -len(self) <= index < len(self):
            raise IndexError(f"folder dataset has {len(self)} samples; index {index} is out of range")
        stem = self.ids[index % len(self)]
        image_path = self._images[stem]
        image = read_image(image_path)
        labels = None
        if self._masks:
            mask_path = self._masks[stem]
            if self.mask_type == "colour":
                labels = labels_from_colour_mask(read_image(mask_path))
            elif self.mask_type == "binary":
                labels = labels_from_binary_mask(read_label_image(mask_path))
            else:
                labels = read_label_image(mask_path)
            if labels.shape != image.shape[:2]:
                raise InputError(
                    f"{mask_path}: mask is {labels.shape[0]}×{labels.shape[1]} but its image {image_path} "
                    f"is {image.shape[0]}×{image.shape[1]}"
                )
        return Sample(image=image, labels=np.asarray(labels) if labels is not None else None,
                      mpp=self.mpp, magnification=self.magnification, id=stem)
