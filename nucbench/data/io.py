"""Read RGB images and instance-label images; write label images atomically.

Every reader validates at the boundary: a missing, unreadable or unexpected file raises
:class:`nucbench.errors.InputError` whose message names the file and says what was seen.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nucbench.atomic import atomic_path
from nucbench.errors import InputError

__all__ = ["read_image", "read_label_image", "write_label_image", "IMAGE_SUFFIXES", "LABEL_SUFFIXES"]

#: File suffixes :func:`read_image` accepts (lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".npy")
#: File suffixes :func:`read_label_image` accepts (lower case).
LABEL_SUFFIXES: tuple[str, ...] = (".png", ".tif", ".tiff", ".npy")

_TIFF = (".tif", ".tiff")


def _check_file(path: str | os.PathLike[str], suffixes: tuple[str, ...], what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected {what} file")
    if path.suffix.lower() not in suffixes:
        raise InputError(
            f"{path}: unsupported {what} format '{path.suffix}'; expected one of {', '.join(suffixes)}"
        )
    return path


def _load_array(path: Path) -> np.ndarray:
    """Decode `path` to an array (first page / frame only), or raise InputError naming it."""
    array = _decode(path)
    if array.size == 0:
        raise InputError(f"{path}: cannot read it as an image (no image data)")
    return array


def _decode(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix in _TIFF:
            import tifffile

            try:
                return tifffile.imread(path, key=0)
            except Exception:
                pass  # let Pillow try (old-style JPEG and other codecs); its error is reported
        from PIL import Image

        with Image.open(path) as im:
            im.load()
            if im.mode in ("P", "PA"):
                im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
            return np.asarray(im)
    except Exception as exc:  # every decoder has its own exception types
        raise InputError(f"{path}: cannot read it as an image ({type(exc).__name__}: {exc})") from None


def _to_uint8(array: np.ndarray, path: Path) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    raise InputError(f"{path}: image has dtype {array.dtype}; expected 8- or 16-bit unsigned integers")


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as H×W×3 RGB uint8.

    Parameters
    ----------
    path : str or path-like
        PNG, TIFF, JPEG, BMP or NPY file. Only the first page of a multi-page TIFF is read.

    Returns
    -------
    ndarray
        H×W×3 uint8. Grey images are replicated to three channels, RGBA (and grey + alpha) are
        composited over white, 16-bit images are scaled to 8 bits (``round(v / 257)``).

    Raises
    ------
    InputError
        If the file is missing, has an unsupported suffix, cannot be decoded, or is not a 2-D
        grey / RGB / RGBA image of unsigned integers (the message names the file).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "grey.npy"
    ...     np.save(path, np.full((2, 3), 7, np.uint8))
    ...     print(read_image(path).shape)
    (2, 3, 3)
    """
    path = _check_file(path, IMAGE_SUFFIXES, "image")
    array = _load_array(path)
    if array.ndim == 3 and array.shape[0] in (3, 4) and array.shape[2] not in (1, 2, 3, 4):
        array = np.moveaxis(array, 0, -1)  # planar (C×H×W) TIFF
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4) or 0 in array.shape:
        raise InputError(
            f"{path}: image has shape {array.shape}; expected H×W (grey), H×W×3 (RGB) or H×W×4 (RGBA)"
        )
    array = _to_uint8(array, path)
    channels = array.shape[2]
    if channels in (2, 4):  # composite over white
        colour = array[..., : channels - 1].astype(np.float32)
        alpha = array[..., channels - 1 :].astype(np.float32) / 255.0
        array = np.rint(colour * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array)


def read_label_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an instance-label image (0 = background) as a 2-D int32 array.

    Parameters
    ----------
    path : str or path-like
        Single-channel PNG (8/16-bit), TIFF (8/16/32-bit) or NPY file of integer labels. A bool
        mask is read as 0/1.

    Returns
    -------
    ndarray
        H×W int32 labels, ids as stored (they need not be contiguous).

    Raises
    ------
    InputError
        If the file is missing or unreadable, has more than one channel (e.g. a colour-coded
        mask: see :func:`nucbench.data.annotations.labels_from_colour_mask`), holds
        non-integer or negative values, or ids above 2**31 - 1.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "labels.npy"
    ...     np.save(path, np.array([[0, 3], [3, 9]], np.uint16))
    ...     print(read_label_image(path).tolist())
    [[0, 3], [3, 9]]
    """
    path = _check_file(path, LABEL_SUFFIXES, "label image")
    array = _load_array(path)
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[2]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:2])
    if array.ndim != 2 or 0 in array.shape:
        raise InputError(
            f"{path}: label image has shape {array.shape}; expected a single-channel H×W image of "
            "integer instance ids (a colour-coded mask needs labels_from_colour_mask)"
        )
    if array.dtype == bool:
        return array.astype(np.int32)
    if not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{path}: label image has dtype {array.dtype}; expected integer instance ids")
    if array.size and array.min() < 0:
        raise InputError(f"{path}: label image has negative ids (min {array.min()}); expected ids ≥ 0")
    if array.size and int(array.max()) > np.iinfo(np.int32).max:
        raise InputError(f"{path}: label image has ids above 2**31 - 1 (max {array.max()})")
    return array.astype(np.int32, copy=False)


def write_label_image(path: str | os.PathLike[str], labels: np.ndarray) -> Path:
    """Write instance labels as a 16-bit PNG, or a 32-bit TIFF when ids exceed 65535.

    The file is written under a temporary name in the same folder and renamed into place, so an
    interrupted write never leaves a partial file under the final name. Parent folders are created.

    Parameters
    ----------
    path : str or path-like
        Destination. ``.png``: 16-bit PNG, or the same stem with suffix ``.tif`` (32-bit) when the
        largest id is above 65535. ``.tif``/``.tiff``: TIFF, 16-bit when the ids fit, else 32-bit
        (zlib compressed). ``.npy``: the int32 array.
    labels : ndarray
        H×W non-negative integer (or bool) labels.

    Returns
    -------
    Path
        The path actually written (its suffix may differ from `path`'s, see above).

    Raises
    ------
    InputError
        If `labels` is not 2-D, not integer, negative, or `path` has another suffix.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     print(write_label_image(pathlib.Path(folder) / "a.png", np.array([[0, 70000]])).name)
    a.tif
    """
    path = Path(path)
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise InputError(f"{path}: labels have shape {labels.shape}; expected H×W")
    if labels.dtype == bool:
        labels = labels.astype(np.uint8)
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{path}: labels have dtype {labels.dtype}; expected integer instance ids")
    top = int(labels.max()) if labels.size else 0
    if labels.size and labels.min() < 0:
        raise InputError(f"{path}: labels have negative ids (min {labels.min()})")
    if top > np.iinfo(np.uint32).max:
        raise InputError(f"{path}: labels have ids above 2**32 - 1 (max {top})")
    suffix = path.suffix.lower()
    if suffix not in LABEL_SUFFIXES:
        raise InputError(
            f"{path}: cannot write labels as '{path.suffix}'; use one of {', '.join(LABEL_SUFFIXES)}"
        )
    fits16 = top <= np.iinfo(np.uint16).max
    if suffix == ".png" and not fits16:
        path, suffix = path.with_suffix(".tif"), ".tif"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if suffix == ".png":
            from PIL import Image

            Image.fromarray(labels.astype(np.uint16)).save(tmp, format="PNG")
        elif suffix in _TIFF:
            import tifffile

            tifffile.imwrite(tmp, labels.astype(np.uint16 if fits16 else np.uint32), compression="zlib")
        else:
            with open(tmp, "wb") as fh:
                np.save(fh, labels.astype(np.int32 if top <= np.iinfo(np.int32).max else np.uint32))
    return path
