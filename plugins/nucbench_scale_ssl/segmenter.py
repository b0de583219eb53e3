"""The ``scale-ssl`` segmenter: trained attention network F → attention map A → tuned post-processor.

Only F is needed at inference (G is discarded after training). The image is optionally stain
normalised (Reinhard, on by default), F runs tile by tile with overlap (any image size), with
optional 8-fold dihedral test-time augmentation, and the post-processor named in the checkpoint
(the paper's ``watershed``, with the parameters tuned on the validation tiles) is created through
the registry by name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from nucbench import InputError, create

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
        Tile size for inference (default 1024: a MoNuSeg tile runs in one piece).
    overlap : int, optional
        Overlap between tiles (default 256; see :func:`nucbench.infer.predict_tiled`).
    tta : bool, optional
        Average A over the 8 dihedral transforms (8× slower; default False).
    stain_normalize : bool, optional
        Reinhard-normalise the image first (default: as the model was trained, i.e. on).
    threads : int, optional
        torch CPU threads (default: torch's choice).

    Notes
    -----
    ``mpp`` is accepted for the segmenter contract; the model was trained on 40x (≈0.25 µm/px)
    tiles with magnification jitter, and images are processed at their own resolution.
    """

    def __init__(
        self,
        checkpoint: str | None = None,
        tile: int = 512,
        overlap: int = 128,
        tta: bool = False,
        stain_normalize: bool | None = None,
        threads: int | None = None,
    ) -> None:
        import torch

        from nucbench.train import load_attention

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
        self.checkpoint = path
        self.tile, self.overlap, self.tta = tile, overlap, tta
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
        if self.stain_normalize:
            from nucbench.data.stain import reinhard_normalise

            image = reinhard_normalise(image)

        def predict(batch):
            return self.activation(self.backbone(batch))

        return predict_tiled(predict, image, tile=self.tile, overlap=self.overlap, tta=self.tta)

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """H×W integer instance labels (0 = background) of an H×W×3 uint8 RGB image."""
        labels = self.post_processor(self.attention(image))
        return np.asarray(labels)
