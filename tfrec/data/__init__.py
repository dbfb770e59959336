"""Data: dataset registry and downloads, loaders, synthetic generators, sampling, pipelines.

``load_dataset(name, data_dir=None, seed=0)`` is the entry point; see
:mod:`tfrec.data.registry`. Nothing here imports TensorFlow except :mod:`tfrec.data.pipelines`.
"""

from tfrec.data.registry import get_dataset, list_datasets, load_dataset

__all__ = ["get_dataset", "list_datasets", "load_dataset"]
