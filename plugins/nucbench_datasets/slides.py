"""Whole slides as unlabelled training data: crops for the scale pretext task, read as sampled.

``train_data: {name: slides, params: {slides: [a.svs, b.svs], mpp: 0.25}}`` in an experiment YAML
makes ``nucbench train`` draw its multi-scale crops from tissue regions of the slides, at their
true pyramid levels (:class:`nucbench.data.sampling.SlideCropSource`), instead of from tiles.
"""

from __future__ import annotations

from pathlib import Path

from nucbench import ConfigError, InputError
from nucbench.data import resolve_data_root
from nucbench.data.sampling import SlideCropSource

__all__ = ["SlidesDataset"]


class SlidesDataset:
    """Whole slides for self-supervised training; the trainer reads crops from them as it samples.

    Parameters
    ----------
    slides : list of str
        Slide files (SVS, NDPI, MIRAX, pyramidal TIFF, …). A relative path is taken under `root`.
    root : str, optional
        Folder of relative `slides`; itself relative to ``NUCBENCH_DATA`` when that is set.
        Default: ``NUCBENCH_DATA`` (needed only for relative paths).
    mpp : float, optional
        Level-0 µm/px of the slides whose metadata has neither mpp nor objective power (e.g. 0.25
        for a 40x scan); ignored for the others.
    min_tissue : float, optional
        Minimum tissue fraction of the region a crop can cover, default 0.7.
    mask_size : int, optional
        Longer side of each slide's thumbnail tissue mask, default 1024 pixels.
    preload_mb : float, optional
        Memory, in MiB, for holding slides' pyramid levels in memory, split evenly between the
        slides (``SlideCropSource(preload_mb=...)``): a slide whose levels fit in its share has
        its crops cut from memory, the others are read per crop. Default 1024; 0 reads every crop.

    Notes
    -----
    The dataset has one entry per slide but no images to read whole: ``dataset[i]`` is an error.
    The trainer calls :meth:`crop_sources` instead. Slides are opened (and their tissue masks
    computed) only then.
    """

    def __init__(self, slides: list[str], root: str | None = None, mpp: float | None = None,
                 min_tissue: float = 0.7, mask_size: int = 1024, preload_mb: float = 1024) -> None:
        if not slides:
            raise ConfigError("dataset 'slides': `slides` is empty; list at least one slide file")
        if mpp is not None and not mpp > 0:
            raise ConfigError(f"dataset 'slides': mpp must be a positive number of µm per pixel; got {mpp}")
        if not 0.0 <= min_tissue <= 1.0:
            raise ConfigError(f"dataset 'slides': min_tissue must be a fraction in [0, 1]; got {min_tissue}")
        if not preload_mb >= 0:
            raise ConfigError(f"dataset 'slides': preload_mb must be >= 0; got {preload_mb}")
        base = None
        if root not in (None, "") or any(not Path(s).expanduser().is_absolute() for s in slides):
            base = resolve_data_root(root, dataset="slides")
        self.paths = [Path(s).expanduser() if base is None else base / Path(s).expanduser() for s in slides]
        for path in self.paths:
            if not path.is_file():
                raise InputError(f"{path}: dataset 'slides': no such slide file")
        self.mpp, self.min_tissue, self.mask_size = mpp, float(min_tissue), int(mask_size)
        self.preload_mb = float(preload_mb)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        raise InputError(
            f"dataset 'slides' ({self.paths[index]}): whole slides are read as training crops "
            "(train_data of nucbench train), not as images; segment a slide with nucbench segment SLIDE"
        )

    def crop_sources(self, *, stain_normalize: bool = False) -> list[SlideCropSource]:
        """One :class:`SlideCropSource` per slide (opens each slide and computes its tissue mask)."""
        return [
            SlideCropSource(path, mpp=self.mpp, min_tissue=self.min_tissue, mask_size=self.mask_size,
                            stain_normalize=stain_normalize, preload_mb=self.preload_mb / len(self.paths))
            for path in self.paths
        ]
