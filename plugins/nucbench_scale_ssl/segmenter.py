"""The ``scale-ssl`` segmenter: trained attention network F → attention map A → tuned post-processor.

Only F is needed at inference (G is discarded after training). The image is optionally resized
(`scale`), stain normalised (Reinhard, on by default), F runs tile by tile with overlap (any image
size), with optional 8-fold dihedral test-time augmentation, A is resized back, and the
post-processor named in the checkpoint (the paper's ``watershed``, with the parameters tuned on the
validation tiles) is created through the registry by name. F runs in its inference form (batch
norm folded, ReLU and residual fused: :mod:`nucbench_scale_ssl.fusion`), channels-last.
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


class ScaleSSLSegmenter:
    """Segment nuclei with a trained scale-classification attention network.

    Parameters
    ----------
    checkpoint : str, optional
        A ``best.pt`` written by ``nucbench train``. Default: the model shipped in this package.
    tile : int, optional
        Tile size for inference, in pixels of the (resized) image F sees (default 512).
    overlap : int, optional
        Overlap between tiles (default 128; see :func:`nucbench.infer.predict_tiled`).
    tta : bool, optional
        Average A over the 8 dihedral transforms (8× slower; default False).
    stain_normalize : bool, optional
        Reinhard-normalise the image first (default: as the model was trained, i.e. on).
    threads : int, optional
        torch CPU threads (default: torch's choice).
    scale : float, optional
        Resize the image by this factor before F (PIL bicubic, anti-aliased, as the training
        crops), then A back to the image's size (bilinear); in (0, 1], default 1 (the image's
        own resolution). 0.5 runs a 40x tile at 20x: F and the stain normalisation do a quarter
        of the work (3.3× faster end to end here, ``benchmarks/infer_speed.py``) and the shipped
        model's AJI with its own post-processing parameters rises from 0.273 to 0.293 on the 11
        MoNuSeg validation tiles (test: 0.348 to 0.385; ``benchmarks/infer_scale.py``).

    Notes
    -----
    ``mpp`` is accepted for the segmenter contract; the model was trained on 40x (≈0.25 µm/px)
    tiles with magnification jitter, and images are processed at their own resolution times
    `scale`. The sparsity activation takes each tile's own 93rd percentile, so `tile` and
    `scale` change A, not only the speed: at scale 1 on the validation tiles, tile 512 gives AJI
    0.273, tiles 576, 640 and 1024 (one piece) 0.268, 0.268 and 0.267.
    """

    def __init__(
        self,
        checkpoint: str | None = None,
        tile: int = 512,
        overlap: int = 128,
        tta: bool = False,
        stain_normalize: bool | None = None,
        threads: int | None = None,
        scale: float = 1.0,
    ) -> None:
        import torch

        from nucbench.train import load_attention
        from nucbench_scale_ssl.fusion import fuse_for_inference

        if not 0 < scale <= 1:
            raise ConfigError(f"scale-ssl: scale must be in (0, 1], got {scale}")
        if checkpoint is None:
            path = Path(str(resources.files("nucbench_scale_ssl") / SHIPPED_WEIGHTS))
        else:
            path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise InputError(f"scale-ssl: checkpoint {path}: no such file")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.backbone, self.activation = load_attention(state)
        except (RuntimeError, KeyError, TypeError) as exc:
            raise InputError(
                f"scale-ssl: checkpoint {path}: not a nucbench attention model ({exc})"
            ) from None
        if threads:
            torch.set_num_threads(threads)
        self.network = fuse_for_inference(self.backbone)
        self.checkpoint = path
        self.tile, self.overlap, self.tta, self.scale = tile, overlap, tta, float(scale)
        self.stain_normalize = (
            state.get("stain_normalize", True) if stain_normalize is None else stain_normalize
        )
        spec = state.get("post_processor") or {"name": "watershed", "params": {}}
        self.post_processor_spec: dict[str, Any] = {"name": spec["name"], "params": dict(spec["params"])}
        self.post_processor = create("post-processor", spec["name"], **spec["params"])

    def attention(self, image: np.ndarray) -> np.ndarray:
        """The attention map A (H×W float32 in [0, 1]) of an H×W×3 uint8 RGB image."""
        from nucbench.infer import predict_tiled

        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"scale-ssl: expected an H×W×3 uint8 RGB image, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        if self.scale != 1:
            from PIL import Image

            size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
            image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
        if self.stain_normalize:
            from nucbench.data.stain import reinhard_normalise

            image = reinhard_normalise(image)

        def predict(batch):
            return self.activation(self.network(batch))

        attention = predict_tiled(
            predict, image, tile=self.tile, overlap=self.overlap, tta=self.tta, channels_last=True
        )
        if attention.shape != (height, width):
            import torch
            import torch.nn.functional as F

            attention = F.interpolate(torch.from_numpy(attention)[None, None], size=(height, width),
                                      mode="bilinear", align_corners=False)[0, 0].numpy()
        return attention

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """H×W integer instance labels (0 = background) of an H×W×3 uint8 RGB image."""
        labels = self.post_processor(self.attention(image))
        return np.asarray(labels)
