"""Segment image files with a segmenter: what ``nucbench segment`` does for images.

- :func:`classify_input` is the one place where an input path is classified (an image file, a
  folder of them, or a whole slide); the command dispatches on its answer.
- :func:`expand_inputs` turns files and folders into the list of inputs, in order.
- :func:`segment_paths` runs a segmenter over image files and writes ``<out>/<stem>.png``
  (16-bit instance labels, or ``.tif`` 32-bit above 65535 objects) atomically, skipping inputs
  already done unless asked to overwrite.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nucbench.errors import InputError

__all__ = [
    "InputKind",
    "IMAGE_SUFFIXES",
    "SLIDE_SUFFIXES",
    "classify_input",
    "expand_inputs",
    "check_segmenter_output",
    "output_path",
    "segment_paths",
]

#: Image files ``nucbench segment`` reads (PNG, TIFF, JPEG).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
#: Whole-slide formats (OpenSlide).
SLIDE_SUFFIXES: tuple[str, ...] = (".svs", ".ndpi", ".mrxs", ".scn", ".vms", ".vmu", ".svslide", ".bif")
#: Label outputs a previous run may have written for a stem.
_OUTPUT_SUFFIXES: tuple[str, ...] = (".png", ".tif")


class InputKind(enum.Enum):
    """What an input path is."""

    IMAGE = "image"
    FOLDER = "folder"
    SLIDE = "slide"


def classify_input(path: str | os.PathLike[str]) -> InputKind:
    """Classify one input path of ``nucbench segment``.

    Parameters
    ----------
    path : str or path-like
        A file or folder.

    Returns
    -------
    InputKind
        ``FOLDER`` for a directory, ``SLIDE`` for a whole-slide format (:data:`SLIDE_SUFFIXES`,
        or a tiled pyramidal TIFF that OpenSlide opens), ``IMAGE`` for PNG / TIFF / JPEG.

    Raises
    ------
    InputError
        If the path does not exist or has another suffix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     (pathlib.Path(folder) / "tile.png").touch()
    ...     print(classify_input(folder), classify_input(pathlib.Path(folder) / "tile.png"))
    InputKind.FOLDER InputKind.IMAGE
    """
    path = Path(path)
    if path.is_dir():
        return InputKind.FOLDER
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in SLIDE_SUFFIXES:
        return InputKind.SLIDE
    if suffix in (".tif", ".tiff"):
        from nucbench.slide_segment import is_slide_path

        if is_slide_path(path):  # a tiled pyramid that OpenSlide opens
            return InputKind.SLIDE
    if suffix in IMAGE_SUFFIXES:
        return InputKind.IMAGE
    raise InputError(
        f"{path}: unsupported input format '{path.suffix}'; expected an image "
        f"({', '.join(IMAGE_SUFFIXES)}), a whole slide ({', '.join(SLIDE_SUFFIXES)}) or a folder"
    )


def expand_inputs(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, InputKind]]:
    """Files and folders → ``[(file, kind), ...]``: a folder contributes its images and slides.

    A folder is read one level deep, in name order; hidden files and files of other formats in
    it are skipped (a file named explicitly must be supported). An input named twice counts once.

    Raises
    ------
    InputError
        For a missing or unsupported path, or two inputs with the same file stem (they would
        write the same output).
    """
    found: list[tuple[Path, InputKind]] = []
    for raw in paths:
        kind = classify_input(raw)
        if kind is not InputKind.FOLDER:
            found.append((Path(raw), kind))
            continue
        for child in sorted(Path(raw).iterdir()):
            if child.name.startswith(".") or not child.is_file():
                continue
            if child.suffix.lower() in IMAGE_SUFFIXES + SLIDE_SUFFIXES:
                found.append((child, classify_input(child)))
    unique: dict[Path, tuple[Path, InputKind]] = {}
    stems: dict[str, Path] = {}
    for path, kind in found:
        key = path.resolve()
        if key in unique:
            continue
        if path.stem in stems:
            raise InputError(f"{path} and {stems[path.stem]} have the same name '{path.stem}'; "
                             "their outputs would collide: segment them into different --out folders")
        unique[key] = (path, kind)
        stems[path.stem] = path
    return list(unique.values())


def check_segmenter_output(labels: Any, shape: tuple[int, ...], name: str, source: str) -> np.ndarray:
    """Check a segmenter's result for an image of `shape`; return it as an integer array.

    Raises
    ------
    InputError
        Naming the segmenter and what it returned: ``segmenter 'x' returned float64; expected
        integer labels (H×W)``.
    """
    expected = f"expected integer labels ({shape[0]}×{shape[1]})"
    if not isinstance(labels, np.ndarray):
        raise InputError(f"segmenter '{name}' returned {type(labels).__name__} for {source}; {expected}")
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"segmenter '{name}' returned {labels.dtype} for {source}; {expected}")
    if labels.shape != tuple(shape[:2]):
        raise InputError(
            f"segmenter '{name}' returned shape {labels.shape} for {source}; {expected}"
        )
    if labels.size and labels.min() < 0:
        raise InputError(f"segmenter '{name}' returned negative ids for {source}; {expected}")
    return labels


def output_path(out_dir: str | os.PathLike[str], image: str | os.PathLike[str]) -> Path | None:
    """The label file already written for `image` in `out_dir` (``<stem>.png`` or ``.tif``), if any."""
    for suffix in _OUTPUT_SUFFIXES:
        candidate = Path(out_dir) / f"{Path(image).stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def segment_paths(
    segmenter: Any,
    inputs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    mpp: float | None = None,
    name: str | None = None,
    progress: bool = True,
) -> list[Path]:
    """Segment image files and write one instance-label image per input.

    Parameters
    ----------
    segmenter : Segmenter
        Any object with ``segment(image, *, mpp=None) -> labels`` (e.g. from
        ``nucbench.create("segmenter", name)``).
    inputs : sequence of path-like
        Image files (PNG, TIFF, JPEG) or folders of them.
    out_dir : path-like
        Output folder (created). Input ``a/x.tif`` gives ``out_dir/x.png``: 16-bit labels, or
        ``x.tif`` (32-bit) when there are more than 65535 objects.
    overwrite : bool, optional
        Segment again inputs whose output exists (default: skip them, so an interrupted run
        resumes).
    mpp : float, optional
        Microns per pixel of the inputs, passed to the segmenter.
    name : str, optional
        The segmenter's name, for messages (default: its class name).
    progress : bool, optional
        Show a progress bar on stderr.

    Returns
    -------
    list of Path
        The output of every input, in input order (written now or found from before).

    Raises
    ------
    InputError
        For a missing, unsupported or unreadable input, a whole slide (use the slide path), two
        inputs with one stem, or a segmenter result that is not H×W integer labels. Outputs
        already written stay (each is complete: written under a temporary name, then renamed).
    """
    from tqdm.auto import tqdm

    from nucbench.data.io import read_image, write_label_image

    name = name or type(segmenter).__name__
    images = expand_inputs(inputs)
    slides = [str(p) for p, kind in images if kind is InputKind.SLIDE]
    if slides:
        raise InputError(f"{slides[0]}: is a whole slide; segment_paths reads image files only")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped = 0
    bar = tqdm(images, desc=f"segment ({name})", unit="image", disable=not progress)
    for path, _ in bar:
        done = output_path(out, path)
        if done is not None and not overwrite:
            written.append(done)
            skipped += 1
            bar.set_postfix(skipped=skipped)
            continue
        image = read_image(path)
        labels = check_segmenter_output(segmenter.segment(image, mpp=mpp), image.shape, name, str(path))
        target = write_label_image(out / f"{path.stem}.png", labels)
        for suffix in _OUTPUT_SUFFIXES:  # an earlier output of the other format is now stale
            stale = target.with_suffix(suffix)
            if stale != target:
                stale.unlink(missing_ok=True)
        written.append(target)
    return written
