"""CTR task data (seed 003's CTR models): MovieLens-1M as clicks, and a synthetic generator.

Loaders (the registry calls ``loader(path, seed=seed, **options)``):

* :func:`load_ml1m_ctr` -- ``ratings.dat`` or ``ratings.csv`` (read by
  :func:`tfrec.data.movielens.read_ml1m_ratings`), optionally ``users.dat`` / ``movies.dat``
  for side features;
* :func:`load_synthetic_ctr` -- generated clicks with planted structure (the offline default).

Decisions (seed 003, every CTR section's "Load data" / "Preprocessing"):

* **Labels.** The notebook calls ``load_data('ratings.dat')`` with ``threshold=0``, which sets
  every label to 1: nothing can be learned. tfrec uses explicit feedback as the click signal:
  ``label = rating >= threshold`` (default 4, ``--set threshold=...``). The notebook's own rule
  for ``threshold > 0`` is ``rating > threshold`` (strict); ``>=`` makes ``threshold=4`` mean
  "4 or 5 stars" (57.5% positives on ML-1M).
* **Split.** ``train_test_split(df, test_size=0.15, stratify=userId)``: a random 15% of each
  user's ratings is the test set. tfrec draws it per user, vectorised:
  ``round(test_size * n_u)`` of user ``u``'s ``n_u`` rows, chosen by the seed (sklearn rounds the
  per-user counts slightly differently and uses ``random_state=42``; the distribution is the
  same). The notebook's ``validation_split=0.1`` (the last 10% of train, used only to print
  ``val_loss``) is not kept: tfrec trains on all of train and reports test metrics each epoch.
* **Fields.** The notebook feeds ``user_id`` and ``item_id`` only (ids re-indexed in sorted
  order, as ``astype('category').cat.codes``). ``side_features=True`` adds ``gender`` (2),
  ``age`` (7 groups), ``occupation`` (21), ``zip`` (the first 3 characters of the zip code) from
  ``users.dat`` and ``genres`` (18, multi-hot, padded with ``-1``) from ``movies.dat``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfrec.data.movielens import read_ml1m_ratings
from tfrec.data.types import CTRData, CTRField
from tfrec.errors import DataError

ZIP_PREFIX = 3


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------
def stratified_test_mask(groups: np.ndarray, test_size: float, rng: np.random.Generator) -> np.ndarray:
    """``[N]`` bool: a random ``round(test_size * n_g)`` rows of each group ``g`` (vectorised).

    Args:
        groups: ``[N]`` non-negative int group (user) of each row.
        test_size: fraction in (0, 1).
        rng: the generator that picks the rows.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise DataError(f"test_size must be in (0, 1); got {test_size!r}")
    groups = np.asarray(groups, dtype=np.int64)
    n = len(groups)
    order = np.lexsort((rng.random(n), groups))  # by group, random within a group
    counts = np.bincount(groups)
    starts = np.cumsum(counts) - counts
    sorted_groups = groups[order]
    rank = np.arange(n) - starts[sorted_groups]
    take = np.floor(counts * float(test_size) + 0.5).astype(np.int64)
    mask = np.zeros(n, dtype=bool)
    mask[order[rank < take[sorted_groups]]] = True
    return mask


def _split(features: dict, labels: np.ndarray, groups: np.ndarray, test_size: float, rng) -> tuple:
    test = stratified_test_mask(groups, test_size, rng)
    train_f = {k: np.ascontiguousarray(v[~test]) for k, v in features.items()}
    test_f = {k: np.ascontiguousarray(v[test]) for k, v in features.items()}
    return train_f, labels[~test], test_f, labels[test]


# --------------------------------------------------------------------------------------------
# MovieLens side files
# --------------------------------------------------------------------------------------------
def _read_dat(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """``::``-separated rows of ``len(columns)`` text fields; a bad line is a DataError naming it."""
    try:
        text = path.read_text(encoding="latin-1")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    lines = pd.Series(text.splitlines())
    keep = lines.str.strip() != ""
    numbers = np.flatnonzero(keep.to_numpy()) + 1
    parts = lines[keep].str.split("::", regex=False)
    widths = parts.str.len().to_numpy()
    bad = np.flatnonzero(widths != len(columns))
    if len(numbers) == 0:
        raise DataError(f"{path}: the file is empty; expected {'::'.join(columns)} rows")
    if bad.size:
        line = int(numbers[bad[0]])
        raise DataError(
            f"{path}, line {line}: expected {len(columns)} fields {'::'.join(columns)}; got {int(widths[bad[0]])}: "
            f"{lines[line - 1]!r}"
        )
    frame = pd.DataFrame(parts.tolist(), columns=list(columns))
    frame.attrs["lines"] = numbers
    return frame


def _int_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy()
    bad = np.flatnonzero(~(np.abs(values) < 2.0**63) | (values != np.floor(values)))  # nan, inf, 1.5, beyond int64
    if bad.size:
        line = int(frame.attrs["lines"][bad[0]])
        raise DataError(f"{path}, line {line}: field {column!r} must be an integer; got {frame[column].iloc[bad[0]]!r}")
    return values.astype(np.int64)


def read_users_dat(path: str | Path) -> pd.DataFrame:
    """``users.dat`` (``UserID::Gender::Age::Occupation::Zip-code``) -> columns ``user, gender,
    age, occupation, zip`` with gender / age / occupation / zip prefix as category codes."""
    path = Path(path)
    frame = _read_dat(path, ("UserID", "Gender", "Age", "Occupation", "Zip"))
    gender = frame["Gender"].str.strip().to_numpy()
    bad = np.flatnonzero(~np.isin(gender, ["M", "F"]))
    if bad.size:
        line = int(frame.attrs["lines"][bad[0]])
        raise DataError(f"{path}, line {line}: field 'Gender' must be M or F; got {gender[bad[0]]!r}")
    out = pd.DataFrame({"user": _int_column(frame, "UserID", path)})
    out["gender"] = (gender == "M").astype(np.int32)  # F = 0, M = 1
    out["age"] = np.unique(_int_column(frame, "Age", path), return_inverse=True)[1].astype(np.int32)
    out["occupation"] = np.unique(_int_column(frame, "Occupation", path), return_inverse=True)[1].astype(np.int32)
    out["zip"] = np.unique(frame["Zip"].str.strip().str[:ZIP_PREFIX].to_numpy(), return_inverse=True)[1].astype(np.int32)
    duplicated = np.flatnonzero(out["user"].duplicated().to_numpy())
    if duplicated.size:
        line = int(frame.attrs["lines"][duplicated[0]])
        raise DataError(f"{path}, line {line}: user {out['user'].iloc[duplicated[0]]} is listed twice")
    return out


def read_movies_dat(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``movies.dat`` (``MovieID::Title::Genres``, genres ``|``-separated).

    Returns:
        ``(movie_ids [n], genres [n, M] int32 padded with -1, genre names)``.
    """
    path = Path(path)
    frame = _read_dat(path, ("MovieID", "Title", "Genres"))
    movie_ids = _int_column(frame, "MovieID", path)
    duplicated = np.flatnonzero(pd.Series(movie_ids).duplicated().to_numpy())
    if duplicated.size:
        line = int(frame.attrs["lines"][duplicated[0]])
        raise DataError(f"{path}, line {line}: movie {movie_ids[duplicated[0]]} is listed twice")
    lists = frame["Genres"].str.strip().str.split("|", regex=False)
    lengths = lists.str.len().to_numpy()
    flat = lists.explode().to_numpy(dtype=object)  # one entry per (movie, genre), movie order kept
    if (flat == "").any():
        row = int(np.repeat(np.arange(len(lists)), lengths)[np.flatnonzero(flat == "")[0]])
        raise DataError(f"{path}, line {int(frame.attrs['lines'][row])}: empty genre in {frame['Genres'].iloc[row]!r}")
    names, codes = np.unique(flat.astype(str), return_inverse=True)
    width = int(lengths.max(initial=1))
    genres = np.full((len(lists), width), -1, dtype=np.int32)
    rows = np.repeat(np.arange(len(lists)), lengths)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    genres[rows, cols] = codes
    return movie_ids, genres, [str(n) for n in names]


def _lookup(keys: np.ndarray, table_keys: np.ndarray, what: str, path: Path) -> np.ndarray:
    """Row of each key in ``table_keys``; a key missing from the table is a DataError."""
    order = np.argsort(table_keys)
    pos = np.searchsorted(table_keys, keys, sorter=order)
    pos = np.minimum(pos, len(table_keys) - 1)
    rows = order[pos]
    missing = table_keys[rows] != keys
    if missing.any():
        raise DataError(f"{path}: {what} {int(keys[np.flatnonzero(missing)[0]])} of the ratings has no row in this file")
    return rows


# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------
def load_ml1m_ctr(
    path: Path,
    *,
    seed: int = 0,
    threshold: float = 4,
    side_features: bool = False,
    test_size: float = 0.15,
) -> CTRData:
    """MovieLens-1M ratings as CTR data (see the module docstring for every decision).

    Args:
        path: folder with ``ratings.dat`` or ``ratings.csv``; with ``side_features`` also
            ``users.dat`` and ``movies.dat``.
        seed: picks the test rows.
        threshold: ``label = rating >= threshold``.
        side_features: add gender, age, occupation, zip prefix and genres (multi-hot).
        test_size: fraction of each user's ratings held out (seed 003: 0.15).

    Raises:
        DataError: missing or malformed files (the message names the file and line), ratings
            without a rating column, or ids missing from the side files.
    """
    path = Path(path)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise DataError(f"threshold must be a number; got {threshold!r}")
    if not isinstance(side_features, bool):
        raise DataError(f"side_features must be true or false; got {side_features!r}")
    frame = read_ml1m_ratings(path)
    source = frame.attrs.get("source", str(path))
    if "rating" not in frame.columns:
        raise DataError(f"{source}: CTR labels need a rating column (user,item,rating[,timestamp])")
    raw_users, raw_items = frame["user"].to_numpy(), frame["item"].to_numpy()
    user_ids, users = np.unique(raw_users, return_inverse=True)
    item_ids, items = np.unique(raw_items, return_inverse=True)
    labels = (frame["rating"].to_numpy() >= threshold).astype(np.float32)
    features = {"user_id": users.astype(np.int32), "item_id": items.astype(np.int32)}
    fields = [CTRField("user_id", len(user_ids)), CTRField("item_id", len(item_ids))]
    info = {"source": source, "threshold": threshold, "label": f"rating >= {threshold}", "side_features": side_features}
    if side_features:
        users_file, movies_file = path / "users.dat", path / "movies.dat"
        profile = read_users_dat(users_file)
        rows = _lookup(user_ids, profile["user"].to_numpy(), "user", users_file)[users]
        for column in ("gender", "age", "occupation", "zip"):
            values = profile[column].to_numpy()
            features[column] = values[rows].astype(np.int32)
            fields.append(CTRField(column, int(values.max()) + 1))
        movie_ids, genres, names = read_movies_dat(movies_file)
        rows = _lookup(item_ids, movie_ids, "movie", movies_file)
        item_genres = genres[rows]
        item_genres = item_genres[:, : max(1, int((item_genres >= 0).sum(axis=1).max(initial=1)))]
        features["genres"] = item_genres[items]
        fields.append(CTRField("genres", len(names), multi_hot=True))
        info["genres"] = names
        info["side_files"] = [str(users_file), str(movies_file)]
    rng = np.random.default_rng(seed)
    train_f, train_y, test_f, test_y = _split(features, labels, users, test_size, rng)
    return CTRData(
        name="ml-1m-ctr",
        fields=tuple(fields),
        train_features=train_f,
        train_labels=train_y,
        test_features=test_f,
        test_labels=test_y,
        user_ids=user_ids,
        item_ids=item_ids,
        info={**info, "split": f"random {test_size:g} of each user's ratings", "seed": seed},
    )


def make_synthetic_ctr(
    *,
    seed: int = 0,
    num_users: int = 300,
    num_items: int = 200,
    rows_per_user: int = 40,
    num_groups: int = 3,
    num_genres: int = 6,
    max_genres: int = 3,
    side_features: bool = True,
    test_size: float = 0.15,
) -> CTRData:
    """Generated clicks with planted structure that an interaction model must learn.

    Each user has a latent taste ``p_u`` (4 dims) and a group ``g_u``; each item a latent
    ``q_i``, a popularity bias ``b_i`` and 1..``max_genres`` genres. A shown (user, item) pair is
    clicked with probability ``sigmoid(2 <p_u, q_i> + b_i + A[g_u, genres_i].mean())``, where
    ``A`` is a random group x genre affinity. The item's click rate (the baseline) captures
    ``b_i`` only; the user-item and group-genre terms need feature interactions.

    Fields: ``user_id``, ``item_id`` and, with ``side_features``, ``group`` (single-hot) and
    ``genres`` (multi-hot, ``-1``-padded).
    """
    rng = np.random.default_rng([seed, 3003])
    p = rng.normal(size=(num_users, 4)) / 2.0
    q = rng.normal(size=(num_items, 4)) / 2.0
    bias = rng.normal(scale=1.0, size=num_items)
    groups = rng.integers(0, num_groups, size=num_users)
    affinity = rng.normal(scale=1.5, size=(num_groups, num_genres))
    counts = rng.integers(1, max_genres + 1, size=num_items)
    genre_keys = rng.random((num_items, num_genres)).argsort(axis=1)[:, :max_genres]
    genres = np.where(np.arange(max_genres)[None, :] < counts[:, None], genre_keys, -1).astype(np.int32)
    users = np.repeat(np.arange(num_users), rows_per_user)
    items = rng.integers(0, num_items, size=len(users))
    mask = genres[items] >= 0
    genre_term = (affinity[groups[users][:, None], np.maximum(genres[items], 0)] * mask).sum(1) / mask.sum(1)
    logit = 2.0 * (p[users] * q[items]).sum(1) + bias[items] + genre_term
    labels = (rng.random(len(users)) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    features = {"user_id": users.astype(np.int32), "item_id": items.astype(np.int32)}
    fields = [CTRField("user_id", num_users), CTRField("item_id", num_items)]
    if side_features:
        features["group"] = groups[users].astype(np.int32)
        features["genres"] = genres[items]
        fields += [CTRField("group", num_groups), CTRField("genres", num_genres, multi_hot=True)]
    train_f, train_y, test_f, test_y = _split(features, labels, users, test_size, rng)
    return CTRData(
        name="synthetic-ctr",
        fields=tuple(fields),
        train_features=train_f,
        train_labels=train_y,
        test_features=test_f,
        test_labels=test_y,
        info={"generator": "tfrec.data.ctr.make_synthetic_ctr", "seed": seed, "side_features": side_features},
    )


def load_synthetic_ctr(path: Path | None = None, *, seed: int = 0, side_features: bool = True, test_size: float = 0.15) -> CTRData:
    """The registry's ``synthetic-ctr`` loader (``path`` is always ``None``)."""
    if not isinstance(side_features, bool):
        raise DataError(f"side_features must be true or false; got {side_features!r}")
    if not 0.0 < float(test_size) < 1.0:
        raise DataError(f"test_size must be in (0, 1); got {test_size!r}")
    return make_synthetic_ctr(seed=seed, side_features=side_features, test_size=test_size)
