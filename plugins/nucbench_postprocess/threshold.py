"""Threshold and connected components: the simplest instance post-processing."""

from __future__ import annotations

from typing import Literal

import numpy as np

from nucbench_postprocess._common import check_probability, remove_small

__all__ = ["threshold_cc"]


def threshold_cc(
    probability: np.ndarray,
    threshold: float = 0.5,
    connectivity: Literal[1, 2] = 1,
    min_size: int = 0,
) -> np.ndarray:
    """Nuclei instances as the connected components of ``probability > threshold``.

    Parameters
    ----------
    probability : ndarray
        H×W nuclei probability in [0, 1] (float; bool accepted).
    threshold : float, optional
        Foreground threshold (default 0.5).
    connectivity : {1, 2}, optional
        1: pixels touching by an edge are connected (4-connectivity, default); 2: also by a
        corner (8-connectivity).
    min_size : int, optional
        Smallest object kept, in pixels (default 0: keep all).

    Returns
    -------
    ndarray
        H×W int32 labels, 0 = background, objects numbered 1..n in raster order.

    Raises
    ------
    nucbench.InputError
        If `probability` is not a 2-D finite float map.

    Notes
    -----
    Touching nuclei merge into one object; this is the baseline the watershed improves on.

    Examples
    --------
    >>> import numpy as np
    >>> threshold_cc(np.array([[0.9, 0.2, 0.7], [0.8, 0.1, 0.6]])).tolist()
    [[1, 0, 2], [1, 0, 2]]
    """
    from scipy import ndimage as ndi

    probability = check_probability(probability)
    structure = ndi.generate_binary_structure(2, connectivity)
    labels, _ = ndi.label(probability > threshold, structure=structure)
    return remove_small(labels.astype(np.int32), min_size)
