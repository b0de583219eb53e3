"""The ``scale-classification`` pretext task: tell 10x, 20x and 40x crops apart from ``A ⊙ I``.

References
----------
Sahasrabudhe et al., "Self-supervised nuclei segmentation in histopathological images using
attention", MICCAI 2020, eq. (2) and Section 4.2 (balanced batches over magnifications).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nucbench import InputError
from nucbench.data.sampling import MultiScaleCropSampler
from nucbench_scale_ssl.weights import load_weights

__all__ = ["ScaleClassification", "IMAGENET_MEAN", "IMAGENET_STD"]

#: Channel statistics the authors' code standardises its inputs with (ImageNet's).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ScaleClassification:
    """Scale classification: G (a timm classifier) predicts the magnification class of ``J = A ⊙ I``.

    Parameters
    ----------
    classifier : str, optional
        timm model name for G (default ``resnet34``, the paper's), created with
        ``pretrained=False`` and 3 classes: nothing is downloaded.
    pretrained_path : str, optional
        A LOCAL weights file for G: a state dict of the same classifier (ImageNet weights, or an
        untrained G saved by ``benchmarks/ssl_untrained.py``) or a training ``checkpoint.pt``. Every
        entry must fit, except the classification layer, which keeps its random weights where the
        file's has another number of classes. Default: random initialisation.
    magnifications : sequence of float, optional
        The classes (default 10, 20, 40).
    source_magnification : float, optional
        Magnification of the training tiles (default 40, MoNuSeg).
    mode : {"shared-resample", "pyramid"}, optional
        How crops of each class are made (:class:`nucbench.data.sampling.MultiScaleCropSampler`):
        ``"pyramid"`` is the faithful M-WSI protocol (fixed ×2/×4 anti-aliased downsampling; it
        lets G use resampling artefacts), ``"shared-resample"`` (default) is the shortcut fix.
    jitter : float, optional
        Continuous magnification jitter band ``[1, jitter]`` (default 1.4, shared-resample only).
    augment : bool, optional
        Shared augmentations (dihedral, stain jitter, blur, noise, JPEG; default True).
    head_input : {"rgb", "normalized", "od"}, optional
        What A multiplies: ``"rgb"`` (the paper's ``J = A ⊙ I``, default); ``"normalized"``,
        the image standardised with the ImageNet mean and standard deviation, as the authors'
        code feeds it, so that what A masks out becomes the mean colour rather than black; or
        ``"od"``, the optical density ``-log10(I)`` scaled to about [0, 1], so that glass is 0
        and dark (hematoxylin) nuclei are bright. With RGB, masking *out* the dark nuclei keeps
        their shapes visible as holes in bright tissue, and G is as happy with an inverted A; in
        OD space attending to nuclei keeps the strongest signal.

    Examples
    --------
    >>> task = ScaleClassification(classifier="resnet10t")
    >>> logits = torch.zeros(2, 3); targets = torch.tensor([0, 2])
    >>> round(float(task.loss(logits, targets)), 4)  # -log(1/3)
    1.0986
    """

    def __init__(
        self,
        classifier: str = "resnet34",
        pretrained_path: str | None = None,
        magnifications: Sequence[float] = (10, 20, 40),
        source_magnification: float = 40,
        mode: Literal["shared-resample", "pyramid"] = "shared-resample",
        jitter: float = 1.4,
        augment: bool = True,
        head_input: Literal["rgb", "normalized", "od"] = "rgb",
    ) -> None:
        self.classifier = classifier
        self.pretrained_path = pretrained_path
        self.magnifications = tuple(float(m) for m in magnifications)
        self.source_magnification = float(source_magnification)
        self.mode = mode
        self.jitter = float(jitter)
        self.augment = bool(augment)
        if head_input not in ("rgb", "normalized", "od"):
            raise ValueError(f"head_input must be 'rgb', 'normalized' or 'od', got {head_input!r}")
        self.head_input_space = head_input

    @property
    def n_classes(self) -> int:
        return len(self.magnifications)

    def build_head(self) -> nn.Module:
        """G: a timm classifier with random weights (or the local `pretrained_path`)."""
        import timm

        try:
            model = timm.create_model(self.classifier, pretrained=False, num_classes=self.n_classes)
        except RuntimeError as exc:  # timm: "Unknown model (x)"
            raise InputError(f"scale-classification: classifier '{self.classifier}': {exc}") from None
        if self.pretrained_path:
            load_weights(
                model,
                self.pretrained_path,
                owner=f"scale-classification: classifier {self.classifier}",
                part="head",
                optional=model.pretrained_cfg.get("classifier"),
            )
        return model

    def make_sampler(
        self, images: Sequence[np.ndarray], *, batch_size: int, crop_size: int, seed: int
    ) -> MultiScaleCropSampler:
        """A balanced multi-scale crop sampler over `images`."""
        return MultiScaleCropSampler(
            images,
            magnifications=self.magnifications,
            source_magnification=self.source_magnification,
            crop_size=crop_size,
            batch_size=batch_size,
            mode=self.mode,
            jitter=self.jitter,
            augment=self.augment,
            seed=seed,
        )

    def head_input(self, images: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """``J = A ⊙ I`` (``A ⊙ OD(I)`` with ``head_input="od"``, ``A ⊙ (I − μ)/σ`` with "normalized")."""
        if self.head_input_space == "od":
            od = -torch.log10(images.clamp_min(1 / 255.0)) / math.log10(255.0)
            return od * attention
        if self.head_input_space == "normalized":
            mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
            std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
            return (images - mean) / std * attention
        return images * attention

    def loss(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of the true class (eq. 2)."""
        return F.cross_entropy(output.float(), targets)

    def correct(self, output: torch.Tensor, targets: torch.Tensor) -> int:
        """Number of correctly classified crops."""
        return int((output.argmax(dim=1) == targets).sum())
