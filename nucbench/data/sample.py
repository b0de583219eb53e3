"""The unit every dataset yields."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Sample"]


@dataclass(frozen=True)
class Sample:
    """One image, with instance labels when the dataset has them.

    Attributes
    ----------
    image : ndarray
        H×W×3 RGB uint8.
    labels : ndarray or None
        H×W integer instance labels, 0 = background (ids need not be contiguous), or ``None``
        for unlabelled data.
    mpp : float or None
        Microns per pixel, when known.
    magnification : float or None
        Objective magnification (10, 20, 40), when known.
    id : str
        Stable identifier, used as the output file stem (e.g. the MoNuSeg case id).
    """

    image: np.ndarray
    labels: np.ndarray | None
    mpp: float | None
    magnification: float | None
    id: str
