"""Regularizers on the attention map: ``sparsity`` (eq. 1), ``smoothness`` (eq. 3), ``equivariance`` (eq. 4),
``scale-equivariance`` (in the authors' code, not the paper's text) and the label-free
``hematoxylin-prior`` (this project's addition, its own row in the results).

Every regularizer is called with a :class:`nucbench.RegularizerContext` and returns a scalar
tensor; the trainer adds ``weight * value`` to the loss. A regularizer that also decides how the
confidence ``a`` becomes the attention ``A`` provides ``activate(confidence, *, update_stats)``;
the trainer uses the first such regularizer, else ``A = sigmoid(a)``. Only ``sparsity`` does.

References
----------
Sahasrabudhe et al., "Self-supervised nuclei segmentation in histopathological images using
attention", MICCAI 2020, eqs. (1), (3), (4).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from nucbench import BackbonePass, RegularizerContext

__all__ = [
    "Sparsity",
    "Smoothness",
    "Equivariance",
    "ScaleEquivariance",
    "HematoxylinPrior",
    "dihedral_torch",
    "downsample",
    "otsu_tau",
    "TRANSFORMS",
]

#: The six rigid transforms of eq. (4), by name; each maps N×C×H×W → N×C×W×H or N×C×H×W.
TRANSFORMS = ("hflip", "vflip", "transpose", "rot90", "rot180", "rot270")


def dihedral_torch(x: torch.Tensor, name: str) -> torch.Tensor:
    """Apply one of :data:`TRANSFORMS` (or ``"identity"``) to the last two axes of `x`.

    Examples
    --------
    >>> dihedral_torch(torch.arange(4.).view(1, 1, 2, 2), "hflip").flatten().tolist()
    [1.0, 0.0, 3.0, 2.0]
    """
    if name == "identity":
        return x
    if name == "hflip":
        return x.flip(-1)
    if name == "vflip":
        return x.flip(-2)
    if name == "transpose":
        return x.transpose(-1, -2)
    if name in ("rot90", "rot180", "rot270"):
        return torch.rot90(x, {"rot90": 1, "rot180": 2, "rot270": 3}[name], dims=(-2, -1))
    raise ValueError(f"unknown transform {name!r}; expected one of {', '.join(TRANSFORMS)}")


def otsu_tau(confidence: torch.Tensor) -> torch.Tensor:
    """Each image's Otsu threshold of an N×1×H×W confidence map, shaped N×1×1×1 (detached).

    Examples
    --------
    >>> a = torch.tensor([0., 0., 0., 9., 9., 10.]).view(1, 1, 2, 3)
    >>> int((a > otsu_tau(a)).sum())  # the upper mode
    3
    """
    from skimage.filters import threshold_otsu

    flat = confidence.detach().float().flatten(1).cpu().numpy()
    taus = [float(threshold_otsu(row)) for row in flat]
    return torch.tensor(taus, dtype=confidence.dtype, device=confidence.device).view(-1, 1, 1, 1)


class Sparsity(nn.Module):
    """Percentile-threshold sparsity: ``A = sigmoid(r · (a − τ))``, τ the batch mean η-th percentile.

    τ (eq. 1) is the mean over the batch of each image's η-th percentile of the confidence ``a``,
    detached from the graph; an exponential moving average of τ (buffer ``tau_ema``) is what
    inference uses. The constraint acts through :meth:`activate`, so the loss term is an optional
    extra: ``weight · (mean(A) − (1 − η/100))²``, which keeps the attended fraction at the prior
    when the compressed sigmoid alone does not (default weight 0: the paper's formulation).

    Parameters
    ----------
    eta : float, optional
        Percentile (default 93: 7 % of pixels are nuclei).
    r : float, optional
        Compression of the sigmoid (default 20).
    momentum : float, optional
        EMA momentum of τ (default 0.99: ``ema ← 0.99 · ema + 0.01 · τ``).
    weight : float, optional
        Weight of the optional fraction penalty (default 0).
    inference : {"ema", "image", "otsu"}, optional
        τ in eval mode: ``"ema"`` (default, the paper's) uses the moving average of the training
        τ; ``"image"`` uses each image's own η-th percentile; ``"otsu"`` each image's Otsu
        threshold of the confidence (:func:`skimage.filters.threshold_otsu`), so the attended
        fraction follows the image instead of the η prior. Training batches mix 10x, 20x and
        40x crops, so the average τ need not suit an image of one magnification: measured here,
        on 40x validation tiles the confidence lay almost entirely below the EMA of τ, which
        gives an empty attention map (``benchmarks/results/ssl_diagnostics.json``); and nuclei
        cover 11–40 % of the MoNuSeg validation tiles, not the 7 % that η = 93 assumes.
        Training is the same in every mode (τ from the batch).

    References
    ----------
    Sahasrabudhe et al., MICCAI 2020, eq. (1); Hou et al., Pattern Recognition 86, 2019.

    Examples
    --------
    >>> s = Sparsity(eta=50, r=20)
    >>> a = torch.arange(4.).view(1, 1, 2, 2)
    >>> round(float(s.batch_tau(a)), 2)  # median of 0, 1, 2, 3
    1.5
    """

    def __init__(
        self,
        eta: float = 93.0,
        r: float = 20.0,
        momentum: float = 0.99,
        weight: float = 0.0,
        inference: Literal["ema", "image", "otsu"] = "ema",
    ) -> None:
        super().__init__()
        if inference not in ("ema", "image", "otsu"):
            raise ValueError(f"inference must be 'ema', 'image' or 'otsu', got {inference!r}")
        self.inference = inference
        if not 0 < eta < 100:
            raise ValueError(f"eta must be in (0, 100), got {eta}")
        self.eta = float(eta)
        self.r = float(r)
        self.momentum = float(momentum)
        self.weight = float(weight)
        self.register_buffer("tau_ema", torch.zeros(()))
        self.register_buffer("n_updates", torch.zeros((), dtype=torch.long))

    def batch_tau(self, confidence: torch.Tensor) -> torch.Tensor:
        """τ of eq. (1): the batch mean of each image's η-th percentile (detached)."""
        flat = confidence.detach().float().flatten(1)
        return torch.quantile(flat, self.eta / 100.0, dim=1).mean()

    def activate(self, confidence: torch.Tensor, *, update_stats: bool = False) -> torch.Tensor:
        """Confidence → attention. In training mode τ comes from the batch (and, with
        `update_stats`, updates the EMA); in eval mode the EMA of τ is used."""
        if self.training:
            tau = self.batch_tau(confidence)
            if update_stats:
                with torch.no_grad():
                    if int(self.n_updates) == 0:
                        self.tau_ema.copy_(tau)
                    else:
                        self.tau_ema.mul_(self.momentum).add_((1 - self.momentum) * tau)
                    self.n_updates += 1
        elif self.inference == "image":
            flat = confidence.detach().float().flatten(1)
            tau = torch.quantile(flat, self.eta / 100.0, dim=1).view(-1, 1, 1, 1)
        elif self.inference == "otsu":
            tau = otsu_tau(confidence)
        else:
            tau = self.tau_ema
        return torch.sigmoid(self.r * (confidence - tau))

    def forward(self, context: RegularizerContext) -> torch.Tensor:
        fraction = context.attention.float().mean(dim=(1, 2, 3))
        return ((fraction - (1 - self.eta / 100.0)) ** 2).mean()


class Smoothness:
    """Smoothness of eq. (3): mean absolute difference between neighbouring attention values.

    ``L = mean |A[i+1, j] − A[i, j]| + mean |A[i, j+1] − A[i, j]|`` over the batch.

    Parameters
    ----------
    weight : float, optional
        Weight in the total loss (default 1, the paper's eq. 5).

    References
    ----------
    Sahasrabudhe et al., MICCAI 2020, eq. (3).

    Examples
    --------
    >>> from nucbench import RegularizerContext
    >>> A = torch.tensor([[[[0., 1.], [0., 1.]]]])  # vertical edge: |dx| = 1, |dy| = 0
    >>> float(Smoothness()(RegularizerContext(None, None, A, None, 0)))
    1.0
    """

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = float(weight)

    def __call__(self, context: RegularizerContext) -> torch.Tensor:
        A = context.attention.float()
        dy = (A[..., 1:, :] - A[..., :-1, :]).abs().mean()
        dx = (A[..., :, 1:] - A[..., :, :-1]).abs().mean()
        return dx + dy


class Equivariance:
    """Equivariance of eq. (4): ``mean (t(A(I)) − A(t(I)))²`` for one random rigid transform t a step.

    t is drawn from the six transforms of :data:`TRANSFORMS` with the torch generator (so a seeded
    run is reproducible). ``A(t(I))`` needs a second pass of F; `fraction` < 1 runs it on the
    first part of the batch only, to save compute.

    Parameters
    ----------
    weight : float, optional
        Weight in the total loss (default 1).
    fraction : float, optional
        Share of the batch the term is computed on (default 1: the whole batch, as the paper).
    stop_gradient : bool, optional
        Compute ``A(t(I))`` without gradient, as a fixed target for ``t(A(I))`` (default False:
        both sides are differentiated, as eq. (4) reads). The authors' released code does this,
        which makes the second pass of F a forward pass only (about a third of the cost of a
        forward and backward pass).

    References
    ----------
    Sahasrabudhe et al., MICCAI 2020, eq. (4); the authors' code,
    github.com/msahasrabudhe/miccai2020_self_sup_nuclei_seg (``equiv_aug_mse``).
    """

    def __init__(self, weight: float = 1.0, fraction: float = 1.0, stop_gradient: bool = False) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.weight = float(weight)
        self.fraction = float(fraction)
        self.stop_gradient = bool(stop_gradient)

    def backbone_passes(self, n_classes: int) -> tuple[BackbonePass, ...]:
        """The second pass of F: on `fraction` of the batch at full size."""
        return (BackbonePass(share=self.fraction, gradient=not self.stop_gradient),)

    def __call__(self, context: RegularizerContext) -> torch.Tensor:
        images, attention = context.images, context.attention
        n = max(1, round(images.shape[0] * self.fraction))
        name = TRANSFORMS[int(torch.randint(len(TRANSFORMS), (1,)))]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.stop_gradient):
            transformed = context.attend(dihedral_torch(images[:n], name))
        return ((dihedral_torch(attention[:n], name).float() - transformed.float()) ** 2).mean()


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Anti-aliased bilinear downsampling of an N×C×H×W batch by an integer `factor`.

    Examples
    --------
    >>> downsample(torch.ones(1, 1, 8, 6), 2).shape
    torch.Size([1, 1, 4, 3])
    """
    size = (x.shape[-2] // factor, x.shape[-1] // factor)
    return F.interpolate(x.float(), size=size, mode="bilinear", antialias=True, align_corners=False)


class ScaleEquivariance:
    """Scale equivariance: the attention of a downsampled crop is the downsampled attention.

    ``mean (D(A(I)) − A(D(I)))²`` over the crops whose class has a coarser class at 1/`factor`
    of its magnification (20x and 40x crops for the classes 10x, 20x, 40x), ``D`` a ×`factor`
    anti-aliased downsampling. It asks F for a map of the *content* that is the same at every
    magnification, so F cannot encode the magnification in the pattern of A itself and leave G
    to read it there: the scale must come from what A shows.

    This term is not in the paper's text; it is in the authors' released code
    (``equiv_scale_mse``, in ``configs/full_model.yaml``), with ``A(D(I))`` computed without gradient.

    Parameters
    ----------
    weight : float, optional
        Weight in the total loss (default 1).
    factor : int, optional
        Ratio between neighbouring magnification classes (default 2).
    classes : sequence of int, optional
        The target classes that are downsampled (default 1 and 2: 20x and 40x of 10x, 20x, 40x).
    stop_gradient : bool, optional
        ``A(D(I))`` is a fixed target (default True, the authors' code).

    References
    ----------
    The authors' code, github.com/msahasrabudhe/miccai2020_self_sup_nuclei_seg (``equiv_scale_mse``).
    """

    def __init__(
        self,
        weight: float = 1.0,
        factor: int = 2,
        classes: tuple[int, ...] | list[int] = (1, 2),
        stop_gradient: bool = True,
    ) -> None:
        if int(factor) < 2:
            raise ValueError(f"factor must be an integer >= 2, got {factor}")
        self.weight = float(weight)
        self.factor = int(factor)
        self.classes = tuple(int(c) for c in classes)
        self.stop_gradient = bool(stop_gradient)

    def backbone_passes(self, n_classes: int) -> tuple[BackbonePass, ...]:
        """The pass of F on the downsampled crops: its classes' share of a balanced batch."""
        share = sum(1 for c in set(self.classes) if 0 <= c < n_classes) / n_classes
        return (BackbonePass(share=share, scale=1 / self.factor, gradient=not self.stop_gradient),)

    def __call__(self, context: RegularizerContext) -> torch.Tensor:
        if context.targets is None:
            raise ValueError("scale-equivariance needs the batch's targets (magnification classes)")
        targets = torch.as_tensor(context.targets)
        keep = torch.zeros_like(targets, dtype=torch.bool)
        for c in self.classes:
            keep |= targets == c
        if not bool(keep.any()):
            return context.attention.float().sum() * 0.0
        index = keep.nonzero().flatten().to(context.images.device)
        small = downsample(context.images.index_select(0, index), self.factor)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.stop_gradient):
            target = context.attend(small.to(context.images.dtype))
        reduced = downsample(context.attention.index_select(0, index), self.factor)
        return ((reduced - target.float()) ** 2).mean()


# Ruifrok & Johnston colour deconvolution: hematoxylin row of the inverse of the stain matrix
# (skimage.color.hed_from_rgb[:, 0]); OD = -log10((I + 1/255)) with I in [0, 1].
_HEMATOXYLIN = (1.87798274, -0.06590806, -0.60190736)


class HematoxylinPrior:
    """Label-free prior: make F's confidence follow the hematoxylin density.

    The hematoxylin optical density ``h`` of each crop comes from Ruifrok-Johnston colour
    deconvolution. ``loss="correlation"`` (default) is ``1 − Pearson(a, h)`` per image on the
    confidence ``a`` (scale-free, and its gradient does not vanish where the compressed sigmoid
    saturates); ``loss="mse"`` is ``mean (A − p)²`` on the attention with the soft target
    ``p = sigmoid(k · (h − h_q) / std(h))``, ``h_q`` the crop's q-th percentile (with r = 20 its
    gradient reaches only pixels near τ, and it barely moved in the runs measured here). Nuclei are
    where hematoxylin concentrates, so this is a physics prior, not a label; it is this project's
    addition, reported as its own row.

    Parameters
    ----------
    weight : float, optional
        Weight in the total loss (default 1).
    loss : {"correlation", "mse"}, optional
        See above (default ``"correlation"``).
    percentile : float, optional
        ``q`` of the soft target, ``loss="mse"`` only (default 90).
    sharpness : float, optional
        ``k`` of the soft target, ``loss="mse"`` only (default 4).

    References
    ----------
    Ruifrok & Johnston, "Quantification of histochemical staining by color deconvolution",
    Anal. Quant. Cytol. Histol. 23(4), 2001.
    """

    def __init__(
        self,
        weight: float = 1.0,
        loss: Literal["correlation", "mse"] = "correlation",
        percentile: float = 90.0,
        sharpness: float = 4.0,
    ) -> None:
        if loss not in ("correlation", "mse"):
            raise ValueError(f"loss must be 'correlation' or 'mse', got {loss!r}")
        self.weight = float(weight)
        self.loss = loss
        self.percentile = float(percentile)
        self.sharpness = float(sharpness)

    @staticmethod
    def density(images: torch.Tensor) -> torch.Tensor:
        """Hematoxylin optical density, N×1×H×W, of images N×3×H×W in [0, 1]."""
        od = -torch.log10(images.float().clamp_min(0) + 1 / 255.0)
        weights = torch.tensor(_HEMATOXYLIN, dtype=od.dtype, device=od.device).view(1, 3, 1, 1)
        return (od * weights).sum(dim=1, keepdim=True)

    def target(self, images: torch.Tensor) -> torch.Tensor:
        """Soft hematoxylin target in [0, 1], N×1×H×W, for images N×3×H×W in [0, 1]."""
        h = self.density(images)
        flat = h.flatten(1)
        q = torch.quantile(flat, self.percentile / 100.0, dim=1).view(-1, 1, 1, 1)
        std = flat.std(dim=1).view(-1, 1, 1, 1).clamp_min(1e-6)
        return torch.sigmoid(self.sharpness * (h - q) / std)

    def __call__(self, context: RegularizerContext) -> torch.Tensor:
        if self.loss == "mse":
            with torch.no_grad():
                p = self.target(context.images)
            return F.mse_loss(context.attention.float(), p)
        with torch.no_grad():
            h = self.density(context.images).flatten(1)
            h = (h - h.mean(dim=1, keepdim=True)) / h.std(dim=1, keepdim=True).clamp_min(1e-6)
        a = context.confidence.float().flatten(1)
        a = (a - a.mean(dim=1, keepdim=True)) / a.std(dim=1, keepdim=True).clamp_min(1e-6)
        return (1 - (a * h).mean(dim=1)).mean()
