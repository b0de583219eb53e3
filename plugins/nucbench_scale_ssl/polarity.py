"""Label-free orientation of an untrained attention backbone: point F's confidence at dark nuclei.

The scale task does not fix the sign of F's confidence ``a``: an F that lights up everything
*but* the nuclei shows G scale cues too. Of six seeds of the paper's F, the one whose untrained F
pointed at the nuclei learnt them and the others ended inverted (``benchmarks/ssl_polarity.py``),
which suggested that the initial sign decides. :func:`orient_to_hematoxylin` sets that sign
without labels: it shows the untrained F a synthetic H&E probe — hematoxylin-stained discs on
eosin-stained ground, composed with the Ruifrok-Johnston stain vectors — and negates F's last
layer if the discs get lower confidence than the ground. Nothing else changes, and no random
number is drawn, so an oriented run differs from its seed's plain run only in that sign at step 0.

Measured (docs/reproduction.md, "The seed lottery"): it does not decide. Seeds 1 and 2, oriented so that they
start on the nuclei, are inverted again after one epoch. The option stays so that those rows can
be reproduced; the default keeps the seed's sign, as the paper does.

References
----------
Ruifrok & Johnston, "Quantification of histochemical staining by color deconvolution",
Anal. Quant. Cytol. Histol. 23(4), 2001.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nucbench import did_you_mean

__all__ = ["POLARITIES", "hematoxylin_probe", "probe_contrast", "orient_to_hematoxylin", "orient"]

#: Accepted values of the backbones' ``polarity`` parameter (``None``: keep the seed's sign).
POLARITIES = ("hematoxylin",)


def hematoxylin_probe(
    size: int = 160, count: int = 4, discs: int = 25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic H&E crops: ``(images, masks)``, N×size×size×3 float32 in [0, 1] and N×size×size bool.

    Each crop holds `discs` nuclei-sized discs (radius 4–9 px) of high hematoxylin and low eosin
    optical density on a ground of low hematoxylin and moderate eosin density, turned into RGB by
    Beer-Lambert with scikit-image's ``rgb_from_hed`` stain vectors. Drawn from its own generator
    (`seed`), so it never touches torch's or NumPy's global random state.
    """
    from skimage.color import rgb_from_hed

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, masks = [], []
    for _ in range(count):
        mask = np.zeros((size, size), dtype=bool)
        for _ in range(discs):
            cy, cx = rng.uniform(0, size, 2)
            radius = rng.uniform(4, 9)
            mask |= (yy - cy) ** 2 + (xx - cx) ** 2 < radius * radius
        h = np.where(mask, 0.9, 0.08)
        e = np.where(mask, 0.15, 0.35)
        od = h[..., None] * rgb_from_hed[0] + e[..., None] * rgb_from_hed[1]
        images.append(np.power(10.0, -od).astype(np.float32))
        masks.append(mask)
    return np.stack(images), np.stack(masks)


def probe_contrast(backbone: nn.Module) -> float:
    """How much more confidence `backbone` gives the probe's discs than its ground, in units of
    the confidence's standard deviation (positive: F points at nuclei).

    Run in eval mode (BatchNorm on its running statistics, as validation and inference run F),
    without gradient; the module's training flag is restored.
    """
    images, masks = hematoxylin_probe()
    param = next(backbone.parameters())
    x = torch.from_numpy(images).permute(0, 3, 1, 2).to(device=param.device, dtype=param.dtype)
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.no_grad():
            a = backbone(x)[:, 0].float().cpu()
    finally:
        backbone.train(was_training)
    inside = torch.from_numpy(masks)
    return float((a[inside].mean() - a[~inside].mean()) / a.std().clamp_min(1e-12))


def orient_to_hematoxylin(backbone: nn.Module, head: nn.Conv2d) -> bool:
    """Negate `head` (F's last, linear layer) if `backbone` gives the probe's nuclei less confidence
    than their ground; returns whether it did. Afterwards ``probe_contrast(backbone) >= 0``."""
    if probe_contrast(backbone) >= 0:
        return False
    with torch.no_grad():
        head.weight.neg_()
        if head.bias is not None:
            head.bias.neg_()
    return True


def orient(backbone: nn.Module, head: nn.Conv2d, polarity: str | None) -> None:
    """Apply the backbones' ``polarity`` parameter: ``None`` keeps the seed's sign."""
    if polarity is None:
        return
    if polarity not in POLARITIES:
        raise ValueError(
            f"unknown polarity {polarity!r}: expected None or one of {', '.join(POLARITIES)}."
            + did_you_mean(str(polarity), POLARITIES)
        )
    orient_to_hematoxylin(backbone, head)
