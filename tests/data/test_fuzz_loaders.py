"""Property-based fuzzing of every file loader in tfrec/data (hypothesis).

Each test builds a small valid dataset, breaks it in one generated way (a malformed row, a wrong
column count, an id out of range, a non-numeric field, an empty or truncated file, a pickle of
the wrong type) and checks the loader's answer: a :class:`tfrec.errors.UserError` (``DataError``)
whose message names the broken file -- never any other exception. Breakages that may happen to
leave a valid file (a file cut at a random byte, random pickled objects) may also load.

Budget: every test runs ``EXAMPLES`` generated cases (``TFREC_FUZZ_EXAMPLES``, default 40) (``deadline=None``: a cold pandas call can
be slow); the whole file runs in well under a minute on one core. ``pytest
--hypothesis-show-statistics`` prints how many cases ran.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tfrec.cli import one_line  # noqa: E402
from tfrec.data.ctr import load_ctr, load_ml1m_ctr  # noqa: E402
from tfrec.data.movielens import load_ml100k, load_ml1m, load_ncf_split, load_ratings  # noqa: E402
from tfrec.data.multibehavior import load_interactions, load_mbgmn  # noqa: E402
from tfrec.data.sequences import load_ml1m_sequences, load_sequences  # noqa: E402
from tfrec.data.sessions import load_cotrec, load_session_log  # noqa: E402
from tfrec.errors import UserError  # noqa: E402

EXAMPLES = int(os.environ.get("TFREC_FUZZ_EXAMPLES", "40"))  # more for a deeper search
# No shrinking (a failure reports the generated case as it is: shrinking pandas-heavy cases takes
# minutes) and no example database (nothing written into the work tree).
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
@contextmanager
def folder():
    """A fresh temporary folder per generated case (function-scoped fixtures are not reset)."""
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def outcome(load, broken: Path, *, must_fail: bool):
    """Run ``load()``; it may only raise a UserError naming ``broken`` (and must when ``must_fail``)."""
    try:
        result = load()
    except UserError as error:
        assert broken.name in str(error), f"the message does not name {broken.name}: {error}"
        assert broken.name in one_line(error)  # what the CLI prints, on one line
        return error
    assert not must_fail, f"{broken.name} loaded although it is malformed"
    return result


def lines_of(rows, sep: str) -> list[str]:
    return [sep.join(str(v) for v in row) for row in rows]


# Values that are not what a numeric field holds, or ids no int64 can hold.
NOT_A_NUMBER = st.one_of(
    st.text(alphabet=st.characters(whitelist_categories=("L",), max_codepoint=0x2FF), min_size=1, max_size=6).filter(
        lambda s: s.strip().lower() not in ("inf", "nan", "infinity", "e", "") and not s.strip().isdigit()
    ),
    st.sampled_from(["", " ", "nan", "NaN", "1.5x", "--3", '"', "'", "1e", "0x1f", "#", "\\", "None", "null"]),
)
OUT_OF_RANGE = st.sampled_from(["inf", "-inf", "1e400", "9" * 25, "-" + "9" * 25, "1e30", "2.5", "-0.5"])


@st.composite
def broken_rows(draw, valid_rows, sep: str, width_ok: tuple[int, ...], numeric_columns: tuple[int, ...], header_detect=True,
                text_ids=False):
    """``(bytes, must_fail)``: the valid rows, broken in one drawn way.

    With ``header_detect`` (the loader takes a first line it cannot read as data for a header),
    a bad value in the first row may be read as a header, and the rest can then be valid. With
    ``text_ids`` the ids (columns 0 and 1) may be any text: only the ``numeric_columns`` (ratings,
    timestamps) are broken, and an out-of-range value there fails only when it is not finite.
    """
    rows = [list(map(str, r)) for r in draw(valid_rows)]
    how = draw(st.sampled_from(["width", "text", "range", "empty", "blank", "truncate", "binary", "quote"]))
    at = draw(st.integers(0, len(rows) - 1))
    must_fail = True
    if how == "width":
        width = draw(st.integers(1, max(width_ok) + 3).filter(lambda w: w not in width_ok))
        rows[at] = [str(draw(st.integers(0, 9))) for _ in range(width)]
        text = "\n".join(sep.join(r) for r in rows) + "\n"
    elif how == "text":
        rows[at][draw(st.sampled_from(numeric_columns))] = draw(NOT_A_NUMBER).replace(sep, "").replace("\n", "") or "x"
        text = "\n".join(sep.join(r) for r in rows) + "\n"
        must_fail = not (header_detect and at == 0)
    elif how == "range":
        value = draw(OUT_OF_RANGE)
        rows[at][draw(st.sampled_from(numeric_columns if text_ids else numeric_columns[:2]))] = value
        text = "\n".join(sep.join(r) for r in rows) + "\n"
        must_fail = not (header_detect and at == 0) and (not text_ids or not np.isfinite(float(value)))
    elif how == "empty":
        text = draw(st.sampled_from(["", "\n", "   \n\n", "\t\n"]))
    elif how == "blank":  # a header line and nothing else
        text = sep.join(["a", "b", "c", "d"][: max(width_ok)]) + "\n"
    elif how == "truncate":  # cut anywhere: may still be a valid (shorter) file
        full = "\n".join(sep.join(r) for r in rows) + "\n"
        text = full[: draw(st.integers(0, len(full)))]
        must_fail = False
    elif how == "binary":
        return draw(st.binary(min_size=1, max_size=60)), False
    else:  # an unbalanced quote somewhere
        rows[at][0] = '"' + rows[at][0]
        text = "\n".join(sep.join(r) for r in rows) + "\n"
        must_fail = False  # some parsers read a quoted multi-line field: may parse or not
    return text.encode("utf-8"), must_fail


# Rows with enough distinct items that one test negative can always be drawn.
def rating_rows(min_size=3):
    row = st.tuples(st.integers(1, 4), st.integers(1, 12), st.integers(1, 5), st.integers(0, 10**9))
    return st.lists(row, min_size=min_size, max_size=12)


# --------------------------------------------------------------------------------------------
# MovieLens: ratings.dat / ratings.csv / u.data / user ratings files
# --------------------------------------------------------------------------------------------
@FUZZ
@given(
    case=st.sampled_from([("ratings.dat", "::", load_ml1m), ("ratings.csv", ",", load_ml1m), ("u.data", "\t", load_ml100k)]),
    data=st.data(),
)
def test_movielens_files(case, data):
    name, sep, loader = case
    content, must_fail = data.draw(broken_rows(rating_rows(), sep, (2, 3, 4), (2, 3), text_ids=True))
    with folder() as root:
        (root / name).write_bytes(content)
        outcome(lambda: loader(root, num_test_negatives=1), root / name, must_fail=must_fail)


@FUZZ
@given(sep=st.sampled_from([",", "\t", ";", " "]), header=st.booleans(), data=st.data())
def test_user_ratings_file(sep, header, data):
    content, must_fail = data.draw(broken_rows(rating_rows(), sep, (2, 3, 4), (2, 3), text_ids=True))
    if header and content.strip():
        content = sep.join(["user", "item", "rating", "time"]).encode() + b"\n" + content
    with folder() as root:
        file = root / "ratings.csv"
        file.write_bytes(content)
        outcome(lambda: load_ratings(file, num_test_negatives=1), file, must_fail=must_fail and not header)


# --------------------------------------------------------------------------------------------
# NCF split files
# --------------------------------------------------------------------------------------------
NCF_TRAIN = [(0, 0, 5, 1), (0, 1, 4, 2), (1, 2, 3, 3), (1, 3, 5, 4)]
NCF_TEST = [(0, 2, 5, 9), (1, 0, 4, 9)]
NCF_NEG = ["(0,2)\t3\t4", "(1,0)\t4\t1"]


def _write_ncf(root: Path, train: bytes, test: bytes, negative: bytes) -> None:
    (root / "ml-1m.train.rating").write_bytes(train)
    (root / "ml-1m.test.rating").write_bytes(test)
    (root / "ml-1m.test.negative").write_bytes(negative)


@FUZZ
@given(which=st.sampled_from(["train", "test"]), data=st.data())
def test_ncf_rating_files(which, data):
    valid = st.just(NCF_TRAIN if which == "train" else NCF_TEST)
    content, must_fail = data.draw(broken_rows(valid, "\t", (4,), (0, 1, 2, 3), header_detect=False))
    good_train = ("\n".join(lines_of(NCF_TRAIN, "\t")) + "\n").encode()
    good_test = ("\n".join(lines_of(NCF_TEST, "\t")) + "\n").encode()
    with folder() as root:
        _write_ncf(root, content if which == "train" else good_train, content if which == "test" else good_test,
                   ("\n".join(NCF_NEG) + "\n").encode())
        file = root / f"ml-1m.{which}.rating"
        # the test pairs must match the negatives file: a changed test file fails (naming either file)
        try:
            load_ncf_split(root)
        except UserError as error:
            assert file.name in str(error) or (which == "test" and "ml-1m.test.negative" in str(error)), str(error)
        else:
            assert not must_fail


@FUZZ
@given(
    how=st.sampled_from(["empty", "pair", "text", "range", "negative_id", "ragged", "only_pairs", "binary"]),
    data=st.data(),
)
def test_ncf_negative_file(how, data):
    lines = [line.split("\t") for line in NCF_NEG]
    at = data.draw(st.integers(0, 1))
    must_fail = True
    if how == "empty":
        text = data.draw(st.sampled_from(["", "\n", " \n"]))
    elif how == "pair":
        lines[at][0] = data.draw(st.sampled_from(["(0 2)", "0,2", "(a,2)", "", "(9,9)", "(0,2"]))
        text = "\n".join("\t".join(line) for line in lines) + "\n"
    elif how == "text":
        lines[at][1] = data.draw(NOT_A_NUMBER).replace("\t", "").replace("\n", "") or "x"
        text = "\n".join("\t".join(line) for line in lines) + "\n"
    elif how == "range":
        lines[at][1] = data.draw(OUT_OF_RANGE)
        text = "\n".join("\t".join(line) for line in lines) + "\n"
    elif how == "negative_id":
        lines[at][1] = str(data.draw(st.integers(-10**6, -1)))
        text = "\n".join("\t".join(line) for line in lines) + "\n"
    elif how == "ragged":
        lines[at] = lines[at][:1]
        text = "\n".join("\t".join(line) for line in lines) + "\n"
    elif how == "only_pairs":
        text = "\n".join(line[0] for line in lines) + "\n"
    else:
        text, must_fail = data.draw(st.binary(max_size=40)), False
    with folder() as root:
        _write_ncf(root, ("\n".join(lines_of(NCF_TRAIN, "\t")) + "\n").encode(),
                   ("\n".join(lines_of(NCF_TEST, "\t")) + "\n").encode(), text if isinstance(text, bytes) else text.encode())
        outcome(lambda: load_ncf_split(root), root / "ml-1m.test.negative", must_fail=must_fail)


@FUZZ
@given(which=st.sampled_from(["train", "test"]), value=st.integers(-10**6, -1), column=st.sampled_from([0, 1]))
def test_ncf_negative_ids(which, value, column):
    rows = [list(r) for r in (NCF_TRAIN if which == "train" else NCF_TEST)]
    rows[0][column] = value
    with folder() as root:
        train = rows if which == "train" else NCF_TRAIN
        test = rows if which == "test" else NCF_TEST
        negatives = NCF_NEG if which == "train" else [f"({test[0][0]},{test[0][1]})\t3\t4", NCF_NEG[1]]
        _write_ncf(root, ("\n".join(lines_of(train, "\t")) + "\n").encode(),
                   ("\n".join(lines_of(test, "\t")) + "\n").encode(), ("\n".join(negatives) + "\n").encode())
        outcome(lambda: load_ncf_split(root), root / f"ml-1m.{which}.rating", must_fail=True)


# --------------------------------------------------------------------------------------------
# Pickles: MB-GMN (trn_*, tst_int) and COTREC (train.txt, test.txt, all_train_seq.txt)
# --------------------------------------------------------------------------------------------
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4), st.binary(max_size=4),
)
ANY_OBJECT = st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner), st.dictionaries(st.text(max_size=2), inner, max_size=2)),
    max_leaves=10,
)


def dump(obj) -> bytes:
    return pickle.dumps(obj, protocol=3)


@st.composite
def broken_pickle(draw, valid_obj, wrong_objects):
    """``(bytes, must_fail)``: a truncated valid pickle, random bytes, or a pickle of a wrong object."""
    how = draw(st.sampled_from(["truncate", "bytes", "wrong", "any"]))
    if how == "truncate":
        full = dump(valid_obj)
        return full[: draw(st.integers(0, len(full) - 1))], True
    if how == "bytes":
        return draw(st.binary(max_size=40)), False  # random bytes may even be a pickle
    if how == "wrong":
        return dump(draw(wrong_objects)), True
    return dump(draw(ANY_OBJECT)), False


def _csr(dense) -> sp.csr_matrix:
    return sp.csr_matrix(np.asarray(dense, dtype=np.float32))


MB_PV = _csr([[1, 1, 0, 0, 1], [0, 1, 1, 0, 0], [1, 0, 0, 1, 0]])
MB_BUY = _csr([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])
MB_TEST = [4, None, 2]


def _write_mbgmn(root: Path, pv=None, buy=None, tst=None) -> None:
    (root / "trn_pv").write_bytes(pv if pv is not None else dump(MB_PV))
    (root / "trn_buy").write_bytes(buy if buy is not None else dump(MB_BUY))
    (root / "tst_int").write_bytes(tst if tst is not None else dump(MB_TEST))


WRONG_MATRICES = st.one_of(
    ANY_OBJECT.filter(lambda o: not isinstance(o, (list, tuple)) or len(o) != 3),
    st.builds(lambda r, c: sp.csr_matrix((r, c), dtype=np.float32), st.integers(0, 4), st.integers(0, 6)),  # empty or other shape
    st.builds(lambda a: np.asarray(a), st.lists(st.integers(0, 1), max_size=6)),
)
TEST_ENTRY = st.one_of(
    st.none(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=3), st.lists(st.integers(0, 4), max_size=2), st.booleans()
)
WRONG_TESTS = st.one_of(
    st.lists(TEST_ENTRY, max_size=5).filter(lambda t: len(t) != 3),  # wrong length
    st.lists(st.one_of(st.integers(5, 2**70), st.integers(-(2**70), -1)), min_size=3, max_size=3),  # items out of range
    st.lists(st.sampled_from([float("inf"), float("nan"), -float("inf"), 2**64, [1, 2], "x", {}]), min_size=3, max_size=3),
    st.builds(np.asarray, st.integers(0, 4)),  # a 0-d array
    st.builds(lambda a: np.zeros((3, a), np.int64), st.integers(0, 3)),  # 2-d array with 3 rows
    st.dictionaries(st.integers(0, 2), st.integers(0, 4), min_size=3, max_size=3),
)


@FUZZ
@given(which=st.sampled_from(["trn_pv", "trn_buy"]), data=st.data())
def test_mbgmn_matrices(which, data):
    content, must_fail = data.draw(broken_pickle(MB_PV if which == "trn_pv" else MB_BUY, WRONG_MATRICES))
    with folder() as root:
        _write_mbgmn(root, **{which[4:]: content})
        outcome(lambda: load_mbgmn(root, all_behaviors=("pv", "buy"), num_test_negatives=1), root / which, must_fail=must_fail)


@FUZZ
@given(data=st.data(), entries=st.lists(TEST_ENTRY, min_size=3, max_size=3))
def test_mbgmn_test_items(data, entries):
    content, must_fail = data.draw(st.one_of(broken_pickle(MB_TEST, WRONG_TESTS), st.just((dump(entries), False))))
    with folder() as root:
        _write_mbgmn(root, tst=content)
        outcome(lambda: load_mbgmn(root, all_behaviors=("pv", "buy"), num_test_negatives=1), root / "tst_int", must_fail=must_fail)


ALL_TRAIN = [[1, 2, 3], [2, 4], [3, 1, 4, 2]]
TEST_PAIRS = ([[1, 2], [1], [4]], [3, 2, 1])
TRAIN_PAIRS = ([[1, 2], [1], [2], [3, 1, 4], [3, 1], [3]], [3, 2, 4, 2, 4, 1])
BAD_ITEM = st.one_of(st.integers(-3, 0), st.integers(5, 2**70), st.floats(), st.text(max_size=2), st.none(), st.lists(st.integers(1, 4)))
SEQUENCE = st.tuples(st.lists(st.integers(1, 4), max_size=2), BAD_ITEM, st.lists(st.integers(1, 4), max_size=2)).map(
    lambda parts: parts[0] + [parts[1]] + parts[2]
)  # a sequence holding one item that is not an id in 1..4
WRONG_SEQUENCES = st.one_of(
    st.just([]), st.lists(st.just([]), min_size=1, max_size=2), st.lists(SEQUENCE, min_size=1, max_size=3),
    SCALARS, st.dictionaries(st.integers(0, 3), st.lists(st.integers(1, 4)), max_size=3),
)
WRONG_TARGETS = st.lists(st.one_of(st.integers(-5, 50), st.floats(), st.none()), max_size=4).filter(
    lambda t: len(t) != 3 or any(not isinstance(v, int) or not 1 <= v <= 4 for v in t)
)
WRONG_PAIRS = st.one_of(
    st.tuples(WRONG_SEQUENCES, st.lists(st.integers(1, 4), max_size=3)),
    st.tuples(st.just(TEST_PAIRS[0]), WRONG_TARGETS),
    st.tuples(st.just(TEST_PAIRS[0]), st.just(TEST_PAIRS[1]), st.just(TEST_PAIRS[1])),  # three parts
    SCALARS,
)


@FUZZ
@given(
    which=st.sampled_from(["all_train_seq.txt", "test.txt", "train.txt"]), with_train=st.booleans(),
    num_items=st.sampled_from([4, None]), data=st.data(),
)
def test_cotrec_pickles(which, with_train, num_items, data):
    valid = {"all_train_seq.txt": ALL_TRAIN, "test.txt": TEST_PAIRS, "train.txt": TRAIN_PAIRS}[which]
    wrong = WRONG_SEQUENCES if which == "all_train_seq.txt" else WRONG_PAIRS
    content, must_fail = data.draw(broken_pickle(valid, wrong))
    with folder() as root:
        (root / "all_train_seq.txt").write_bytes(dump(ALL_TRAIN))
        (root / "test.txt").write_bytes(dump(TEST_PAIRS))
        if with_train or which == "train.txt":
            (root / "train.txt").write_bytes(dump(TRAIN_PAIRS))
        (root / which).write_bytes(content)
        # num_items None: the catalogue is the largest id, so only ids below 1 are out of range
        outcome(lambda: load_cotrec(root, num_items=num_items), root / which, must_fail=must_fail and num_items is not None)


# --------------------------------------------------------------------------------------------
# User logs: interactions (MB-GMN) and sessions (COTREC)
# --------------------------------------------------------------------------------------------
def interaction_rows():
    row = st.tuples(st.integers(1, 4), st.integers(1, 12), st.sampled_from(["view", "buy"]), st.integers(0, 10**6))
    return st.lists(row, min_size=2, max_size=12).map(lambda rows: rows + [(1, 1, "buy", 1), (1, 2, "buy", 2)])


@FUZZ
@given(sep=st.sampled_from([",", "\t"]), data=st.data())
def test_interactions_file(sep, data):
    content, must_fail = data.draw(broken_rows(interaction_rows(), sep, (3, 4), (3,), text_ids=True))
    with folder() as root:
        file = root / "interactions.csv"
        file.write_bytes(content)
        outcome(lambda: load_interactions(file, target="buy", num_test_negatives=1), file, must_fail=must_fail)


def session_rows():
    row = st.tuples(st.integers(1, 5), st.sampled_from("abcde"), st.integers(0, 30 * 86_400))
    return st.lists(row, min_size=2, max_size=15)


@FUZZ
@given(sep=st.sampled_from([",", "\t", ";"]), data=st.data())
def test_session_log(sep, data):
    # ids are labels (any text); only the timestamp (column 2) must be a number or a date.
    # A huge or fractional timestamp is still a number: "range" cases may load.
    content, must_fail = data.draw(broken_rows(session_rows(), sep, (3,), (2,)))
    range_case = any(v.encode() in content for v in ("1e30", "2.5", "-0.5", "9" * 25))
    with folder() as root:
        file = root / "sessions.csv"
        file.write_bytes(content)
        outcome(lambda: load_session_log(file, min_item_count=1, test_days=1), file, must_fail=must_fail and not range_case)


# --------------------------------------------------------------------------------------------
# CTR: ratings + users.dat + movies.dat
# --------------------------------------------------------------------------------------------
CTR_RATINGS = [(1, 10, 5, 1), (1, 20, 3, 2), (2, 10, 4, 3), (2, 30, 1, 4), (3, 20, 2, 5), (3, 30, 5, 6)]
USERS = [(1, "F", 1, 10, "48067"), (2, "M", 56, 16, "70072"), (3, "M", 25, 15, "55117")]
MOVIES = [(10, "Toy Story (1995)", "Animation|Comedy"), (20, "Jumanji (1995)", "Adventure"), (30, "Heat (1995)", "Action|Crime")]


@st.composite
def broken_dat(draw, rows, numeric_columns):
    """``(bytes, must_fail)`` for a ``::`` side file."""
    rows = [list(map(str, r)) for r in rows]
    how = draw(st.sampled_from(["width", "text", "range", "empty", "duplicate", "missing", "gender", "genre", "truncate"]))
    at = draw(st.integers(0, len(rows) - 1))
    must_fail = True
    if how == "width":
        width = draw(st.integers(1, 8).filter(lambda w: w != len(rows[0])))
        rows[at] = (rows[at] * 3)[:width]
    elif how == "text":
        rows[at][draw(st.sampled_from(numeric_columns))] = draw(NOT_A_NUMBER).replace(":", "").replace("\n", "") or "x"
    elif how == "range":
        rows[at][0] = draw(OUT_OF_RANGE)
    elif how == "empty":
        return draw(st.sampled_from([b"", b"\n", b"  \n"])), True
    elif how == "duplicate":
        rows.append(list(rows[at]))
        rows.insert(0, [""])  # blank lines shift line numbers
    elif how == "missing":
        del rows[at]
    elif how == "gender":
        if len(rows[0]) == 5:
            rows[at][1] = draw(st.sampled_from(["m", "X", "", "MF"]))
        else:
            rows[at][2] = draw(st.sampled_from(["", "A||B", "|A", "A|"]))
    elif how == "genre":
        if len(rows[0]) == 3:
            rows[at][2] = draw(st.sampled_from(["", "A||B", "|A", "A|"]))
        else:
            rows[at][2] = draw(st.sampled_from(["", "x", "1.5", "nan"]))
    lines = "\n".join("::".join(r) for r in rows) + "\n"
    if how == "truncate":
        return lines[: draw(st.integers(0, len(lines)))].encode(), False
    return lines.encode(), must_fail


@FUZZ
@given(which=st.sampled_from(["users.dat", "movies.dat"]), data=st.data())
def test_ctr_side_files(which, data):
    if which == "users.dat":
        content, must_fail = data.draw(broken_dat(USERS, (0, 2, 3)))
    else:
        content, must_fail = data.draw(broken_dat(MOVIES, (0,)))
    with folder() as root:
        (root / "ratings.dat").write_text("\n".join(lines_of(CTR_RATINGS, "::")) + "\n")
        (root / "users.dat").write_text("\n".join(lines_of(USERS, "::")) + "\n", encoding="latin-1")
        (root / "movies.dat").write_text("\n".join(lines_of(MOVIES, "::")) + "\n", encoding="latin-1")
        (root / which).write_bytes(content)
        outcome(lambda: load_ml1m_ctr(root, side_features=True), root / which, must_fail=must_fail)


@FUZZ
@given(data=st.data())
def test_ctr_ratings(data):
    content, must_fail = data.draw(broken_rows(rating_rows(), "::", (3, 4), (2, 3), text_ids=True))
    with folder() as root:
        (root / "ratings.dat").write_bytes(content)
        outcome(lambda: load_ml1m_ctr(root), root / "ratings.dat", must_fail=must_fail)


# --------------------------------------------------------------------------------------------
# Sequences (AttRec): ratings.dat with timestamps
# --------------------------------------------------------------------------------------------
@FUZZ
@given(data=st.data(), single=st.booleans())
def test_sequence_ratings(data, single):
    rows = rating_rows(min_size=1)
    if single:  # one row per user: nothing to test on
        rows = st.lists(st.integers(1, 50), min_size=1, max_size=6, unique=True).map(lambda us: [(u, u, 5, u) for u in us])
    content, must_fail = data.draw(broken_rows(rows, "::", (4,), (2, 3), text_ids=True))
    if single and data.draw(st.booleans()):
        content, must_fail = data.draw(rows.map(lambda r: ("\n".join(lines_of(r, "::")) + "\n").encode())), True
    with folder() as root:
        (root / "ratings.dat").write_bytes(content)
        outcome(lambda: load_ml1m_sequences(root, num_test_negatives=1), root / "ratings.dat", must_fail=must_fail)


# --------------------------------------------------------------------------------------------
# A user's own files: sequences (user,item,timestamp) and clicks (a header, label, fields)
# --------------------------------------------------------------------------------------------
@FUZZ
@given(sep=st.sampled_from([",", "\t"]), data=st.data())
def test_own_sequence_file(sep, data):
    rows = st.lists(st.tuples(st.sampled_from(["a", "b", "7", "c d"]), st.integers(1, 12), st.integers(0, 10**6)),
                    min_size=1, max_size=12)
    content, must_fail = data.draw(broken_rows(rows, sep, (3, 4), (2,), text_ids=True))
    with folder() as root:
        file = root / "sequences.csv"
        file.write_bytes(content)
        outcome(lambda: load_sequences(file, num_test_negatives=1), file, must_fail=must_fail)


@st.composite
def click_files(draw):
    """``(bytes, must_fail)``: a valid click file, or one broken in one drawn way."""
    n = draw(st.integers(4, 12))
    rows = [[f"u{k % 2}", f"i{draw(st.integers(0, 5))}", draw(st.sampled_from(["x", "y|z", "", "z"])), str(k % 2)] for k in range(n)]
    header = ["user", "item", "tags", "label"]
    how = draw(st.sampled_from(["none", "label", "width", "empty", "header", "binary", "truncate", "quote"]))
    at = draw(st.integers(0, n - 1))
    must_fail = True
    if how == "none":
        must_fail = False
    elif how == "label":
        rows[at][3] = draw(st.sampled_from(["2", "-1", "", "yes", "0.5", "nan"]))
    elif how == "width":
        rows[at] = rows[at] + ["extra"] if draw(st.booleans()) else rows[at][:2]
    elif how == "empty":
        rows[at][draw(st.sampled_from([0, 1]))] = ""
    elif how == "header":
        k = draw(st.integers(0, 3))
        new = draw(st.sampled_from(["", "a b", "1", "user", "zip-code"]))
        must_fail = new != header[k]
        header[k] = new
    lines = "\n".join(",".join(r) for r in [header] + rows) + "\n"
    if how == "binary":
        return draw(st.binary(min_size=1, max_size=80)), True
    if how == "truncate":
        return lines[: draw(st.integers(0, len(lines)))].encode(), False
    if how == "quote":
        return lines.replace(",", ',"', 1).encode(), False
    return lines.encode(), must_fail


@FUZZ
@given(case=click_files())
def test_own_click_file(case):
    content, must_fail = case
    with folder() as root:
        file = root / "clicks.csv"
        file.write_bytes(content)
        outcome(lambda: load_ctr(file, test_size=0.34, validation=0.0), file, must_fail=must_fail)


# --------------------------------------------------------------------------------------------
# Too few items for the test negatives: the message names the file too
# --------------------------------------------------------------------------------------------
@FUZZ
@given(users=st.integers(1, 3), items=st.integers(2, 4))
def test_too_few_free_items_names_the_file(users, items):
    rows = [(u, i, 5, u * 10 + i) for u in range(users) for i in range(items)]  # every user has every item
    with folder() as root:
        (root / "ratings.dat").write_text("\n".join(lines_of(rows, "::")) + "\n")
        outcome(lambda: load_ml1m(root, num_test_negatives=1), root / "ratings.dat", must_fail=True)


# --------------------------------------------------------------------------------------------
# Cases the fuzzing found, kept as fixed examples (each escaped as another exception, or loaded
# garbage, before its loader was fixed)
# --------------------------------------------------------------------------------------------
NCF_GOOD = {
    "ml-1m.train.rating": "0\t0\t5\t1\n0\t1\t4\t2\n1\t2\t3\t3\n1\t3\t5\t4\n",
    "ml-1m.test.rating": "0\t2\t5\t9\n1\t0\t4\t9\n",
    "ml-1m.test.negative": "(0,2)\t3\t4\n(1,0)\t4\t1\n",
}
FOUND = [
    # (loader, files written, the file the message must name)
    # (ids may be text since user ids like "inf" and "1e30" were found: the numbers moved to timestamps / ratings)
    (lambda p: load_ml1m(p, num_test_negatives=1), {"ratings.dat": "1::1::1::inf\n1::2::1::0\n2::2::1::0\n"}, "ratings.dat"),
    (lambda p: load_ml1m(p, num_test_negatives=1), {"ratings.dat": "1::1::1e400::0\n1::2::1::0\n2::2::1::0\n"}, "ratings.dat"),
    (lambda p: load_ml1m(p, num_test_negatives=1), {"ratings.dat": "1::1::1::0\n1::2::1::1\n"}, "ratings.dat"),
    (lambda p: load_ratings(p / "ratings.csv", num_test_negatives=1),
     {"ratings.csv": "u;i;r;t\n1;12;1;1\n3;3;3;4\n1;4;0;1;9\n"}, "ratings.csv"),
    (load_ncf_split, {**NCF_GOOD, "ml-1m.train.rating": "0\n0\t1\t4\t2\n1\t2\t3\t3\n"}, "ml-1m.train.rating"),
    (load_ncf_split, {**NCF_GOOD, "ml-1m.train.rating": "-1\t0\t5\t1\n0\t1\t4\t2\n"}, "ml-1m.train.rating"),
    (load_ncf_split, {**NCF_GOOD, "ml-1m.test.rating": b"\xafo"}, "ml-1m.test.rating"),
    (load_ncf_split, {**NCF_GOOD, "ml-1m.test.negative": ""}, "ml-1m.test.negative"),
    (load_ncf_split, {**NCF_GOOD, "ml-1m.test.negative": "(0,2)\n(1,0)\n"}, "ml-1m.test.negative"),
    (load_ncf_split, {**NCF_GOOD, "ml-1m.test.negative": "(0,2)\t-3\t4\n(1,0)\t4\t1\n"}, "ml-1m.test.negative"),
    (lambda p: load_interactions(p / "log.tsv", target="buy"), {"log.tsv": "a\tb\tc\td\n"}, "log.tsv"),
    (lambda p: load_interactions(p / "log.csv", target="buy"), {"log.csv": b"1,2,buy,\xff\n"}, "log.csv"),
    (lambda p: load_interactions(p / "log.csv", target="buy", num_test_negatives=1),
     {"log.csv": "1,1,buy,1\n1,2,buy,2\n3,6,view,inf\n"}, "log.csv"),
    (lambda p: load_interactions(p / "log.csv", target="buy", num_test_negatives=1),
     {"log.csv": "1,1,buy,1\n1,2,buy,2\n"}, "log.csv"),
    (lambda p: load_ml1m_sequences(p, num_test_negatives=1), {"ratings.dat": "27::27::5::27\n41::41::5::41\n"}, "ratings.dat"),
    (lambda p: load_ml1m_ctr(p, side_features=True),
     {"ratings.dat": "1::10::5::1\n", "users.dat": "1::F::1::10::48067\n",
      "movies.dat": "10::A::Comedy\n10::A::Comedy\n"}, "movies.dat"),
    (lambda p: load_ml1m_ctr(p, side_features=True),
     {"ratings.dat": "1::10::5::1\n", "users.dat": "\n\n1::F::1::10::48067\n1::F::1::10::48067\n",
      "movies.dat": "10::A::Comedy\n"}, "users.dat"),
    (lambda p: load_ml1m_ctr(p, side_features=True),
     {"ratings.dat": "1::10::5::1\n", "users.dat": "1e30::F::1::10::48067\n", "movies.dat": "10::A::Comedy\n"}, "users.dat"),
]
FOUND_PICKLES = [
    ({"tst_int": [None, None, [3, 4]]}, "tst_int"),
    ({"tst_int": [4, None, float("inf")]}, "tst_int"),
    ({"tst_int": [4, None, 2**70]}, "tst_int"),
    ({"tst_int": np.asarray(3)}, "tst_int"),
    ({"tst_int": np.zeros((3, 2), np.int64)}, "tst_int"),
]


@pytest.mark.parametrize("load, files, named", FOUND)
def test_found_text_cases(tmp_path, load, files, named):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserError) as error:
        load(tmp_path)
    assert named in str(error.value)


@pytest.mark.parametrize("files, named", FOUND_PICKLES)
def test_found_pickle_cases(tmp_path, files, named):
    _write_mbgmn(tmp_path, **{k[4:] if k.startswith("trn_") else "tst": dump(v) for k, v in files.items()})
    with pytest.raises(UserError) as error:
        load_mbgmn(tmp_path, all_behaviors=("pv", "buy"), num_test_negatives=1)
    assert named in str(error.value)


@pytest.mark.parametrize("date", ["0001-01-01", "2262-05-01", "3000-12-31T23:59:59", "-1"])
def test_session_log_dates_outside_pandas_nanosecond_range(tmp_path, date):
    """Dates pandas keeps in seconds (not nanoseconds) used to overflow converting to seconds."""
    file = tmp_path / "sessions.csv"
    file.write_text(f"1,a,2020-01-01\n1,b,{date}\n")
    from tfrec.data.sessions import read_session_log

    frame = read_session_log(file)
    expected = pd_seconds(date)
    assert frame["time"].iloc[1] == expected


def pd_seconds(date: str) -> float:
    """Seconds since 1970 of an ISO 8601 date, computed with Python's datetime (years 1..9999)."""
    from datetime import datetime, timezone

    if date == "-1":  # ISO 8601 year -1 (2 BC): 1 BC is a leap year, so 366 + 365 days before 0001-01-01
        return pd_seconds("0001-01-01") - (366 + 365) * 86_400.0
    return (datetime.fromisoformat(date).replace(tzinfo=timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds()


@FUZZ
@given(dates=st.lists(st.datetimes(), min_size=2, max_size=6))
def test_session_log_any_iso_date(dates):
    with folder() as root:
        file = root / "sessions.csv"
        file.write_text("".join(f"{k % 2},{k},{d.isoformat()}\n" for k, d in enumerate(dates)))
        outcome(lambda: load_session_log(file, min_item_count=1, test_days=1), file, must_fail=False)
