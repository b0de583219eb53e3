"""Rebuild ``data/sample`` from a MoNuSeg 2018 copy: two test tiles, their XML, their label masks.

Usage (from the repository root; MONUSEG is the folder holding ``test/images`` and
``test/annotations``, e.g. ``../shared/data/monuseg``)::

    .venv/bin/python data/sample/make_sample.py MONUSEG

Images are converted losslessly from TIFF to PNG (identical pixels, about half the size). The XML
files are copied unchanged. Each mask is the XML rasterised by ``nucbench.data.read_monuseg_xml``
(one id per Region, in file order) and written as a 16-bit PNG, so that the ``folder`` dataset
reads the sample exactly as the ``monuseg`` dataset reads the full test set.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from nucbench.data import read_image, read_monuseg_xml, write_label_image

#: One test tile each of breast and prostate (two tiles keep the sample at a few MB).
CASES = ("TCGA-AC-A2FO-01A-01-TS1", "TCGA-EJ-A46H-01A-03-TSC")


def main(monuseg: Path, out: Path) -> None:
    for sub in ("images", "masks", "annotations"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for case in CASES:
        image = read_image(monuseg / "test" / "images" / f"{case}.tif")
        Image.fromarray(image).save(out / "images" / f"{case}.png", optimize=True)
        assert np.array_equal(read_image(out / "images" / f"{case}.png"), image)
        xml = monuseg / "test" / "annotations" / f"{case}.xml"
        shutil.copyfile(xml, out / "annotations" / xml.name)
        labels = read_monuseg_xml(xml, image.shape[:2])
        write_label_image(out / "masks" / f"{case}.png", labels)
        print(f"{case}: {int(labels.max())} nuclei")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(__file__).resolve().parent)
