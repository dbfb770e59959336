"""``write_criteo_like`` / ``tfrec datasets generate criteo`` (tfrec/data/synthetic.py): the
Criteo challenge format, its skew and missing fields, a learnable planted click signal, seeded
and written atomically."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tfrec import evaluation
from tfrec.cli import main
from tfrec.data.synthetic import CRITEO_CARDINALITIES, write_criteo_like
from tfrec.errors import UserError


@pytest.fixture(scope="module")
def clicks(tmp_path_factory):
    path = write_criteo_like(tmp_path_factory.mktemp("criteo") / "train.txt", 20000, seed=3, chunk_rows=7000)
    return path, pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False)


def test_the_format_is_criteos(clicks):
    path, frame = clicks
    assert frame.shape == (20000, 1 + 13 + 26)
    assert set(frame[0]) == {"0", "1"}
    numeric = frame.iloc[:, 1:14]
    assert numeric.apply(lambda c: c.str.fullmatch(r"-?\d*")).all().all()  # integers or empty
    assert (numeric[2].replace("", "0").astype(int) >= -3).all()  # I2 down to -3
    categorical = frame.iloc[:, 14:]
    assert categorical.apply(lambda c: c.str.fullmatch(r"[0-9a-f]{8}|")).all().all()
    assert 0.4 < (numeric[1] == "").mean() < 0.5 and (numeric[2] == "").mean() == 0  # Criteo's empty rates
    assert 0.4 < (categorical[14 + 19] == "").mean() < 0.5


def test_categories_are_skewed_and_bounded_by_criteos_counts(clicks):
    _, frame = clicks
    for j in (0, 8, 19):  # C1 (1460 values), C9 (3), C20 (4)
        assert frame[14 + j].replace("", np.nan).dropna().nunique() <= CRITEO_CARDINALITIES[j]
    big = frame[14 + 2].replace("", np.nan).dropna()  # C3: 10M values in Criteo
    share = big.value_counts().iloc[:20].sum() / len(big)
    assert share > 0.2  # 20 values of millions take a fifth of the rows; uniform would give ~0


def test_the_click_rate_and_a_learnable_signal(clicks):
    """Near Criteo's 25.6% clicks, and the per-category click rates of a few fields, fitted on
    one half, rank the other half's clicks far better than chance (AUC)."""
    _, frame = clicks
    labels = frame[0].astype(int).to_numpy()
    assert abs(labels.mean() - 0.256) < 0.03
    train, test = frame.iloc[:10000], frame.iloc[10000:]
    score = np.zeros(len(test))
    for column in (14, 15, 18, 19):
        rates = train.groupby(column)[0].agg(lambda s: (s.astype(int).sum() + 0.256 * 20) / (len(s) + 20))
        score += np.log(test[column].map(rates).fillna(0.256).to_numpy())
    assert float(evaluation.auc(test[0].astype(int).to_numpy(), score)) > 0.6


def test_seeded_gzipped_and_never_overwritten(tmp_path, clicks):
    path, _ = clicks
    again = write_criteo_like(tmp_path / "again.txt", 20000, seed=3, chunk_rows=7000)
    assert again.read_bytes() == path.read_bytes()
    other = write_criteo_like(tmp_path / "other.txt", 200, seed=4)
    assert other.read_bytes() != write_criteo_like(tmp_path / "three.txt", 200, seed=3).read_bytes()
    zipped = write_criteo_like(tmp_path / "c.txt.gz", 200, seed=4)
    assert gzip.decompress(zipped.read_bytes()) == other.read_bytes()
    with pytest.raises(UserError, match="the file exists; pass overwrite=True"):
        write_criteo_like(other, 10)
    assert write_criteo_like(other, 10, overwrite=True).read_text().count("\n") == 10
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    with pytest.raises(UserError, match="rows must be a positive integer; got 0"):
        write_criteo_like(tmp_path / "none.txt", 0)
    with pytest.raises(UserError, match="no such directory"):
        write_criteo_like(tmp_path / "missing" / "x.txt", 5)


def test_the_cli_writes_it(tmp_path):
    runner = CliRunner()
    out = tmp_path / "clicks.txt"
    result = runner.invoke(main, ["datasets", "generate", "criteo", str(out), "--rows", "50", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert re.match(r"criteo: 50 rows in ", result.output) and out.read_text().count("\n") == 50
    again = runner.invoke(main, ["datasets", "generate", "criteo", str(out), "--rows", "50"])
    assert again.exit_code != 0 and "the file exists" in again.output and again.output.strip().count("\n") == 0
