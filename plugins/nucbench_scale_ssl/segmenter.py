"""The ``scale-ssl`` segmenter: trained attention network F → attention map A → tuned post-processor.

Only F is needed at inference (G is discarded after training). The image is resized to the
resolution F works at (`scale` times the training tiles' 0.25 µm/px, from the image's `mpp`), stain
normalised (Reinhard, on by default), F runs tile by tile with overlap (any image size), with
optional 8-fold dihedral test-time augmentation, the confidence is resized to 0.25 µm/px and the
activation (e.g. sparsity's τ) is applied to the whole map at once (:func:`nucbench.infer.attention_map`),
then the post-processor named in the checkpoint (the paper's ``watershed``, with the parameters
tuned on the validation tiles, in pixels at 0.25 µm/px) makes the labels, which are resized back to
the image by nearest neighbour. F runs in its inference form (batch norm folded, ReLU and residual
fused: :mod:`nucbench_scale_ssl.fusion`), channels-last.

A checkpoint may also be an ensemble (:func:`nucbench_scale_ssl.ensemble.combine`): several
trained F's, each with its own activation, whose attention maps are averaged before the one
post-processor tuned for the average.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from nucbench import ConfigError, InputError, create

__all__ = ["ScaleSSLSegmenter", "SHIPPED_WEIGHTS"]

#: The shipped model, inside this package.
SHIPPED_WEIGHTS = "scale-ssl.pt"
#: µm per pixel of the training tiles (MoNuSeg, 40x): the resolution the post-processing is tuned at.
WORKING_MPP = 0.25


class ScaleSSLSegmenter:
    """Segment nuclei with a trained scale-classification attention network.

    Parameters
    ----------
    checkpoint : str, optional
        A ``best.pt`` written by ``nucbench train``, or an ensemble of them
        (:func:`nucbench_scale_ssl.ensemble.combine`). Default: the model shipped in this package.
    tile : int, optional
        Tile size for inference, in pixels of the (resized) image F sees (default 1024: a 40x
        MoNuSeg tile runs in one piece, as in the trainer's validation and tuning).
    overlap : int, optional
        Overlap between tiles (default 256; see :func:`nucbench.infer.predict_tiled`).
    tta : bool, optional
        Average the confidence over the 8 dihedral transforms (8× slower). Default: the value
        stored in the checkpoint (``inference.tta``, chosen on the validation tiles), else False.
    stain_normalize : bool, optional
        Reinhard-normalise the image first (default: as the model was trained, i.e. on).
    threads : int, optional
        torch CPU threads (default: torch's choice).
    scale : float, optional
        Resolution F runs at, relative to the training tiles' 0.25 µm/px: 0.5 runs F at 20x
        (F and the stain normalisation do a quarter of the work). Default: the value stored in
        the checkpoint (``inference.scale``, chosen on the validation tiles), else 1.

    Notes
    -----
    ``mpp`` (µm per pixel of the image; default 0.25) sets the resizing: a 20x image (0.5 µm/px)
    is resized ×2·`scale` before F, and its labels are made at 0.25 µm/px and resized back, so the
    tuned post-processing sees nuclei of the size it was tuned on. The activation sees the whole
    map, so tiles do not get thresholds of their own; `tile` and `overlap` change A only where F's
    receptive field crosses a tile edge (blended across the overlap).
    """

    def __init__(
        self,
        checkpoint: str | None = None,
        tile: int = 1024,
        overlap: int = 256,
        tta: bool | None = None,
        stain_normalize: bool | None = None,
        threads: int | None = None,
        scale: float | None = None,
    ) -> None:
        import torch

        from nucbench.train import load_attention
        from nucbench_scale_ssl.fusion import fuse_for_inference

        if checkpoint is None:
            path = Path(str(resources.files("nucbench_scale_ssl") / SHIPPED_WEIGHTS))
        else:
            path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise InputError(f"scale-ssl: checkpoint {path}: no such file")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            members = [load_attention(member) for member in state.get("members", [state])]
        except (RuntimeError, KeyError, TypeError) as exc:
            raise InputError(
                f"scale-ssl: checkpoint {path}: not a nucbench attention model ({exc})"
            ) from None
        if threads:
            torch.set_num_threads(threads)
        #: (network in inference form, activation) of each model; one unless an ensemble.
        self.members = [(fuse_for_inference(backbone), activation) for backbone, activation in members]
        # the first (or only) model: its trained module, inference form and activation
        self.backbone, self.activation = members[0]
        self.network = self.members[0][0]
        self.checkpoint = path
        if scale is None:
            scale = float(state.get("inference", {}).get("scale", 1.0))
        if tta is None:
            tta = bool(state.get("inference", {}).get("tta", False))
        if not 0 < scale <= 1:
            raise ConfigError(f"scale-ssl: scale must be in (0, 1], got {scale}")
        self.tile, self.overlap, self.tta, self.scale = tile, overlap, bool(tta), float(scale)
        self.stain_normalize = (
            state.get("stain_normalize", True) if stain_normalize is None else stain_normalize
        )
        spec = state.get("post_processor") or {"name": "watershed", "params": {}}
        self.post_processor_spec: dict[str, Any] = {"name": spec["name"], "params": dict(spec["params"])}
        self.post_processor = create("post-processor", spec["name"], **spec["params"])

    def attention(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """A (float32 in [0, 1]) of an H×W×3 uint8 RGB image, at 0.25 µm/px.

        The map is H×W for an image at 0.25 µm/px (the default `mpp`), and ``mpp / 0.25`` times
        that size otherwise.
        """
        from nucbench.infer import attention_map, resize_rgb

        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"scale-ssl: expected an H×W×3 uint8 RGB image, got {image.dtype} {image.shape}")
        if mpp is not None and not mpp > 0:
            raise InputError(f"scale-ssl: mpp must be positive, got {mpp}")
        factor = 1.0 if mpp is None else mpp / WORKING_MPP
        height, width = image.shape[:2]
        size = (max(1, round(height * factor)), max(1, round(width * factor)))
        f_scale = self.scale * factor
        if f_scale != 1 and (len(self.members) > 1 or (self.stain_normalize and f_scale < 1)):
            # resize once for every member; normalise the smaller image (same statistics, less work)
            image, f_scale = resize_rgb(image, f_scale), 1.0
        if self.stain_normalize:
            from nucbench.data.stain import reinhard_normalise

            image = reinhard_normalise(image)
        maps = [
            attention_map(
                network, activation, image, scale=f_scale, size=size,
                tile=self.tile, overlap=self.overlap, tta=self.tta, channels_last=True,
            )
            for network, activation in self.members
        ]
        return maps[0] if len(maps) == 1 else np.mean(maps, axis=0, dtype=np.float32)

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """H×W integer instance labels (0 = background) of an H×W×3 uint8 RGB image at `mpp` µm/px."""
        labels = np.asarray(self.post_processor(self.attention(image, mpp=mpp)))
        height, width = image.shape[:2]
        if labels.shape != (height, width):
            rows = np.minimum((np.arange(height) + 0.5) * labels.shape[0] / height, labels.shape[0] - 1)
            cols = np.minimum((np.arange(width) + 0.5) * labels.shape[1] / width, labels.shape[1] - 1)
            labels = labels[rows.astype(np.intp)[:, None], cols.astype(np.intp)[None, :]]
        return labels
