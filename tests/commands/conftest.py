"""Fixtures for the segment / evaluate command tests: a tiny segmenter plugin file, the shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"

#: Test-only segmenters, loaded with --plugin (never part of the product).
SEGMENTER_PLUGIN = '''
import numpy as np
from scipy import ndimage as ndi

from nucbench import hookimpl

CALLS = []


class Dark:
    """Dark pixels (grey below `threshold`), one object per 4-connected component."""

    def __init__(self, threshold: int = 100, offset: int = 0, checkpoint: str | None = None) -> None:
        self.threshold, self.offset, self.checkpoint = threshold, offset, checkpoint

    def segment(self, image, *, mpp=None):
        CALLS.append((image.shape, mpp, self.checkpoint))
        labels, _ = ndi.label(image.mean(axis=2) < self.threshold)
        return np.where(labels > 0, labels + self.offset, 0).astype(np.int32)


class Floaty:
    """Returns probabilities instead of labels (a broken segmenter)."""

    def segment(self, image, *, mpp=None):
        return image.mean(axis=2) / 255.0


class Cropped:
    """Returns labels of the wrong size (a broken segmenter)."""

    def segment(self, image, *, mpp=None):
        return np.zeros((3, 3), np.int32)


@hookimpl
def nucbench_register(registries):
    registries.segmenter.register("dark", Dark)
    registries.segmenter.register("floaty", Floaty)
    registries.segmenter.register("cropped", Cropped)
'''


@pytest.fixture
def plugin_file(tmp_path: Path) -> Path:
    path = tmp_path / "segmenters_plugin.py"
    path.write_text(SEGMENTER_PLUGIN)
    return path


@pytest.fixture(scope="session")
def monuseg_test() -> Path:
    """``<repo>/../shared/data/monuseg/test`` (always present)."""
    folder = DATA_ROOT / "monuseg" / "test"
    assert (folder / "annotations").is_dir(), f"shared data not found at {folder}"
    return folder
