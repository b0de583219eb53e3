"""Data layer: samples, dataset readers, slide access, tissue detection, stain normalisation."""

from nucbench.data.sample import Sample

__all__ = ["Sample"]
