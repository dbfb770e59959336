"""Every synthetic dataset: generated task data with planted structure, the offline defaults.

Each generator is deterministic given ``seed`` (every draw comes from a numpy generator seeded
from it), needs no download and takes no ``--data-dir``; each goes through the protocol of the
real data it stands in for (:mod:`tfrec.data.splits`):

* :func:`load_synthetic` (``synthetic``, implicit feedback, NCF) -- planted latent factors;
* :func:`load_synthetic_mb` (``synthetic-mb``, MB-GMN) -- nested behaviors view >= cart >= buy;
* :func:`load_synthetic_sequences` (``synthetic-seq``, AttRec) -- walks on a circle of items;
* :func:`synthetic_sessions` (``synthetic-sessions``, COTREC) -- a planted item-transition chain;
* :func:`make_synthetic_ctr` / :func:`load_synthetic_ctr` (``synthetic-ctr``, CTR models) --
  clicks from latent tastes, popularity and a group x genre affinity.

The implicit-feedback data: users and items get random latent factors (:func:`planted_affinity`);
an item's appeal to a user is

    affinity[u, i] = sharpness * <p_u, q_i> / sqrt(latent_dim) + popularity_weight * b_i

with ``b_i ~ N(0, 1)`` a popularity term. Each user interacts with ``interactions_per_user``
distinct items drawn without replacement with probabilities ``softmax(affinity[u])`` (the
Gumbel-top-k trick, vectorised over all users), in random order; the last one is the test item
(through :func:`tfrec.data.splits.leave_latest_out`, so the protocol is exactly ML-1M's).

Because the interactions depend mostly on the latent factors, a model that learns them ranks
the held-out item far better than item popularity; ``tests/data/test_synthetic.py`` checks
that the planted affinity itself beats popularity by a wide margin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tfrec.data.files import check_flag, check_fraction
from tfrec.data.sampling import held_out_negatives, pair_matrix
from tfrec.data.splits import build_sequences, leave_latest_out, prefix_pairs, stratified_split, validation_rule
from tfrec.data.types import (
    CTRData,
    CTRField,
    ImplicitFeedback,
    MultiBehavior,
    RankingSplit,
    SequenceData,
    SessionData,
    SessionSequences,
)
from tfrec.errors import DataError, UserError


# --------------------------------------------------------------------------------------------
# Implicit feedback
# --------------------------------------------------------------------------------------------
def planted_affinity(seed: int, num_users: int, num_items: int, latent_dim: int, sharpness: float, popularity_weight: float) -> np.ndarray:
    """The ``[num_users, num_items]`` affinity the interactions are drawn from (the "oracle")."""
    rng = np.random.default_rng([seed, 1])
    users = rng.normal(size=(num_users, latent_dim))
    items = rng.normal(size=(num_items, latent_dim))
    popularity = rng.normal(size=num_items)
    return sharpness * users @ items.T / np.sqrt(latent_dim) + popularity_weight * popularity


def load_synthetic(
    path: Path | None = None,
    *,
    seed: int = 0,
    num_users: int = 1000,
    num_items: int = 500,
    latent_dim: int = 8,
    interactions_per_user: int = 30,
    sharpness: float = 2.0,
    popularity_weight: float = 1.0,
    num_test_negatives: int = 99,
    validation: bool = False,
) -> ImplicitFeedback:
    """Generate the dataset (deterministic given ``seed``); ``path`` is ignored.

    Args:
        seed: seeds the planted factors, the interactions and the test negatives.
        num_users, num_items: catalogue size.
        latent_dim: size of the planted factors.
        interactions_per_user: distinct items per user (one becomes the test item).
        sharpness: scale of the latent term; larger makes users more predictable.
        popularity_weight: scale of the item-popularity term.
        num_test_negatives: sampled test negatives per user.
        validation: also hold out each user's second-latest item as a validation split
            (default off: the arrays are those of earlier versions for the same seed).
    """
    validation = check_flag(validation, "validation")
    if interactions_per_user < 2 or interactions_per_user + num_test_negatives > num_items:
        raise UserError(
            "synthetic data needs 2 <= interactions_per_user and interactions_per_user + num_test_negatives <= "
            f"num_items; got {interactions_per_user}, {num_test_negatives}, {num_items}"
        )
    affinity = planted_affinity(seed, num_users, num_items, latent_dim, sharpness, popularity_weight)
    rng = np.random.default_rng([seed, 2])
    gumbel = affinity + rng.gumbel(size=affinity.shape)
    chosen = np.argpartition(-gumbel, interactions_per_user - 1, axis=1)[:, :interactions_per_user]
    timestamps = rng.permuted(np.tile(np.arange(interactions_per_user), (num_users, 1)), axis=1)
    frame = pd.DataFrame(
        {
            "user": np.repeat(np.arange(num_users), interactions_per_user),
            "item": chosen.ravel(),
            "rating": np.ones(chosen.size),
            "timestamp": timestamps.ravel(),
        }
    )
    frame.attrs["source"] = "synthetic"
    return leave_latest_out(
        frame, name="synthetic", seed=seed, num_test_negatives=num_test_negatives, shape=(num_users, num_items),
        validation=validation,
    )


# --------------------------------------------------------------------------------------------
# Multi-behavior
# --------------------------------------------------------------------------------------------
#: ``load_synthetic_mb(size=...)``: the catalogue sizes of MB-GMN's datasets (Xia et al. 2021,
#: Table 1) and mean per-user counts of each behavior, chosen so that the generated total is the
#: paper's (BeiBei 3,338,068, Tmall 7,658,926, IJCAI 36,203,512 interactions; seed 0 draws
#: 3,347,654, 7,694,577 and 36,301,975, the held-out buys included); ``fav``: whether the dataset
#: has the favourite behavior.
_MB_SIZES = {
    "beibei": {"users": 21_716, "items": 7_977, "views_per_user": 140, "favs_per_user": 8, "carts_per_user": 30,
               "buys_per_user": 14, "fav": False},
    "tmall": {"users": 147_894, "items": 99_037, "views_per_user": 42, "favs_per_user": 4, "carts_per_user": 4,
              "buys_per_user": 3, "fav": True},
    "ijcai": {"users": 423_423, "items": 874_328, "views_per_user": 74, "favs_per_user": 5, "carts_per_user": 5,
              "buys_per_user": 3, "fav": True},
}
#: The values without ``size`` (MB-GMN's offline default of earlier versions).
_MB_DEFAULTS = {"users": 3000, "items": 800, "views_per_user": 20, "favs_per_user": 4, "carts_per_user": 8,
                "buys_per_user": 4}
_MB_GENERATORS = ("auto", "planted", "powerlaw")
_PLANTED_LIMIT = 50_000_000  # users * items of the dense affinity the planted generator builds (400 MB)
_ZIPF = 0.8  # powerlaw: item popularity ~ (rank + 1) ** -0.8 (_zipf_ranks hard-codes 1 / (1 - 0.8) = 5)
_ACTIVITY_SIGMA = 1.0  # powerlaw: user activity ~ lognormal with mean 1 and this sigma


def _mb_count(value, option: str, low: int) -> int:
    """An integer option ``>= low`` (an integral float such as ``4e5`` is accepted)."""
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))
    ok = ok and np.isfinite(value) and float(value).is_integer() and value >= low
    if not ok:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise DataError(f"synthetic-mb: --set {option} must be {what}; got {value!r}")
    return int(value)


def _mb_settings(size, given: dict, fav, generator, validation: bool, num_test_negatives) -> tuple:
    """The checked options of :func:`load_synthetic_mb`: ``(counts, fav, generator,
    num_test_negatives, size)`` with ``counts`` the users, items and per-user behavior counts (the
    preset's, then the given ones), ``generator`` resolved from ``"auto"`` and ``size`` the preset's
    name or ``None``."""
    preset = {}
    if isinstance(size, str) and size.lower() in ("", "none"):
        size = None
    if size is not None:
        key = str(size).lower()
        if key not in _MB_SIZES:
            from tfrec.registry import did_you_mean

            raise DataError(
                f"synthetic-mb: unknown --set size {size!r}; {did_you_mean(key, _MB_SIZES)}valid sizes: "
                f"{', '.join(_MB_SIZES)} (or none)"
            )
        preset, size = _MB_SIZES[key], key
    counts = {name: preset.get(name, default) for name, default in _MB_DEFAULTS.items()}
    counts.update({name: value for name, value in given.items() if value is not None})
    if fav is None:  # the preset's; favs_per_user alone asks for favs too
        fav = preset.get("fav", False) or given.get("favs_per_user") is not None
    else:
        fav = check_flag(fav, "fav")
        if not fav and given.get("favs_per_user") is not None:
            raise DataError("synthetic-mb: --set favs_per_user needs the fav behavior, but fav is false")
    for name in ("users", "items", "views_per_user", "carts_per_user"):
        counts[name] = _mb_count(counts[name], name, 1)
    counts["favs_per_user"] = _mb_count(counts["favs_per_user"], "favs_per_user", 1)
    counts["buys_per_user"] = _mb_count(counts["buys_per_user"], "buys_per_user", 2)
    num_test_negatives = _mb_count(num_test_negatives, "num_test_negatives", 0)
    if validation and counts["buys_per_user"] < 3:
        raise DataError(
            f"synthetic-mb: validation needs buys_per_user >= 3 (one test, one validation, one to train); "
            f"got {counts['buys_per_user']}"
        )
    c = counts
    for small, large in (("buys_per_user", "carts_per_user"), ("carts_per_user", "views_per_user")) + (
        (("favs_per_user", "views_per_user"),) if fav else ()
    ):
        if c[small] > c[large]:
            raise DataError(
                f"synthetic-mb: {small} ({c[small]}) > {large} ({c[large]}); the behaviors are nested "
                "(buy in cart in pv, fav in pv)"
            )
    if c["views_per_user"] > c["items"]:
        raise DataError(f"synthetic-mb: views_per_user ({c['views_per_user']}) > items ({c['items']})")
    if c["buys_per_user"] + num_test_negatives > c["items"]:
        raise DataError(
            f"synthetic-mb: buys_per_user ({c['buys_per_user']}) + num_test_negatives ({num_test_negatives}) > "
            f"items ({c['items']}); every user needs num_test_negatives items it has not bought"
        )
    generator = generator.lower() if isinstance(generator, str) else generator
    if generator not in _MB_GENERATORS:
        from tfrec.registry import did_you_mean

        raise DataError(
            f"synthetic-mb: unknown --set generator {generator!r}; {did_you_mean(generator, _MB_GENERATORS)}"
            f"valid generators: {', '.join(_MB_GENERATORS)}"
        )
    cells = c["users"] * c["items"]
    if generator == "auto":
        generator = "planted" if cells <= _PLANTED_LIMIT else "powerlaw"
    elif generator == "planted" and cells > _PLANTED_LIMIT:
        raise DataError(
            f"synthetic-mb: generator 'planted' builds a dense users x items affinity; {c['users']} x {c['items']} "
            f"is over its limit of {_PLANTED_LIMIT:,} cells: use --set generator=powerlaw (or auto)"
        )
    return counts, fav, generator, num_test_negatives, size


def load_synthetic_mb(
    path: Path | None = None,
    *,
    seed: int = 0,
    size: str | None = None,
    users: int | None = None,
    items: int | None = None,
    views_per_user: int | None = None,
    favs_per_user: int | None = None,
    carts_per_user: int | None = None,
    buys_per_user: int | None = None,
    fav: bool | None = None,
    generator: str = "auto",
    latent_dim: int = 8,
    sharpness: float = 2.0,
    num_test_negatives: int = 99,
    validation: bool = False,
) -> MultiBehavior:
    """Nested synthetic behaviors ``pv >= [fav] >= cart >= buy`` with planted structure, from
    MB-GMN's offline size (3000 x 800, the default) to its datasets' (``size="ijcai"``).

    Sizes: ``size`` picks a preset (``None``: 3000 users x 800 items with 20 views, 8 carts and 4
    buys per user; ``"beibei"``, ``"tmall"``, ``"ijcai"``: the catalogues of MB-GMN's datasets,
    see References); an option given explicitly (``users``, ``items``, ``*_per_user``, ``fav``)
    overrides the preset's value, ``None`` keeps it. Behaviors are ``("pv", "cart", "buy")``, or
    ``("pv", "fav", "cart", "buy")`` with ``fav`` (default on for ``tmall`` and ``ijcai``); the
    target ``buy`` is last. Every user has at least 2 buys (3 with ``validation``); one random
    buy per user is held out as the test item, with ``num_test_negatives`` seeded negatives that
    are neither a training buy of the user nor the held-out item
    (:func:`tfrec.data.sampling.held_out_negatives`).

    Generators (``generator="auto"``: ``"planted"`` while ``users * items <= 5e7``, else
    ``"powerlaw"``):

    * ``"planted"`` (exact per-user counts; a dense ``[users, items]`` affinity, the arrays of
      earlier versions for the same seed): the affinity of :func:`planted_affinity`,
      ``a[u, i] = sharpness * <p_u, q_i> / sqrt(latent_dim) + b_i``; each user views
      ``views_per_user`` items drawn by ``softmax(a[u])`` (Gumbel-top-k), carts the
      ``carts_per_user`` viewed items of highest ``a[u, i] + Gumbel`` and buys the
      ``buys_per_user`` best carted ones; favs are the ``favs_per_user`` viewed items of highest
      ``a[u, i] + Gumbel`` (fresh noise: not nested with carts).
    * ``"powerlaw"`` (vectorised, sparse throughout, int32 CSR indices; never ``[users, items]``):
      items get a random popularity rank ``r_i`` and a cluster ``c_i`` uniform over
      ``K = latent_dim`` clusters, with popularity ``pop_i ~ (r_i + 1) ** -0.8`` (Zipf-like);
      users get an activity ``a_u ~ LogNormal(-1/2, 1)`` (mean 1, heavy-tailed) and a home
      cluster ``g_u``. User ``u`` makes ``round(views_per_user * a_u)`` view draws (at least its
      carts, at most ``items``), each with probability ``s = sharpness / (1 + sharpness)`` from its
      home cluster ``~ pop_i [c_i = g_u]`` and otherwise from every item ``~ pop_i``, so that
      ``E[views[u, i]] ~ pop_i * ((1 - s) + s [c_i = g_u] / P(g_u))``: popularity times a
      rank-``K`` user-cluster preference a model can learn beyond popularity. Repeated draws of
      an item count once (so heavy users view a little fewer items than drawn). Each view gets the
      score ``sharpness * [c_i = g_u] + Gumbel``; the ``n_cart(u) = max(round(carts_per_user *
      a_u), n_buy(u))`` best viewed items are carted and the ``n_buy(u) = round(buys_per_user *
      a_u)`` best of them bought (clipped to ``[2, items - num_test_negatives]``, 3 with
      ``validation``), so ``buy ⊆ cart ⊆ pv``. With ``fav`` each view is a fav independently with
      probability ``round(favs_per_user * a_u) / |pv(u)| * w / mean_u(w)``, ``w = 1 + sharpness
      [c_i = g_u]`` (clipped to 1), so ``fav ⊆ pv``. The per-user options are means here.

    Args:
        path: ignored (generated data).
        seed: seeds every draw (the generator of each step is ``default_rng([seed, k])``).
        size: ``None``, ``"beibei"``, ``"tmall"`` or ``"ijcai"`` (see above).
        users, items: catalogue size (default 3000 x 800, or the preset's).
        views_per_user, favs_per_user, carts_per_user, buys_per_user: per-user counts of each
            behavior (exact for ``planted``, means for ``powerlaw``); defaults 20, 4, 8, 4 or
            the preset's. Need ``buys <= carts <= views <= items``, ``favs <= views``.
        fav: add the fav behavior between pv and cart (default: the preset's, off without one;
            on when ``favs_per_user`` is given).
        generator: ``"auto"``, ``"planted"`` or ``"powerlaw"``.
        latent_dim: planted factor size (planted) or number of item clusters (powerlaw).
        sharpness: strength of the planted signal (see above).
        num_test_negatives: sampled test negatives per user.
        validation: also hold out a second random buy per user as the validation split (needs 3
            buys per user; planted: drawn from a generator of its own, so the test buys stay
            those without validation; powerlaw: the minimum of 3 buys changes the draws).

    Returns:
        :class:`tfrec.data.types.MultiBehavior` with one ``[users, items]`` binary float32 CSR
        matrix per behavior (int32 indices; the buy matrix without the held-out buys),
        ``test_users [users]`` (every user), ``test_items [users]``, ``test_negatives [users,
        num_test_negatives]`` (int64) and ``info["generator"]`` / ``info["size"]``. At the
        presets' sizes (2 CPU cores): ``beibei`` 2.4M / 0.66M / 0.29M pv / cart / buy
        interactions in about 1 s, ``tmall`` 5.9M / 0.59M / 0.65M / 0.37M pv / fav / cart / buy in
        about 5 s and 0.8 GB, ``ijcai`` 30.5M / 2.1M / 2.2M / 1.1M in about 20 s and 2.2 GB (half
        of it drawing the test negatives).

    Raises:
        DataError: a size that is not a positive integer, an unknown ``size`` or ``generator``,
            counts that cannot nest or fit (``buys_per_user > carts_per_user``, more views than
            items, too few items for the negatives), or ``"planted"`` past its dense limit.

    Example:
        >>> data = load_synthetic_mb(seed=0, users=50, items=300, generator="powerlaw", fav=True,
        ...                          views_per_user=12, favs_per_user=3, carts_per_user=5, buys_per_user=3,
        ...                          num_test_negatives=20)
        >>> data.behaviors, data.matrices[0].shape, data.test_negatives.shape
        (('pv', 'fav', 'cart', 'buy'), (50, 300), (50, 20))
        >>> pv, fav, cart, buy = data.matrices
        >>> (buy > cart).nnz == (cart > pv).nnz == (fav > pv).nnz == 0  # nested
        True
        >>> bool((buy[data.test_users, data.test_items] == 0).all())  # the test buy is held out
        True

    References:
        Xia et al., "Graph Meta Network for Multi-Behavior Recommendation", SIGIR 2021
        (https://github.com/akaxlh/MB-GMN), Table 1: BeiBei 21,716 users x 7,977 items (pv, cart,
        buy; 3,338,068 interactions), Tmall 147,894 x 99,037 (pv, fav, cart, buy; 7,658,926),
        IJCAI-Contest 423,423 x 874,328 (pv, fav, cart, buy; 36,203,512). The presets' per-behavior
        split is this generator's choice (the paper gives totals only).
    """
    validation = check_flag(validation, "validation")
    given = {"users": users, "items": items, "views_per_user": views_per_user, "favs_per_user": favs_per_user,
             "carts_per_user": carts_per_user, "buys_per_user": buys_per_user}
    counts, fav, generator, num_test_negatives, size = _mb_settings(
        size, given, fav, generator, validation, num_test_negatives
    )
    latent_dim = _mb_count(latent_dim, "latent_dim", 1)
    if isinstance(sharpness, (bool, np.bool_)) or not isinstance(sharpness, (int, float, np.integer, np.floating)) \
            or not sharpness >= 0 or not np.isfinite(sharpness):
        raise DataError(f"synthetic-mb: --set sharpness must be a number >= 0; got {sharpness!r}")
    num_users, num_items = counts["users"], counts["items"]
    if generator == "planted":
        pv, favs, cart, buy, test_items, held = _planted_mb(seed, counts, fav, latent_dim, sharpness, validation)
    else:
        pv, favs, cart, buy, test_items, held = _powerlaw_mb(
            seed, counts, fav, latent_dim, float(sharpness), validation, num_test_negatives
        )
    test_users = np.arange(num_users, dtype=np.int64)
    negatives, val_negatives = held_out_negatives(
        buy, (test_users, test_items), held, num_test_negatives, np.random.default_rng(seed)
    )
    behaviors, matrices = ("pv", "cart", "buy"), (pv, cart, buy)
    if fav:
        behaviors, matrices = ("pv", "fav", "cart", "buy"), (pv, favs, cart, buy)
    return MultiBehavior(
        name="synthetic-mb",
        num_users=num_users,
        num_items=num_items,
        behaviors=behaviors,
        matrices=matrices,
        test_users=test_users,
        test_items=test_items.astype(np.int64),
        test_negatives=negatives,
        info={"source": "synthetic", "seed": seed, "generator": generator, "size": size,
              "split": "one random buy per user held out" + (", a second one as validation" if validation else "")},
        validation=RankingSplit(*held, val_negatives) if validation else None,
    )


def _planted_mb(seed: int, counts: dict, fav: bool, latent_dim: int, sharpness: float, validation: bool):
    """The planted generator (exact counts, dense affinity): ``(pv, fav or None, cart, train buy,
    test items, validation pairs or None)``; the draws of earlier versions for the same seed."""
    num_users, num_items = counts["users"], counts["items"]
    views_per_user, carts_per_user, buys_per_user = counts["views_per_user"], counts["carts_per_user"], counts["buys_per_user"]
    affinity = planted_affinity(seed, num_users, num_items, latent_dim, sharpness, 1.0)
    rng = np.random.default_rng([seed, 3])
    views = np.argpartition(-(affinity + rng.gumbel(size=affinity.shape)), views_per_user - 1, axis=1)[:, :views_per_user]
    noisy = np.take_along_axis(affinity, views, axis=1) + rng.gumbel(size=views.shape)
    carts = np.take_along_axis(views, np.argsort(-noisy, axis=1)[:, :carts_per_user], axis=1)
    buys = carts[:, :buys_per_user]  # carts are sorted by noisy affinity: the best ones are bought
    held_at = rng.integers(0, buys_per_user, num_users)
    test_items = buys[np.arange(num_users), held_at]

    def matrix(items):
        rows = np.repeat(np.arange(num_users), items.shape[1])
        return sp.csr_matrix((np.ones(rows.size, np.float32), (rows, items.ravel())), shape=(num_users, num_items))

    buy = matrix(buys)
    buy[np.arange(num_users), test_items] = 0
    held = None
    if validation:  # another of the user's buys, from a generator of its own
        other = (held_at + np.random.default_rng([seed, 4]).integers(1, buys_per_user, num_users)) % buys_per_user
        held = (np.arange(num_users, dtype=np.int64), buys[np.arange(num_users), other].astype(np.int64))
        buy = (buy - buy.multiply(pair_matrix(*held, buy.shape))).tocsr()
    buy.eliminate_zeros()
    favs = None
    if fav:  # from a generator of its own: the other behaviors stay those without fav
        noisy = np.take_along_axis(affinity, views, axis=1) + np.random.default_rng([seed, 5]).gumbel(size=views.shape)
        favs = matrix(np.take_along_axis(views, np.argsort(-noisy, axis=1)[:, :counts["favs_per_user"]], axis=1))
    return matrix(views), favs, matrix(carts), buy.tocsr(), test_items, held


def _zipf_ranks(uniform: np.ndarray, n, span) -> np.ndarray:
    """Ranks in ``[0, n)`` with ``P(r) ~ (r + 1) ** -0.8``: the inverse CDF ``(1 + u * span) ** 5``
    of the continuous power law on ``[1, n + 1)``, floored, with ``span = (n + 1) ** 0.2 - 1``;
    ``n`` and ``span`` may be arrays (one catalogue per draw). ``uniform`` is overwritten."""
    uniform *= span
    uniform += 1.0
    ranks = uniform * uniform
    ranks *= ranks
    ranks *= uniform  # ** 5 in three products: several times faster than np.power
    ranks = ranks.astype(np.int64)
    ranks -= 1
    return np.minimum(ranks, np.asarray(n, np.int64) - 1, out=ranks)


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``keys``, sorted in place (a sort and a neighbour mask: faster
    than ``np.unique``'s hash table at tens of millions)."""
    keys.sort()
    keep = np.empty(keys.size, bool)
    keep[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``keys`` found in ``sorted_keys`` (one binary search each)."""
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[at] == keys


def _top_up(keys: np.ndarray, have: np.ndarray, need: int, num_items: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted ``keys`` (``user * num_items + item``; ``have[u]`` of user ``u``) plus uniform new
    items for every user with fewer than ``need``, until each has ``need`` (rejection rounds over
    the few short users)."""
    num_users = have.size
    missing = np.maximum(need - have, 0)
    extra = np.zeros(0, np.int64)
    while missing.any():
        short = np.repeat(np.arange(num_users, dtype=np.int64), missing)
        new = _distinct(short * num_items + rng.integers(0, num_items, short.size))
        new = new[~_member(new, keys) & ~_member(new, extra)]
        extra = np.union1d(extra, new)
        missing -= np.bincount(new // num_items, minlength=num_users)
    return np.sort(np.concatenate([keys, extra])) if extra.size else keys


def _rank_in_rows(rows: np.ndarray, have: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``[R]`` rank of each entry within its row by ascending ``key`` (0 the smallest), for
    entries sorted by row, ``have[r]`` in row ``r``.

    One sort of int64 words ``row | quantised key | position in row`` (several times faster than
    an argsort of floats); an ``np.lexsort`` when the three do not fit in 63 bits.
    """
    start = np.zeros(have.size, np.int64)
    np.cumsum(have[:-1], out=start[1:])
    local = np.arange(rows.size, dtype=np.int64)
    local -= np.repeat(start, have)
    local_bits = int(max(int(have.max(initial=1)), 1) - 1).bit_length()
    key_bits = min(63 - int(have.size - 1).bit_length() - local_bits, 52)  # 52: exact through float64
    if key_bits >= 24 and rows.size:
        low, high = float(key.min()), float(key.max())
        top = (1 << key_bits) - 1
        packed = ((key - low) * (top / max(high - low, 1e-300))).astype(np.int64)
        np.clip(packed, 0, top, out=packed)
        packed <<= local_bits
        packed |= local
        packed |= rows.astype(np.int64) << (key_bits + local_bits)
        packed.sort()
        order = packed & ((1 << local_bits) - 1)
        packed >>= key_bits + local_bits
        order += start[packed]
        del packed
    else:  # beyond 2**39 users x longest row
        order = np.lexsort((key, rows))
    rank = np.empty(rows.size, np.int64)
    rank[order] = local
    return rank


def _rows_csr(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Binary float32 CSR of pairs already sorted by row, then column (no duplicates)."""
    indptr = np.zeros(shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    index = np.int32 if max(shape[1], rows.size) < 2**31 else np.int64
    matrix = sp.csr_matrix((np.ones(rows.size, np.float32), cols.astype(index), indptr.astype(index)), shape=shape)
    matrix.has_sorted_indices = True
    return matrix


def _powerlaw_mb(seed: int, counts: dict, fav: bool, clusters: int, sharpness: float, validation: bool, num_test_negatives: int):
    """The powerlaw generator (see :func:`load_synthetic_mb`): ``(pv, fav or None, cart, train
    buy, test items, validation pairs or None)``, vectorised, memory linear in the interactions."""
    num_users, num_items = counts["users"], counts["items"]
    shape = (num_users, num_items)
    e = 1.0 - _ZIPF  # 0.2: the exponent of _zipf_ranks' spans
    rng = np.random.default_rng([seed, 11])  # items: popularity rank and cluster
    by_rank = rng.permutation(num_items)  # by_rank[r]: the item of popularity rank r
    cluster = rng.integers(0, clusters, num_items)
    members = by_rank[np.argsort(cluster[by_rank], kind="stable")]  # each cluster's items, most popular first
    cluster_size = np.bincount(cluster, minlength=clusters)
    cluster_start = np.concatenate([[0], np.cumsum(cluster_size)[:-1]])
    cluster_span = (cluster_size + 1.0) ** e - 1.0

    rng = np.random.default_rng([seed, 12])  # users: activity and home cluster
    sigma = _ACTIVITY_SIGMA
    activity = np.exp(rng.normal(-sigma * sigma / 2, sigma, num_users))
    nonempty = np.flatnonzero(cluster_size)
    home = nonempty[rng.integers(0, nonempty.size, num_users)]
    min_buys = 3 if validation else 2

    def per_user(option, low, high):
        return np.clip(np.rint(counts[option] * activity), low, high).astype(np.int64)

    n_buy = per_user("buys_per_user", min_buys, num_items - num_test_negatives)
    n_cart = np.maximum(per_user("carts_per_user", 0, num_items), n_buy)
    n_view = np.maximum(per_user("views_per_user", 0, num_items), n_cart)

    rng = np.random.default_rng([seed, 13])  # views: draws with replacement, then distinct
    keys = np.repeat(np.arange(num_users, dtype=np.int64), n_view)
    personal = np.flatnonzero(rng.random(keys.size) < sharpness / (1.0 + sharpness))
    item = by_rank[_zipf_ranks(rng.random(keys.size), num_items, (num_items + 1.0) ** e - 1.0)]
    g = home[keys[personal]]
    item[personal] = members[cluster_start[g] + _zipf_ranks(rng.random(g.size), cluster_size[g], cluster_span[g])]
    del g, personal
    keys *= num_items
    keys += item
    del item
    keys = _distinct(keys)
    user = keys // num_items
    have = np.bincount(user, minlength=num_users)
    if have.min() < min_buys:  # rare: repeated draws left a user short of its buys
        keys = _top_up(keys, have, min_buys, num_items, rng)
        user = keys // num_items
        have = np.bincount(user, minlength=num_users)
    keys -= user * num_items
    user, item = user.astype(np.int32), keys.astype(np.int32)
    del keys
    n_cart = np.minimum(n_cart, have)
    n_buy = np.minimum(n_buy, n_cart)
    inside = cluster[item] == home[user]

    # carts: the n_cart best views by score = sharpness * inside + Gumbel, buys the n_buy best
    # (-log E ~ Gumbel for E ~ Exp(1): the ascending key is log E - sharpness * inside)
    key = np.log(np.random.default_rng([seed, 14]).standard_exponential(user.size))
    key -= sharpness * inside
    rank = _rank_in_rows(user, have, key)
    del key
    carted = rank < n_cart[user]
    bought = rank < n_buy[user]
    del rank

    favs = None
    if fav:  # from a generator of its own: the other behaviors stay those without fav
        weight = 1.0 + sharpness * inside
        mean = np.bincount(user, weights=weight, minlength=num_users) / have
        weight *= (per_user("favs_per_user", 0, num_items) / have / mean)[user]
        chosen = np.random.default_rng([seed, 15]).random(user.size) < weight
        del weight
        favs = _rows_csr(user[chosen], item[chosen], shape)
        del chosen

    buy_user, buy_item = user[bought], item[bought]  # n_buy[u] per user, sorted
    buy_start = np.zeros(num_users, np.int64)
    np.cumsum(n_buy[:-1], out=buy_start[1:])
    rng = np.random.default_rng([seed, 16])  # the held-out buys
    held_at = rng.integers(0, n_buy)
    test_items = buy_item[buy_start + held_at].astype(np.int64)
    keep = np.ones(buy_user.size, bool)
    keep[buy_start + held_at] = False
    held = None
    if validation:  # another of the user's buys, from a generator of its own
        other = (held_at + np.random.default_rng([seed, 17]).integers(1, n_buy)) % n_buy
        keep[buy_start + other] = False
        held = (np.arange(num_users, dtype=np.int64), buy_item[buy_start + other].astype(np.int64))
    cart = _rows_csr(user[carted], item[carted], shape)
    buy = _rows_csr(buy_user[keep], buy_item[keep], shape)
    return _rows_csr(user, item, shape), favs, cart, buy, test_items, held


# --------------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------------
def load_synthetic_sequences(
    path=None,
    *,
    seed: int = 0,
    maxlen: int = 5,
    num_test_negatives: int = 101,
    num_users: int = 800,
    num_items: int = 500,
    length: int = 30,
    follow: float = 0.6,
    validation: bool = False,
) -> SequenceData:
    """Synthetic sequences with a short-term (previous item) and a long-term (user taste) signal.

    Items sit on a circle; each user has a favourite region. The next item is, with probability
    ``follow``, one of the 3 items after the previous one on the circle (short-term structure a
    self-attention model can learn), else drawn from the user's region (long-term taste).
    Generated offline, vectorised over users; the offline default for AttRec. ``validation`` adds the
    validation ranking split (default off).
    """
    validation = check_flag(validation, "validation")
    if path is not None:
        raise DataError("synthetic-seq is generated; it takes no --data-dir")
    rng = np.random.default_rng([seed, 1729])
    centre = rng.integers(0, num_items, num_users)
    seq = np.empty((num_users, length), np.int64)
    seq[:, 0] = (centre + rng.integers(-20, 21, num_users)) % num_items
    for t in range(1, length):  # a loop over time steps only (30), vectorised over users
        step = (seq[:, t - 1] + rng.integers(1, 4, num_users)) % num_items
        taste = (centre + rng.integers(-20, 21, num_users)) % num_items
        seq[:, t] = np.where(rng.random(num_users) < follow, step, taste)
    users = np.repeat(np.arange(num_users), length)
    times = np.tile(np.arange(length), num_users)
    data = build_sequences(users, seq.ravel(), times, maxlen=maxlen, seed=seed, num_test_negatives=num_test_negatives,
                           name="synthetic-seq", info={"source": "synthetic", "generator": "circle walk", "follow": follow},
                           validation=validation)
    return data


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------
def synthetic_sessions(
    path: Path | None = None,
    *,
    seed: int = 0,
    num_items: int = 200,
    num_train_sessions: int = 800,
    num_test_sessions: int = 200,
    min_length: int = 2,
    max_length: int = 8,
    successors: int = 3,
    noise: float = 0.1,
    zipf: float = 0.0,
) -> SessionData:
    """Session-based data from a planted item-transition structure (the offline COTREC default).

    Every item ``i`` gets ``successors`` fixed next items drawn at random; a session starts at
    a random item and then, at each click, moves to one of the current item's successors
    (uniformly) or, with probability ``noise``, to any item. Session lengths are uniform in
    ``[min_length, max_length]``. Training and test sessions come from the same chain, so a model
    of the transitions predicts the next item far better than popularity. Both parts are
    prefix-augmented like COTREC's files (:func:`tfrec.data.splits.prefix_pairs`); items are
    ``1 .. num_items``. Vectorised over sessions; deterministic given ``seed``; ``path`` is ignored.

    ``zipf > 0`` makes the catalogue's popularity Zipf-like: successors, session starts and
    jumps are drawn with ``p(item of popularity rank r) ~ r^-zipf`` (ranks a random permutation
    of the items) instead of uniformly, as in real click logs (``benchmarks/bench_cotrec_scale.py``
    uses 1.1 at a million items). ``0`` (the default) is the uniform chain.
    """
    if num_items < 2 or successors < 1 or not 2 <= min_length <= max_length or not 0.0 <= noise <= 1.0 or not zipf >= 0:
        raise UserError(
            "synthetic sessions need num_items >= 2, successors >= 1, 2 <= min_length <= max_length, "
            f"0 <= noise <= 1 and zipf >= 0; got {num_items}, {successors}, {min_length}, {max_length}, {noise}, {zipf}"
        )
    rng = np.random.default_rng([seed, 3])
    if zipf:
        weights = 1.0 / np.arange(1, num_items + 1, dtype=np.float64) ** zipf
        cumulative = np.cumsum(weights[rng.permutation(num_items)])
        cumulative /= cumulative[-1]

        def draw(size):  # items by popularity (inverse CDF)
            return np.minimum(np.searchsorted(cumulative, rng.random(size), side="right"), num_items - 1)
    else:
        def draw(size):
            return rng.integers(0, num_items, size=size)

    chain = draw((num_items, successors))

    def sessions(count: int) -> SessionSequences:
        lengths = rng.integers(min_length, max_length + 1, size=count)
        walk = np.zeros((count, max_length), dtype=np.int64)
        walk[:, 0] = draw(count)
        for t in range(1, max_length):  # one step for all sessions at once
            follow = chain[walk[:, t - 1], rng.integers(0, successors, size=count)]
            jump = draw(count)
            walk[:, t] = np.where(rng.random(count) < noise, jump, follow)
        keep = np.arange(max_length)[None, :] < lengths[:, None]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return SessionSequences((walk[keep] + 1).astype(np.int32), offsets)

    train_sessions, test_sessions = sessions(num_train_sessions), sessions(num_test_sessions)
    train, train_targets = prefix_pairs(train_sessions)
    test, test_targets = prefix_pairs(test_sessions)
    return SessionData(
        name="synthetic-sessions",
        num_items=num_items,
        train=train,
        train_targets=train_targets,
        test=test,
        test_targets=test_targets,
        all_train_seq=train_sessions,
        info={"source": "synthetic", "successors": successors, "noise": noise, "zipf": zipf,
              "split": "separately generated test sessions", "num_train": len(train), "num_test": len(test)},
    )


# --------------------------------------------------------------------------------------------
# CTR
# --------------------------------------------------------------------------------------------
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
    validation: float = 0.0,
) -> CTRData:
    """Generated clicks with planted structure that an interaction model must learn.

    Each user has a latent taste ``p_u`` (4 dims) and a group ``g_u``; each item a latent
    ``q_i``, a popularity bias ``b_i`` and 1..``max_genres`` genres. A shown (user, item) pair is
    clicked with probability ``sigmoid(2 <p_u, q_i> + b_i + A[g_u, genres_i].mean())``, where
    ``A`` is a random group x genre affinity. The item's click rate (the baseline) captures
    ``b_i`` only; the user-item and group-genre terms need feature interactions.

    Fields: ``user_id``, ``item_id`` and, with ``side_features``, ``group`` (single-hot) and
    ``genres`` (multi-hot, ``-1``-padded). ``validation`` holds out that fraction of each user's
    training rows (default 0: none).
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
    train_f, train_y, test_f, test_y, held = stratified_split(features, labels, users, test_size, rng, validation)
    split = f"random {test_size:g} of each user's rows" + validation_rule(validation, held, "each user's")
    return CTRData(
        name="synthetic-ctr",
        fields=tuple(fields),
        train_features=train_f,
        train_labels=train_y,
        test_features=test_f,
        test_labels=test_y,
        info={"source": "synthetic", "generator": "tfrec.data.synthetic.make_synthetic_ctr", "seed": seed,
              "side_features": side_features, "split": split},
        validation=held,
    )


def load_synthetic_ctr(
    path: Path | None = None, *, seed: int = 0, side_features: bool = True, test_size: float = 0.15, validation: float = 0.0
) -> CTRData:
    """The registry's ``synthetic-ctr`` loader (``path`` is always ``None``); ``validation``: a
    fraction of each user's training rows held out (default 0)."""
    if not isinstance(side_features, bool):
        raise DataError(f"--set side_features must be true or false; got {side_features!r}")
    test_size = check_fraction(test_size, "test_size", zero=False)
    validation = check_fraction(validation, "validation", zero=True)
    return make_synthetic_ctr(seed=seed, side_features=side_features, test_size=test_size, validation=validation)


# --------------------------------------------------------------------------------------------
# Criteo-shaped click logs (files, for streaming tests and benchmarks)
# --------------------------------------------------------------------------------------------
CRITEO_CARDINALITIES = (
    1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194, 27, 14992,
    5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572,
)
"""Distinct values of C1..C26 in Criteo's display-advertising challenge training file (45.8M
rows), as the DLRM and FuxiCTR preprocessing scripts count them."""

# approximate share of empty fields in Criteo's training file (I1..I13, then C1..C26)
CRITEO_NUMERIC_MISSING = (0.45, 0.0, 0.21, 0.22, 0.03, 0.22, 0.04, 0.0, 0.04, 0.45, 0.04, 0.77, 0.22)
CRITEO_CATEGORICAL_MISSING = (0.0,) * 2 + (0.03,) * 2 + (0.12,) + (0.0,) * 5 + (0.03, 0.0, 0.03) + (0.0,) * 2 \
    + (0.03,) + (0.0,) * 2 + (0.44,) * 2 + (0.03,) + (0.44,) * 3 + (0.03, 0.44)
CRITEO_CLICK_RATE = 0.256  # positives in Criteo's training file


def _power_law_ids(rng: np.random.Generator, cardinality: int, size: int, exponent: float) -> np.ndarray:
    """``size`` ids in ``[0, cardinality)``, ``P(id = k) ~ (k + 1)^-exponent`` (the continuous
    inverse CDF, floored): a few values take most rows, as in click logs."""
    u = rng.random(size)
    if abs(exponent - 1.0) < 1e-9:
        x = np.power(cardinality + 1.0, u)
    else:
        a = 1.0 - exponent
        x = np.power(1.0 + u * ((cardinality + 1.0) ** a - 1.0), 1.0 / a)
    return np.minimum(np.floor(x).astype(np.int64) - 1, cardinality - 1)


def _hashed_unit(ids: np.ndarray, salt: int) -> np.ndarray:
    """A deterministic pseudo-random number in ``[-1, 1)`` per id (splitmix64-style mixing):
    a per-category effect for any cardinality without a table."""
    with np.errstate(over="ignore"):
        x = ids.astype(np.uint64) + np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 52) - 1.0


def write_criteo_like(
    path: str | Path,
    rows: int,
    *,
    seed: int = 0,
    exponent: float = 1.05,
    chunk_rows: int = 1 << 18,
    overwrite: bool = False,
) -> Path:
    """Write a click log in the Criteo display-advertising challenge format, of any size.

    One row per line, tab separated: ``label`` (0/1), ``I1..I13`` (integer counts, empty when
    missing) and ``C1..C26`` (8-hex-digit category hashes, empty when missing), no header, as
    Criteo's ``train.txt``; gzipped when ``path`` ends in ``.gz``.

    Shape and skew follow the real file: categorical field ``j`` draws ids from a power law
    ``P(k) ~ (k + 1)^-exponent`` over Criteo's own cardinality of that field
    (:data:`CRITEO_CARDINALITIES`, so a 1M-row file holds fewer distinct values than the real
    45.8M rows); numeric fields are heavy-tailed counts (``floor(exp(N(mu, sigma))) - 1``, ``I2``
    down to -3 as in Criteo); fields are empty at about Criteo's rates.

    Planted click signal: ``logit = b + sum_j a_j e_j(id_j) + sum_n c_n log1p(I_n) +
    e_12(id_1, id_2)``, per-category effects ``e_j`` (for the first 10 categorical fields) and
    one pairwise effect hashed from the ids, with ``b`` calibrated on the first chunk to a
    click rate near Criteo's 25.6%; a model of the fields and their interactions beats the
    base rate.

    Written ``chunk_rows`` rows at a time (memory does not grow with ``rows``; chunk ``c`` draws
    from ``default_rng([seed, 2, c])``, so the same ``seed`` and ``chunk_rows`` give the same
    file), to a temporary file renamed into place at the end; an existing ``path`` is refused
    unless ``overwrite``.

    Args:
        path: the file to write (``.gz``: gzip).
        rows: number of rows, a positive integer.
        seed: every draw follows it.
        exponent: the power law of category popularity.
        chunk_rows: rows generated per pass (a 1M-row file peaked at 1.8 GB with the default 2^18).
        overwrite: replace an existing file.

    Returns:
        ``path``.

    Example:

    >>> import tempfile, pathlib
    >>> out = write_criteo_like(pathlib.Path(tempfile.mkdtemp()) / "clicks.txt", rows=5)
    >>> len(out.read_text().splitlines()), len(out.read_text().splitlines()[0].split("\\t"))
    (5, 40)

    References:
        Criteo display advertising challenge (Kaggle, 2014), ``train.txt``; field counts as in
        facebookresearch/dlrm and FuxiCTR's Criteo_x1 preprocessing.
    """
    import gzip
    import os
    import tempfile

    path = Path(path)
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows <= 0:
        raise UserError(f"rows must be a positive integer; got {rows!r}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows <= 0:
        raise UserError(f"chunk_rows must be a positive integer; got {chunk_rows!r}")
    if not exponent > 0:
        raise UserError(f"exponent must be positive; got {exponent!r}")
    if path.exists() and not overwrite:
        raise UserError(f"{path}: the file exists; pass overwrite=True (--overwrite) to replace it")
    if not path.parent.is_dir():
        raise UserError(f"{path.parent}: no such directory")
    num_fields = len(CRITEO_CARDINALITIES)
    mus = np.linspace(0.5, 3.5, 13)
    sigmas = np.linspace(0.8, 1.6, 13)
    weights = np.random.default_rng([seed, 0]).normal(0.0, 0.6, size=10)
    numeric_weights = np.random.default_rng([seed, 1]).normal(0.0, 0.15, size=13)
    bias = None
    handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(scratch, "wt", newline="") as out:
            for chunk, start in enumerate(range(0, rows, chunk_rows)):
                n = min(chunk_rows, rows - start)
                rng = np.random.default_rng([seed, 2, chunk])
                ids = np.stack([_power_law_ids(rng, card, n, exponent) for card in CRITEO_CARDINALITIES], axis=1)
                counts = np.floor(np.exp(rng.normal(mus, sigmas, size=(n, 13)))).astype(np.int64) - 1
                counts[:, 1] = np.where(rng.random(n) < 0.05, -rng.integers(1, 4, n), counts[:, 1])  # I2 >= -3, as Criteo's
                logit = sum(weights[j] * _hashed_unit(ids[:, j], j + 1) * 2.0 for j in range(10))
                logit = logit + np.log1p(np.maximum(counts, 0)) @ numeric_weights
                logit = logit + 1.5 * _hashed_unit(ids[:, 0] * 1_000_003 + ids[:, 1], 99)
                if bias is None:  # calibrate once, on the first chunk, to Criteo's click rate
                    low, high = -10.0, 10.0
                    for _ in range(50):
                        mid = (low + high) / 2
                        low, high = (mid, high) if np.mean(1 / (1 + np.exp(-(logit + mid)))) < CRITEO_CLICK_RATE else (low, mid)
                    bias = (low + high) / 2
                labels = (rng.random(n) < 1 / (1 + np.exp(-(logit + bias)))).astype(np.int64)
                numeric = counts.astype(str).astype(object)
                numeric[rng.random((n, 13)) < np.array(CRITEO_NUMERIC_MISSING)] = ""
                hashed = (ids.astype(np.uint64) * np.uint64(2654435761) + np.arange(num_fields, dtype=np.uint64)
                          * np.uint64(40503)) & np.uint64(0xFFFFFFFF)
                categories = np.char.mod("%08x", hashed).astype(object)
                categories[rng.random((n, num_fields)) < np.array(CRITEO_CATEGORICAL_MISSING)] = ""
                table = np.concatenate([labels.astype(str).astype(object)[:, None], numeric, categories], axis=1)
                out.write("\n".join("\t".join(row) for row in table) + "\n")
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.remove(scratch)
    return path
