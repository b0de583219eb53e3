"""``supervised-unet``: a small U-Net trained on the 19 MoNuSeg training tiles, then a distance watershed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from nucbench import InputError, atomic_path
from nucbench_supervised.model import SmallUNet
from nucbench_supervised.postprocess import distance_watershed

__all__ = ["SupervisedUNet", "SHIPPED_WEIGHTS", "STOCK", "load_checkpoint", "predict_maps", "save_checkpoint"]

#: The weights shipped with the package (trained by ``benchmarks/train_supervised_unet.py``).
SHIPPED_WEIGHTS = Path(__file__).parent / "weights" / "supervised_unet.pt"

#: Resolution the network was trained at (MoNuSeg 40x).
TRAIN_MPP = 0.25

#: The untuned post-processing (:func:`distance_watershed`'s own defaults: both maps cut at 0.5,
#: markers of at least 4 px, nuclei of at least 20 px) with the shipped weights.
STOCK: dict[str, object] = {"fg_threshold": 0.5, "marker_threshold": 0.5, "min_marker_area": 4.0,
                            "min_area": 20.0}


def save_checkpoint(path: str | Path, model: SmallUNet, *, mean: tuple[float, ...], std: tuple[float, ...],
                    mpp: float = TRAIN_MPP) -> Path:
    """Write ``{"state_dict", "config"}`` to `path` atomically (temp file, then rename)."""
    path = Path(path)
    config = {"widths": list(model.widths), "mean": list(mean), "std": list(std), "mpp": float(mpp)}
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "config": config}, tmp)
    return path


def load_checkpoint(path: str | Path) -> tuple[SmallUNet, dict]:
    """Load a checkpoint written by :func:`save_checkpoint` (``torch.load(weights_only=True)``).

    Raises
    ------
    InputError
        If the file is missing or is not such a checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        config = dict(blob["config"])
        model = SmallUNet(tuple(int(w) for w in config["widths"]))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in blob["state_dict"].items()})
    except Exception as exc:  # any unreadable / foreign file is the user's input problem
        raise InputError(f"{path}: not a supervised-unet checkpoint ({type(exc).__name__}: {exc})") from None
    model.eval().to(memory_format=torch.channels_last)
    return model, config


def predict_maps(model: SmallUNet, image: np.ndarray, *, mean: tuple[float, ...],
                 std: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Foreground probability and normalised distance (both H×W float32 in [0, 1]) of one RGB image.

    The image is padded (edge replication) to a multiple of the network's stride and cropped back.
    """
    h, w = image.shape[:2]
    m = model.multiple
    x = torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)[None].div(255.0)
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    x = F.pad(x, (0, (-w) % m, 0, (-h) % m), mode="replicate")
    with torch.inference_mode():
        out = torch.sigmoid(model(x.contiguous(memory_format=torch.channels_last)))[0, :, :h, :w]
    out = out.float().numpy()
    return out[0], out[1]


class SupervisedUNet:
    """Supervised reference: a small U-Net (foreground + distance map) and a marker watershed.

    The network (``SmallUNet``, widths 8-16-32-64-128, ≈ 0.44 M parameters) predicts the nucleus
    foreground and each nucleus' distance to its border normalised to 1 at its centre; it was
    trained with the labels of the 19 MoNuSeg *training* tiles only (XML where present, else the
    derived colour masks) by ``benchmarks/train_supervised_unet.py``, the snapshot chosen by the
    loss on the 11 validation tiles. Instances come from :func:`distance_watershed` (our own
    marker watershed on the predicted distance, not the paper's ``watershed`` post-processor,
    which sees only one probability map); its thresholds below were tuned on the validation
    tiles (``benchmarks/baselines_tune.py``); :data:`STOCK` holds the untuned ones.

    Images whose ``mpp`` differs from 0.25 µm/px by more than 10 % are resampled to 0.25 µm/px
    for the network and the labels resampled back (nearest neighbour).

    Parameters
    ----------
    checkpoint : str or None, optional
        A ``.pt`` file written by the training script; ``None`` = the shipped weights.
    fg_threshold : float, optional
        Foreground probability threshold.
    marker_threshold : float, optional
        Normalised-distance threshold of the marker cores.
    min_marker_area : float, optional
        Smallest marker, px at 40x.
    min_area : float, optional
        Smallest nucleus, px at 40x.

    References
    ----------
    O. Ronneberger, P. Fischer and T. Brox, "U-Net", MICCAI 2015; P. Naylor et al., IEEE TMI
    38(2), 2019 (distance-map regression).
    """

    def __init__(
        self,
        checkpoint: str | None = None,
        fg_threshold: float = 0.6,
        marker_threshold: float = 0.4,
        min_marker_area: float = 30.0,
        min_area: float = 80.0,
    ) -> None:
        self.checkpoint = str(SHIPPED_WEIGHTS) if checkpoint is None else checkpoint
        self.model, self.config = load_checkpoint(self.checkpoint)
        self.fg_threshold = fg_threshold
        self.marker_threshold = marker_threshold
        self.min_marker_area = min_marker_area
        self.min_area = min_area

    def segment(self, image: np.ndarray, *, mpp: float | None = None) -> np.ndarray:
        """Segment one H×W×3 uint8 RGB image into H×W int32 labels (0 = background)."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise InputError(
                f"segmenter 'supervised-unet': `image` must be an H×W×3 uint8 RGB array; got shape "
                f"{image.shape} dtype {image.dtype}"
            )
        if mpp is not None and (not np.isfinite(mpp) or mpp <= 0):
            raise InputError(f"segmenter 'supervised-unet': `mpp` must be positive; got {mpp}")
        factor = 1.0 if mpp is None else float(mpp) / float(self.config["mpp"])
        work = image
        if abs(factor - 1.0) > 0.1:
            from skimage.transform import rescale

            work = rescale(image, factor, order=1, channel_axis=-1, preserve_range=True,
                           anti_aliasing=factor < 1)
            work = np.clip(np.rint(work), 0, 255).astype(np.uint8)
        prob, dist = predict_maps(self.model, work, mean=self.config["mean"], std=self.config["std"])
        # `work` is at the training resolution, so the sizes (px at 40x) apply unchanged
        labels = distance_watershed(prob, dist, self.fg_threshold, self.marker_threshold,
                                    self.min_marker_area, self.min_area)
        if work is not image:
            from skimage.transform import resize

            labels = resize(labels, image.shape[:2], order=0, preserve_range=True,
                            anti_aliasing=False).astype(np.int32)
        return labels
