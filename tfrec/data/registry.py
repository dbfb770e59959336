"""The dataset registry: what each dataset is, where its files come from, and how to load it.

Each :class:`DatasetSpec` names its remote files (URL, git-blob SHA-1, size, zip member), the
files a local ``--data-dir`` must hold, and its loader as a ``"module:function"`` string that is
imported only when the dataset is loaded, so importing this module (``tfrec datasets list``)
never imports TensorFlow or any loader.

A loader has the signature ``loader(path: Path | None, *, seed: int, **options) -> task data``;
``path`` is the resolved folder holding the files (or, for a user's own data, the file or its
folder), or ``None`` for a generated dataset. Every option is keyword-only with its default in the
signature (:func:`loader_defaults`); :func:`load_dataset` refuses unknown options and records the
effective ones in the data's ``info["loader"]``.

Validation splits: the loaders of a user's own data (``ratings``, ``interactions``, ``sequences``,
``ctr``) hold one out by default (``validation=True`` / ``0.1``); the reference and synthetic
datasets do not (``False`` / ``0.0``), so their protocols load the same arrays as before.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfrec.errors import UserError
from tfrec.registry import did_you_mean  # one suggestion rule for model, dataset, option and --set names
from tfrec.tasks import KINDS  # the one list of task names


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset and where to download it.

    Attributes:
        name: the file's name in the cache folder (and in a ``--data-dir`` folder).
        url: where to download it; for a zip member, the URL of the zip.
        sha1: git blob SHA-1 of the file (``git hash-object``), or ``None`` if unknown (not
            checked).
        size: size in bytes, or ``None`` if unknown (not checked).
        member: the file's path inside the zip at ``url``, or ``None`` if ``url`` is the file.
    """

    name: str
    url: str
    sha1: str | None = None
    size: int | None = None
    member: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset.

    Attributes:
        name: registry key (``--data NAME``).
        task: the kind of task data the loader returns, one of :data:`tfrec.tasks.KINDS`.
        description: one line for ``tfrec datasets list``.
        files: the remote files to download into the cache (empty for generated or user data).
        required: file names a local ``--data-dir`` folder must hold; an entry ``"a|b"`` means
            either ``a`` or ``b``.
        loader: ``"module:function"`` of the loader, imported lazily.
        homepage: where the dataset is described.
        notes: caveats (provenance, what a local folder may hold, ...).
        user_data: the data is the user's own (no download; ``--data-dir`` is required and may be
            a single file).
    """

    name: str
    task: str
    description: str
    files: tuple[RemoteFile, ...]
    required: tuple[str, ...]
    loader: str
    homepage: str = ""
    notes: str = ""
    user_data: bool = False

    def __post_init__(self) -> None:
        if self.task not in KINDS:
            raise ValueError(f"dataset {self.name!r}: task {self.task!r} is not one of {', '.join(KINDS)}")
        if ":" not in self.loader:
            raise ValueError(f"dataset {self.name!r}: loader {self.loader!r} is not 'module:function'")


def _gh(repo: str, branch: str, path: str) -> str:
    """GitHub raw URL of ``path`` on ``branch`` of ``repo`` ("owner/name")."""
    return f"https://github.com/{repo}/raw/{branch}/{path}"


_ML1M_ZIP = "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
_ML100K_ZIP = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
_NCF = "hexiangnan/neural_collaborative_filtering"
_MBGMN = "akaxlh/MB-GMN"


def _cotrec(name: str, title: str, repo: str, branch: str, shas: tuple[str, str, str], sizes: tuple[int, int, int]) -> DatasetSpec:
    files = tuple(
        RemoteFile(fname, _gh(repo, branch, fname), sha, size)
        for fname, sha, size in zip(("all_train_seq.txt", "train.txt", "test.txt"), shas, sizes)
    )
    return DatasetSpec(
        name=name,
        task="sessions",
        description=f"{title} session-based recommendation (COTREC/DHCN preprocessing)",
        files=files,
        required=("all_train_seq.txt", "test.txt"),
        loader="tfrec.data.sessions:load_cotrec",
        homepage="https://github.com/xiaxin1998/COTREC",
        notes=f"pickled COTREC files, mirrored at https://github.com/{repo} (branch {branch}); a local "
        "--data-dir needs all_train_seq.txt and test.txt: without train.txt the training pairs are "
        "every prefix of each all_train_seq session (the rule train.txt was made by)",
    )


_SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="synthetic",
        task="implicit",
        description="small generated implicit-feedback data (no download), for smoke tests",
        files=(),
        required=(),
        loader="tfrec.data.synthetic:load_synthetic",
        notes="generated from the seed; takes no --data-dir",
    ),
    DatasetSpec(
        name="ml-1m",
        task="implicit",
        description="MovieLens 1M ratings as implicit feedback, leave-latest-out test + sampled negatives",
        files=(
            RemoteFile("ratings.dat", _ML1M_ZIP, "77a7c4b150f588c23bb9e1f068aa996c0b413695", None, "ml-1m/ratings.dat"),
            RemoteFile("movies.dat", _ML1M_ZIP, "9a735435722829dad68446ef1c30d001d5d00c1d", 171_308, "ml-1m/movies.dat"),
            RemoteFile("users.dat", _ML1M_ZIP, "2f86be06c70946984c0d5d56f9fcaa658eef139e", 134_368, "ml-1m/users.dat"),
        ),
        required=("ratings.dat|ratings.csv",),
        loader="tfrec.data.movielens:load_ml1m",
        homepage="https://grouplens.org/datasets/movielens/1m/",
        notes="a local --data-dir may hold ratings.dat (UserID::MovieID::Rating::Timestamp) or "
        "ratings.csv (user_id,item_id,rating[,timestamp]); the size of ratings.dat is not recorded",
    ),
    DatasetSpec(
        name="ml-100k",
        task="implicit",
        description="MovieLens 100K ratings as implicit feedback, leave-latest-out test + sampled negatives",
        files=(
            RemoteFile("u.data", _ML100K_ZIP, "16ef21ed827cae1a3f71e89e23cffb5a8f44baae", 1_979_173, "ml-100k/u.data"),
            RemoteFile("u.item", _ML100K_ZIP, "91bb56d53fcb5f8bbac079755593b48d34cfc9a7", 236_344, "ml-100k/u.item"),
            RemoteFile("u.user", _ML100K_ZIP, "53d296f961959ad3a9389a6bbd7e8251aeeb6e17", 22_628, "ml-100k/u.user"),
        ),
        required=("u.data",),
        loader="tfrec.data.movielens:load_ml100k",
        homepage="https://grouplens.org/datasets/movielens/100k/",
        notes="u.data's checksum was computed on a copy matching the official file's size (not "
        "taken from the GroupLens archive itself)",
    ),
    DatasetSpec(
        name="ml-1m-ncf",
        task="implicit",
        description="the NCF paper's ML-1M split (train, leave-one-out test, 99 fixed negatives)",
        files=(
            RemoteFile("ml-1m.train.rating", _gh(_NCF, "master", "Data/ml-1m.train.rating"), "31ba384fd58dac8fbd09d2dfc6616431f3563ab5", None),
            RemoteFile("ml-1m.test.rating", _gh(_NCF, "master", "Data/ml-1m.test.rating"), "1b79e03c96710c3b0c35deb19155ef74f7965a02", 128_039),
            RemoteFile("ml-1m.test.negative", _gh(_NCF, "master", "Data/ml-1m.test.negative"), "c82844fb99d021f94751a6f915a230a1e8b8da92", 2_891_424),
        ),
        required=("ml-1m.train.rating", "ml-1m.test.rating", "ml-1m.test.negative"),
        loader="tfrec.data.movielens:load_ncf_split",
        homepage=f"https://github.com/{_NCF}",
    ),
    DatasetSpec(
        name="ratings",
        task="implicit",
        description="your own ratings/interactions file (CSV/TSV), leave-latest-out test + sampled negatives",
        files=(),
        required=(),
        loader="tfrec.data.movielens:load_ratings",
        notes="a CSV/TSV file of user,item[,rating[,timestamp]] rows, or a folder holding one ratings.* file; ids "
        "may be any text; without timestamps the held-out items are drawn at random (seeded); the second-latest "
        "item is the validation target (--set validation=false for none); --set threshold=N keeps ratings >= N",
        user_data=True,
    ),
    DatasetSpec(
        name="synthetic-seq",
        task="sequences",
        description="small generated item sequences with short- and long-term structure (no download)",
        files=(),
        required=(),
        loader="tfrec.data.synthetic:load_synthetic_sequences",
        notes="generated from the seed; takes no --data-dir",
    ),
    DatasetSpec(
        name="ml-1m-seq",
        task="sequences",
        description="MovieLens 1M ratings as per-user time-ordered sequences (AttRec's split)",
        files=(
            RemoteFile("ratings.dat", _ML1M_ZIP, "77a7c4b150f588c23bb9e1f068aa996c0b413695", None, "ml-1m/ratings.dat"),
        ),
        required=("ratings.dat|ratings.csv",),
        loader="tfrec.data.sequences:load_ml1m_sequences",
        homepage="https://grouplens.org/datasets/movielens/1m/",
        notes="needs timestamps: ratings.dat (UserID::MovieID::Rating::Timestamp) or a ratings.csv with a "
        "timestamp column",
    ),
    DatasetSpec(
        name="sequences",
        task="sequences",
        description="your own time-stamped interactions (CSV/TSV user,item[,rating],timestamp) as AttRec sequences",
        files=(),
        required=(),
        loader="tfrec.data.sequences:load_sequences",
        notes="a file, or a folder holding one sequences.* or ratings.* file; ids may be any text; per user in time "
        "order the last item is the test target, the second last the validation target (--set validation=false "
        "for none); --set threshold=N keeps ratings >= N",
        user_data=True,
    ),
    DatasetSpec(
        name="synthetic-mb",
        task="multi_behavior",
        description="generated multi-behavior data (view >= [fav] >= cart >= buy), small or --set size=beibei|tmall|ijcai",
        files=(),
        required=(),
        loader="tfrec.data.synthetic:load_synthetic_mb",
        notes="generated from the seed; takes no --data-dir. Default 3000 users x 800 items (MB-GMN's offline "
        "default); --set size=beibei|tmall|ijcai gives the papers' sizes (21,716 x 7,977 pv/cart/buy; 147,894 x "
        "99,037 and 423,423 x 874,328 pv/fav/cart/buy; about 3.3M, 7.7M and 36M interactions, IJCAI's in about 20 s), "
        "--set users=N --set items=M (and views_per_user, favs_per_user, carts_per_user, buys_per_user, fav=true) "
        "override the preset's values; --set generator=planted (dense planted factors, up to 5e7 users x items) or "
        "powerlaw (sparse: Zipf item popularity, lognormal user activity, per-user item clusters); auto picks by "
        "size. One random buy per user is the test item",
    ),
    DatasetSpec(
        name="interactions",
        task="multi_behavior",
        description="your own multi-behavior log (CSV/TSV user,item,behavior[,timestamp]); --set target=NAME",
        files=(),
        required=(),
        loader="tfrec.data.multibehavior:load_interactions",
        notes="the latest target interaction of each user is held out, the second latest is the validation target "
        "(--set validation=false for none); ids may be any text; a file, or a folder holding one interactions.* file",
        user_data=True,
    ),
    DatasetSpec(
        name="synthetic-sessions",
        task="sessions",
        description="small generated session data from a planted item-transition chain (no download)",
        files=(),
        required=(),
        loader="tfrec.data.synthetic:synthetic_sessions",
        notes="generated from the seed; takes no --data-dir; the offline default of --model cotrec",
    ),
    DatasetSpec(
        name="sessions",
        task="sessions",
        description="your own click log (CSV/TSV session_id,item_id,timestamp), the standard session recipe",
        files=(),
        required=(),
        loader="tfrec.data.sessions:load_session_log",
        notes="a file, or a folder holding one sessions.csv; sessions of 1 click and items seen fewer than "
        "5 times are dropped, sessions ending in the last 7 days (--set test_days=...) are the test set; "
        "timestamps are Unix seconds (--set time_unit=ms) or ISO 8601 dates",
        user_data=True,
    ),
    DatasetSpec(
        name="beibei",
        task="multi_behavior",
        description="BeiBei e-commerce page view / cart / buy (MB-GMN preprocessing)",
        files=(
            RemoteFile("trn_pv", _gh(_MBGMN, "main", "Datasets/beibei/trn_pv"), "6567ec6c7fd9b61460aaae0517aad189c7030393", None),
            RemoteFile("trn_cart", _gh(_MBGMN, "main", "Datasets/beibei/trn_cart"), "ac24e60a98c8eb41599845419a08edbe83cd3d3a", 5_228_248),
            RemoteFile("trn_buy", _gh(_MBGMN, "main", "Datasets/beibei/trn_buy"), "1061c66593f4f2d615063a782e468abe9f641614", 2_350_152),
            RemoteFile("tst_int", _gh(_MBGMN, "main", "Datasets/beibei/tst_int"), "df9a70b889eb1d4d4af222f6265dcacdc57b176a", 281_114),
        ),
        required=("trn_pv|trn_cart|trn_buy", "tst_int"),
        loader="tfrec.data.multibehavior:load_beibei",
        homepage=f"https://github.com/{_MBGMN}",
        notes="pickled scipy CSR matrices trn_<behavior> and the test list tst_int; a local "
        "--data-dir needs trn_buy (the target) and tst_int, the other behaviors are used when present; "
        "without trn_buy name the behaviors to use with --set behaviors=...",
    ),
    DatasetSpec(
        name="tmall-mb",
        task="multi_behavior",
        description="Tmall page view / favorite / cart / buy (MB-GMN preprocessing)",
        files=(
            RemoteFile("trn_pv", _gh("RecoHut-Datasets/tmall", "v3", "trn_pv"), "0d6499b4f25d670d1886796b08f8eaf2d4a77a97", None),
            RemoteFile("trn_fav", _gh(_MBGMN, "main", "Datasets/Tmall/trn_fav"), "38619885378976c9a4ff317552cd519cf412a6eb", 2_728_995),
            RemoteFile("trn_cart", _gh(_MBGMN, "main", "Datasets/Tmall/trn_cart"), "972f949786265a04b507a14e44cf2f62e3251be8", None),
            RemoteFile("trn_buy", _gh(_MBGMN, "main", "Datasets/Tmall/trn_buy"), "60c284026eb3650636f8ec68c83c8fe1ee74f9b5", None),
            RemoteFile("tst_int", _gh(_MBGMN, "main", "Datasets/Tmall/tst_int"), "566b4bfe1069319cd4738bb20ad582613668cc83", 172_140),
        ),
        required=("trn_pv|trn_fav|trn_cart|trn_buy", "tst_int"),
        loader="tfrec.data.multibehavior:load_tmall_mb",
        homepage=f"https://github.com/{_MBGMN}",
        notes="MB-GMN splits trn_pv into RAR parts; the unsplit trn_pv comes from "
        "RecoHut-Datasets/tmall (branch v3); trn_fav values are Unix timestamps; without trn_buy "
        "(the target) name the behaviors to use with --set behaviors=...",
    ),
    DatasetSpec(
        name="synthetic-ctr",
        task="ctr",
        description="small generated click data with user/item, group and multi-hot genre fields (no download)",
        files=(),
        required=(),
        loader="tfrec.data.synthetic:load_synthetic_ctr",
        notes="generated from the seed; takes no --data-dir; --set side_features=false keeps user and item ids only",
    ),
    DatasetSpec(
        name="ml-1m-ctr",
        task="ctr",
        description="MovieLens 1M ratings as clicks (rating >= 4), 15% of each user's ratings as test (seed 003)",
        files=(
            RemoteFile("ratings.dat", _ML1M_ZIP, "77a7c4b150f588c23bb9e1f068aa996c0b413695", None, "ml-1m/ratings.dat"),
            RemoteFile("movies.dat", _ML1M_ZIP, "9a735435722829dad68446ef1c30d001d5d00c1d", 171_308, "ml-1m/movies.dat"),
            RemoteFile("users.dat", _ML1M_ZIP, "2f86be06c70946984c0d5d56f9fcaa658eef139e", 134_368, "ml-1m/users.dat"),
        ),
        required=("ratings.dat|ratings.csv",),
        loader="tfrec.data.ctr:load_ml1m_ctr",
        homepage="https://grouplens.org/datasets/movielens/1m/",
        notes="a local --data-dir needs ratings.dat or ratings.csv (user_id,item_id,rating; no timestamps needed); "
        "--set side_features=true also reads users.dat and movies.dat; --set threshold=N changes the click rule",
    ),
    DatasetSpec(
        name="ctr",
        task="ctr",
        description="your own click data (CSV/TSV with a header: label or rating, then categorical columns)",
        files=(),
        required=(),
        loader="tfrec.data.ctr:load_ctr",
        notes="a file, or a folder holding one clicks.* file, WITH a header row; a label column of 0/1 (or a rating "
        "column with --set threshold=N); every other column a categorical field of any text or ints, a|b values "
        "multi-hot; user/user_id and item/item_id columns become the user_id and item_id fields; a random 15% of "
        "each user's rows as test (--set test_size=...), 10% of the rest as validation (--set validation=...)",
        user_data=True,
    ),
    DatasetSpec(
        name="criteo",
        task="ctr",
        description="Criteo display-advertising click log (label, 13 numeric, 26 categorical; tab-separated), streamed",
        files=(),
        required=(),
        loader="tfrec.data.clicklog:load_criteo",
        homepage="https://ailab.criteo.com/ressources/ (Kaggle 2014 challenge: "
        "https://go.criteo.net/criteo-research-kaggle-display-advertising-challenge-dataset.tar.gz)",
        notes="not downloaded: no checksum of the 4.3 GB archive could be verified here; untar it and pass --data-dir "
        "with train.txt (or the file; .gz too), or generate a Criteo-shaped file with 'tfrec datasets generate criteo'; "
        "preprocessed once into shards under $TFREC_HOME/clicklogs (reused), 8:1:1 split",
        user_data=True,
    ),
    DatasetSpec(
        name="avazu",
        task="ctr",
        description="Avazu mobile-ads click log (CSV: id, click, 22 categorical columns), streamed",
        files=(),
        required=(),
        loader="tfrec.data.clicklog:load_avazu",
        homepage="https://www.kaggle.com/c/avazu-ctr-prediction/data",
        notes="not downloaded: Kaggle needs a login and publishes no checksum; pass --data-dir with train / train.csv "
        "(.gz too); preprocessed once into shards under $TFREC_HOME/clicklogs (reused), 8:1:1 split",
        user_data=True,
    ),
    _cotrec(
        "diginetica", "Diginetica", "RecoHut-Datasets/diginetica", "v2",
        ("36b70a2d734695c8bf9a90682c9626b3cf129c5f", "9d2fef4f14f92a3289bd6a672955f1c454d3d73c", "fe1c961c48b5fe0d082493d37045393b52b1f114"),
        (4_193_626, 16_580_585, 1_384_823),
    ),
    _cotrec(
        "tmall", "Tmall", "RecoHut-Datasets/tmall", "v1",
        ("7d9ca17927bdfc21abcd89dd6a526baf3e36cbf7", "472227c5e763da74f58f1bd482600dd519202273", "0c1f10aa88390c4f7249b0cb97f652cbaccf1e63"),
        (1_763_874, 10_582_184, 1_392_889),
    ),
    _cotrec(
        "retailrocket", "RetailRocket", "RecoHut-Datasets/retail_rocket", "v1",
        ("97f4d7fad59a66c301b5fb397cca542773801889", "ea8533e39c7b651bd91d28a52464d37f2511fc36", "983b5c648db2b83b0613804b00563d1416cff106"),
        (3_051_397, 16_360_933, 503_785),
    ),
)

_REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}


def list_datasets() -> list[DatasetSpec]:
    """All registered datasets, in registration order.

    Returns:
        A new list of :class:`DatasetSpec`.
    """
    return list(_REGISTRY.values())


def is_registered(name: str | None) -> bool:
    """Whether ``name`` is a registered dataset (data built by hand has a name but no loader)."""
    return name in _REGISTRY


def get_dataset(name: str) -> DatasetSpec:
    """Look up a dataset by name.

    Args:
        name: registry key, e.g. ``"ml-1m"``.

    Returns:
        Its :class:`DatasetSpec`.

    Raises:
        UserError: no dataset has that name (the message lists the valid names).
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UserError(f"unknown dataset {name!r}; {did_you_mean(name, _REGISTRY)}valid names: {', '.join(_REGISTRY)}") from None


def _import_loader(spec: DatasetSpec):
    """The loader function ``spec.loader`` names (``"module:function"``), imported now.

    Every registered loader exists: a module that fails to import or a missing function is a bug
    and raises as it is (``ImportError`` / ``AttributeError``).
    """
    module_name, _, func_name = spec.loader.partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def _parameters(name: str):
    import inspect

    return inspect.signature(_import_loader(get_dataset(name))).parameters.values()


def loader_options(name: str) -> set[str]:
    """Keyword options the dataset's loader accepts (besides ``seed``), e.g. ``{"behaviors"}``."""
    return {p.name for p in _parameters(name) if p.kind == p.KEYWORD_ONLY and p.name != "seed"}


def loader_defaults(name: str) -> dict[str, Any]:
    """``{option: default}`` of every option of the dataset's loader, in signature order
    (without ``seed`` and the ``name`` the registry fills in for shared loaders), e.g.
    ``{"num_test_negatives": 99, "threshold": None, "validation": True}`` for ``ratings``."""
    return {
        p.name: _jsonable(p.default) for p in _parameters(name)
        if p.kind == p.KEYWORD_ONLY and p.name not in ("seed", "name") and p.default is not p.empty
    }


def _jsonable(value):
    """Options as JSON values: tuples as lists, numpy scalars as numbers, paths as text."""
    import numpy as np

    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    seed: int = 0,
    progress: bool = True,
    **options: Any,
) -> Any:
    """Load a registered dataset as task data, downloading its files first if needed.

    The returned object's ``info["loader"]`` records how to load exactly this data again:
    ``{"name", "path", "seed", "options"}`` with ``path`` the resolved absolute file or folder
    (for a user's own data given as a folder, the one file the loader read in it; ``None`` for
    the download cache and generated data) and ``options`` every loader option with its
    effective value, defaults included (JSON values). Loaders see the resolved path, so
    ``info["source"]`` is the same however ``data_dir`` is spelled (relative, absolute, ``~``,
    ``..``, a file or its folder).

    Args:
        name: registry key (see :func:`list_datasets`).
        data_dir: a local folder with the dataset's files (for a user's own data, also a single
            file) to use instead of the download cache; ``None`` downloads into / reads from the
            cache.
        seed: random seed passed to the loader (test splits, negative sampling, generation).
        progress: show download progress bars.
        **options: loader-specific options (:func:`loader_defaults` lists them).

    Returns:
        The loader's task data (e.g. :class:`tfrec.data.types.ImplicitFeedback`).

    Raises:
        UserError: unknown dataset or option (the message suggests the closest name), or a
            ``data_dir`` given for a generated dataset.
        DataError: files are missing, cannot be downloaded, or fail verification.
    """
    import inspect

    from tfrec.data.download import ensure_files

    spec = get_dataset(name)
    generated = not spec.files and not spec.user_data
    if generated and data_dir is not None:
        raise UserError(f"dataset {spec.name!r} is generated on the fly; it takes no --data-dir")
    path = None
    if data_dir is not None or spec.user_data:  # local files: cheap checks, nothing downloaded
        path = ensure_files(spec, data_dir, progress=progress)
    loader = _import_loader(spec)  # before any download: its options are checked first
    parameters = inspect.signature(loader).parameters.values()
    accepted = loader_options(spec.name)
    if not any(p.kind == p.VAR_KEYWORD for p in parameters):
        for key in options:
            if key not in accepted:
                valid = sorted(accepted - {"name"})
                raise UserError(
                    f"unknown option {key!r} for dataset {spec.name!r}; {did_you_mean(key, valid)}"
                    f"valid options: {', '.join(valid) or 'none'}"
                )
    if path is None and not generated:
        path = ensure_files(spec, None, progress=progress)
    if path is not None:
        path = Path(path).expanduser().resolve()
    if "name" in accepted and "name" not in options:  # shared loaders (COTREC's
        options = {**options, "name": spec.name}  # three datasets) learn which dataset they read
    data = loader(path, seed=seed, **options)
    info = getattr(data, "info", None)
    if isinstance(info, dict):
        effective = {**loader_defaults(spec.name), **{k: _jsonable(v) for k, v in options.items() if k != "name"}}
        where = None
        if data_dir is not None:
            where = str(path)
            source = Path(str(info.get("source", "")))
            if spec.user_data and source.is_absolute() and source.is_file():
                where = str(source)  # the file read, whether the file or its folder was named
        info["loader"] = {"name": spec.name, "path": where, "seed": seed, "options": effective}
    return data
