"""Data: dataset registry and downloads, loaders, synthetic generators, sampling, pipelines.

``load_dataset(name, data_dir=None, seed=0)`` is the entry point; see
:mod:`tfrec.data.registry`. Nothing here imports TensorFlow except :mod:`tfrec.data.pipelines`.

The modules, from the bottom up (each imports only modules of the lines above it):

* :mod:`~tfrec.data.types`, :mod:`~tfrec.data.sampling`, :mod:`~tfrec.data.graphs` -- the task
  data containers, negative sampling and hold-out rows, graph normalisation;
* :mod:`~tfrec.data.files` -- reading files (text, delimited tables, safe pickles) and checking
  ``--set`` options;
* :mod:`~tfrec.data.splits` -- the evaluation protocols (NCF leave-latest-out, AttRec sequences,
  session prefixes, the CTR split);
* :mod:`~tfrec.data.synthetic` -- every generated dataset;
* :mod:`~tfrec.data.movielens`, :mod:`~tfrec.data.multibehavior`, :mod:`~tfrec.data.sequences`,
  :mod:`~tfrec.data.sessions`, :mod:`~tfrec.data.ctr` -- the loaders of real and users' data
  (never importing each other);
* :mod:`~tfrec.data.registry` (with :mod:`~tfrec.data.download`), :mod:`~tfrec.data.catalogue`,
  :mod:`~tfrec.data.pipelines` -- what the trainer uses: names to task data, id mappings,
  ``tf.data`` pipelines.
"""

from tfrec.data.registry import get_dataset, list_datasets, load_dataset

__all__ = ["get_dataset", "list_datasets", "load_dataset"]
