"""Tiled inference with overlap and blending, for fully-convolutional dense predictors of any image size.

A dense predictor maps an N×3×h×w float batch in [0, 1] to N×1×h×w maps. :func:`predict_tiled`
cuts an image of any size into overlapping tiles, runs the predictor on batches of tiles, and
blends the outputs with weights that ramp linearly across the overlap, so tile seams do not show.
Optional test-time augmentation averages over the 8 dihedral transforms. :func:`attention_map`
is the whole inference of an attention network: the confidence map tile by tile (optionally at
another scale), then the activation over the whole map at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["tile_starts", "blend_window", "predict_tiled", "resize_rgb", "attention_map", "DIHEDRAL"]

#: The 8 dihedral transforms as (k rotations by 90°, then transpose?) pairs; index 0 is identity.
DIHEDRAL = tuple((k, t) for t in (False, True) for k in range(4))


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size `tile` covering ``[0, length)`` with at least `overlap` overlap.

    Examples
    --------
    >>> tile_starts(1000, 512, 64)
    [0, 448, 488]
    >>> tile_starts(300, 512, 64)
    [0]
    """
    if length <= tile:
        return [0]
    step = tile - overlap
    if step <= 0:
        raise ValueError(f"overlap {overlap} must be smaller than the tile {tile}")
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def blend_window(height: int, width: int, overlap: int,
                 interior: tuple[bool, bool, bool, bool] = (True, True, True, True)) -> np.ndarray:
    """Weights for one tile: 1 inside; along each edge shared with another tile (`interior`: top,
    bottom, left, right), 0 over the outer ``overlap // 4`` pixels, then a linear ramp to 1.

    Outputs of a fully-convolutional predictor are wrong near a tile's edge (zero padding);
    dropping the outer quarter of the overlap makes tiled output exact when ``overlap // 4`` is at
    least the predictor's receptive-field radius, and the ramp hides any remaining seam.

    Examples
    --------
    >>> blend_window(1, 8, 4, (False, False, True, True)).round(2).tolist()
    [[0.0, 0.25, 0.75, 1.0, 1.0, 0.75, 0.25, 0.0]]
    """
    margin = overlap // 4
    span = max(overlap - 2 * margin, 1)

    def ramp(n: int, low: bool, high: bool) -> np.ndarray:
        i = np.arange(n, dtype=np.float32) + 0.5
        out = np.ones(n, np.float32)
        if overlap > 0 and low:
            out = np.minimum(out, np.clip((i - margin) / span, 0.0, 1.0))
        if overlap > 0 and high:
            out = np.minimum(out, np.clip((n - i - margin) / span, 0.0, 1.0))
        return out

    top, bottom, left, right = interior
    return np.outer(ramp(height, top, bottom), ramp(width, left, right)).astype(np.float32)


def _dihedral(x, k: int, transpose: bool):
    import torch

    if transpose:
        x = x.transpose(-1, -2)
    return torch.rot90(x, k, dims=(-2, -1)) if k else x


def _inverse_dihedral(x, k: int, transpose: bool):
    import torch

    x = torch.rot90(x, -k, dims=(-2, -1)) if k else x
    return x.transpose(-1, -2) if transpose else x


def predict_tiled(
    predict: Callable,
    image: np.ndarray,
    *,
    tile: int = 512,
    overlap: int = 128,
    batch_size: int = 4,
    tta: bool = False,
    channels_last: bool = False,
) -> np.ndarray:
    """Run a dense predictor over an image of any size, tile by tile, and blend the tiles.

    Tiles overlap by at least `overlap` pixels and are blended with :func:`blend_window`; the
    result equals whole-image inference when ``overlap // 4`` covers the receptive-field radius.

    Parameters
    ----------
    predict : callable
        ``predict(batch) -> maps``: N×3×h×w float tensor in [0, 1] → N×1×h×w tensor. Called
        under ``torch.inference_mode``; any autocast is the caller's.
    image : ndarray
        H×W×3, uint8 (scaled to [0, 1]) or float in [0, 1].
    tile : int, optional
        Tile side in pixels (default 512). An image no larger than a tile runs in one piece.
    overlap : int, optional
        Overlap between neighbouring tiles (default 128). Output is exact when ``overlap // 4``
        is at least the predictor's receptive-field radius, and seamless (blended) otherwise.
    batch_size : int, optional
        Tiles per forward pass (default 4).
    tta : bool, optional
        Average over the 8 dihedral transforms of each tile (8× the compute).
    channels_last : bool, optional
        Pass batches in channels-last memory format.

    Returns
    -------
    ndarray
        H×W float32 map.

    Examples
    --------
    >>> import torch
    >>> out = predict_tiled(lambda x: x[:, :1], np.full((40, 50, 3), 0.5, np.float32), tile=16, overlap=4)
    >>> out.shape, float(out.min()), float(out.max())
    ((40, 50), 0.5, 0.5)
    """
    import torch

    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be H×W×3, got shape {image.shape}")
    array = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    height, width = array.shape[:2]
    th, tw = min(tile, height), min(tile, width)
    ys, xs = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    boxes = [(y, x) for y in ys for x in xs]
    out = np.zeros((height, width), np.float32)
    norm = np.zeros((height, width), np.float32)
    pixels = torch.from_numpy(np.ascontiguousarray(array))  # H×W×3
    transforms = DIHEDRAL if tta else DIHEDRAL[:1]
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    windows: dict[tuple[bool, bool, bool, bool], np.ndarray] = {}
    with torch.inference_mode():
        for start in range(0, len(boxes), batch_size):
            chunk = boxes[start : start + batch_size]
            # N×h×w×3 seen as N×3×h×w: already channels-last, so that format costs no copy
            batch = torch.stack([pixels[y : y + th, x : x + tw] for y, x in chunk]).permute(0, 3, 1, 2)
            total = None
            for k, t in transforms:
                inp = _dihedral(batch, k, t).contiguous(memory_format=memory_format)
                pred = _inverse_dihedral(predict(inp).float(), k, t)
                total = pred if total is None else total + pred
            maps = (total / len(transforms) if len(transforms) > 1 else total)[:, 0].numpy()
            for (y, x), m in zip(chunk, maps, strict=True):
                interior = (y > 0, y < ys[-1], x > 0, x < xs[-1])
                if interior not in windows:
                    windows[interior] = blend_window(th, tw, overlap, interior)
                window = windows[interior]
                out[y : y + th, x : x + tw] += m * window
                norm[y : y + th, x : x + tw] += window
    return out / norm


def resize_rgb(image: np.ndarray, scale: float) -> np.ndarray:
    """An H×W×3 uint8 image resized by `scale` (PIL bicubic, anti-aliased when shrinking).

    The new size is ``round(H · scale) × round(W · scale)``, at least 1 × 1.

    Examples
    --------
    >>> resize_rgb(np.zeros((37, 51, 3), np.uint8), 0.5).shape
    (18, 26, 3)
    """
    from PIL import Image

    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))


def attention_map(
    confidence: Callable,
    activation: Callable,
    image: np.ndarray,
    *,
    scale: float = 1.0,
    size: tuple[int, int] | None = None,
    tile: int = 512,
    overlap: int = 128,
    tta: bool = False,
    channels_last: bool = False,
) -> np.ndarray:
    """The attention map A of an RGB image: the confidence tile by tile, then the activation once.

    The activation runs on the blended confidence of the whole image, not tile by tile: an
    activation whose threshold depends on the image (a percentile, an Otsu threshold) then sees the
    same image whatever the tiling, so `tile` and `overlap` change only the speed, and a model
    tuned on whole tiles behaves the same on a slide cut into tiles of another size.

    Parameters
    ----------
    confidence : callable
        The network: N×3×h×w float batch in [0, 1] → N×1×h×w confidence (see :func:`predict_tiled`).
    activation : callable
        Confidence → A, applied to the 1×1×H'×W' confidence of the whole image (a torch tensor).
    image : ndarray
        H×W×3 uint8 RGB image.
    scale : float, optional
        Resize factor of the image before the network (:func:`resize_rgb`); default 1.
    size : (int, int), optional
        (height, width) of the returned map; the confidence is resized to it (bilinear) before the
        activation. Default: the image's own size.
    tile, overlap, tta, channels_last
        As in :func:`predict_tiled` (in pixels of the resized image).

    Returns
    -------
    ndarray
        A, float32 of shape `size`.

    Examples
    --------
    >>> import torch
    >>> image = np.zeros((8, 8, 3), np.uint8); image[:, 4:] = 255
    >>> a = attention_map(lambda x: x[:, :1], lambda c: (c > 0.5).float(), image, scale=0.5, size=(4, 4))
    >>> a.astype(int).tolist()[0]
    [0, 0, 1, 1]
    """
    import torch
    import torch.nn.functional as F

    height, width = image.shape[:2]
    out_h, out_w = size or (height, width)
    if scale != 1:
        image = resize_rgb(image, scale)
    conf = predict_tiled(confidence, image, tile=tile, overlap=overlap, tta=tta, channels_last=channels_last)
    tensor = torch.from_numpy(conf)[None, None]
    if conf.shape != (out_h, out_w):
        tensor = F.interpolate(tensor, size=(out_h, out_w), mode="bilinear", align_corners=False)
    with torch.inference_mode():
        return activation(tensor)[0, 0].float().numpy()
