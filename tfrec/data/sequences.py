"""Next-item sequences for AttRec (seed 001, "Data": ``create_implicit_ml_1m_dataset``).

The reference loops over users in pandas and over positions in Python, re-drawing each
negative with ``random.randint`` until it is not one of the user's items (slow on ML-1M).
:func:`tfrec.data.splits.build_sequences` does the same split with array operations:

* rows are sorted by user, then timestamp, then file order (pandas' stable multi-column sort);
* per user with ``n`` items, position ``n - 1`` is the test target, ``n - 2`` the validation
  target, ``1 .. n - 3`` the training targets; the history of position ``j`` is the ``L = maxlen``
  items before it, left-padded with 0 (Keras ``pad_sequences``' default ``padding="pre"``,
  ``truncating="pre"``);
* negatives are drawn uniformly, with replacement, among the items the user never had: one per
  training and validation example and ``num_test_negatives`` per test user, once, fixed by the
  seed (the reference also draws them once, before training).

Deliberate differences from the reference, also listed in :class:`tfrec.models.attrec.AttRec`:

* items are renumbered ``1..n`` by raw id; the reference samples negatives from every id in
  ``1..max id``, which for ML-1M includes 246 ids with no rating at all (free, untrained
  negatives). tfrec draws only real items.
* the reference's test set has ``len + 100 - (len - 1) = 101`` negatives per user (the tail of
  its negative list); tfrec keeps 101 by default (``num_test_negatives``).

With ``validation=True`` the validation examples also get ``num_test_negatives`` sampled
negatives each and become :attr:`SequenceData.validation`, a ranking split like the test one;
those negatives are drawn after every other draw, so the training and test arrays do not change.

Loaders: :func:`load_ml1m_sequences` (``ml-1m-seq``) and :func:`load_sequences` (``sequences``,
a user's own ``user,item[,rating],timestamp`` file, ids of any text); the offline default
``synthetic-seq`` is :func:`tfrec.data.synthetic.load_synthetic_sequences`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfrec.data.files import (
    apply_threshold,
    check_flag,
    check_threshold,
    find_user_file,
    ids_of,
    read_ml1m_ratings,
    read_ratings_file,
)
from tfrec.data.splits import build_sequences
from tfrec.data.types import SequenceData
from tfrec.errors import DataError, naming

SEQUENCE_LAYOUTS = {2: ("user", "item"), 3: ("user", "item", "timestamp"), 4: ("user", "item", "rating", "timestamp")}


def _from_frame(
    frame: pd.DataFrame, *, name: str, seed: int, maxlen: int, num_test_negatives: int, threshold, validation
) -> SequenceData:
    source = frame.attrs.get("source", "the ratings file")
    validation = check_flag(validation, "validation")
    if "timestamp" not in frame.columns:
        raise DataError(
            f"{source} has no timestamps; AttRec's sequences need each user's items in time order "
            "(rows of user,item[,rating],timestamp)"
        )
    frame = apply_threshold(frame, threshold, source)
    info = {"source": source}
    if threshold is not None:
        info.update(threshold=check_threshold(threshold), positives=f"rating >= {threshold}")
    with naming(source):  # nothing to test on, too few free items: name the file
        return build_sequences(
            ids_of(frame, "user"), ids_of(frame, "item"), frame["timestamp"].to_numpy(),
            maxlen=maxlen, seed=seed, num_test_negatives=num_test_negatives, name=name, info=info, validation=validation,
        )


def load_ml1m_sequences(
    path: Path,
    *,
    seed: int = 0,
    maxlen: int = 5,
    num_test_negatives: int = 101,
    threshold: float | None = None,
    validation: bool = False,
) -> SequenceData:
    """MovieLens-1M ``ratings.dat`` (with timestamps) as AttRec sequences.

    Every rating is an interaction (seed 001's ``trans_score = 1`` keeps ratings >= 1, i.e. all);
    ``threshold`` keeps only ratings at or above it. ``validation`` (default off, the
    reference protocol) adds the validation ranking split.
    """
    return _from_frame(read_ml1m_ratings(path), name="ml-1m", seed=seed, maxlen=maxlen,
                       num_test_negatives=num_test_negatives, threshold=threshold, validation=validation)


def load_sequences(
    path: Path,
    *,
    seed: int = 0,
    maxlen: int = 5,
    num_test_negatives: int = 101,
    threshold: float | None = None,
    validation: bool = True,
) -> SequenceData:
    """A user's own sequences: a CSV/TSV file of ``user,item,timestamp`` or
    ``user,item,rating,timestamp`` rows (header or not; a 3-field header naming a rating column
    means ``user,item,rating`` and is refused: no time order), or a folder holding exactly one
    ``sequences.*`` or ``ratings.*`` file, split as AttRec's (see :func:`tfrec.data.splits.build_sequences`).

    Ids may be any text (int64 when all are integers). Timestamps are numbers.

    Args:
        path: the file or folder.
        seed: seeds the negatives.
        maxlen: history length ``L`` (5).
        num_test_negatives: sampled negatives per test and validation example (101).
        threshold: keep only rows with ``rating >= threshold`` (default ``None``: every row).
        validation: add the validation ranking split (default ``True``).

    Raises:
        DataError: a malformed file (naming the file and line), no timestamps, or nothing to test on.
    """
    file = find_user_file(Path(path).expanduser(), ("sequences", "ratings"), "user,item[,rating],timestamp rows")
    return _from_frame(read_ratings_file(file, layouts=SEQUENCE_LAYOUTS), name="sequences", seed=seed, maxlen=maxlen,
                       num_test_negatives=num_test_negatives, threshold=threshold, validation=validation)


