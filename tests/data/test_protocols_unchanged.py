"""With validation off, every reference and synthetic loader loads the arrays it loaded before
validation splits, text ids and rating thresholds were added (bit for bit, same seed).

The digests below were recorded from the loaders before those changes, on the fixed inputs of
``_protocol_cases.py``; each covers the dtype, shape and bytes of every pre-existing field.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _protocol_cases import RATINGS, digest, write_interactions, write_mbgmn, write_ml_folder, write_session_log
from tfrec.data.ctr import load_ml1m_ctr
from tfrec.data.movielens import load_ml1m, load_ml100k, load_ratings
from tfrec.data.multibehavior import load_interactions, load_mbgmn
from tfrec.data.sequences import load_ml1m_sequences
from tfrec.data.sessions import load_session_log
from tfrec.data.splits import build_sequences
from tfrec.data.synthetic import (
    load_synthetic,
    load_synthetic_ctr,
    load_synthetic_mb,
    load_synthetic_sequences,
    synthetic_sessions,
)

RECORDED = {
    "ml-1m": "3a8fcec0437e760cea14f5132bc06f35a5ce0117",
    "ml-100k": "008e2e6f7784c24afb4734de27c78f584a6ed7d8",
    "ratings": "1d09144965d1e2f20de0cd7fe44f98002748022a",
    "synthetic": "0bbd369d1a0c2a04dfce5a8c198e2336d78b17cc",
    "ml-1m-seq": "ef25cd6c4a2f66f587fd8eea6f30d2acd5c7cc3b",
    "build_sequences": "47fead73a77e82ffa1bf927c3df7667ab882aa58",
    "synthetic-seq": "8491529bbdcf3cf85bb90a014ed5985f4f1a9207",
    "ml-1m-ctr": "e31fd338e4d8ecaaf4d3981533be692d21590905",
    "ml-1m-ctr-side": "9df05e4b8a46e56806ae713c542610b7fee4a109",
    "synthetic-ctr": "a6add483e978ae6d1e6204b93298e20953524a30",
    "interactions": "fc10f0bd81892941e1863d475121bc023d38e130",
    "interactions-nt": "06c20d925d7cc031236d2c8a5fd091f03f3af24e",
    "beibei": "353677a5419f91192626ec974858f627da3013d7",
    "synthetic-mb": "42d2bc255c21e65bc333108555a7d8cb2b1f28de",
    "sessions": "413ecaa3be0598b25a03c6033686e6f6517b602e",
    "synthetic-sessions": "b3a52898978c627d692d4a9787b21542dede4f55",
}


def load_all(root: Path) -> dict:
    """Every case, loaded with today's code and validation off."""
    v = {"validation": False}
    ml = write_ml_folder(root / "ml")
    out = {}
    out["ml-1m"] = load_ml1m(ml, seed=3, num_test_negatives=5)
    out["ml-100k"] = load_ml100k(ml, seed=4, num_test_negatives=3)
    out["ratings"] = load_ratings(ml / "ratings.csv", seed=5, num_test_negatives=4, **v)
    out["synthetic"] = load_synthetic(seed=2, num_users=40, num_items=60, interactions_per_user=6, num_test_negatives=10)
    out["ml-1m-seq"] = load_ml1m_sequences(ml, seed=6, maxlen=3, num_test_negatives=7)
    out["build_sequences"] = build_sequences(np.array([r[0] for r in RATINGS]), np.array([r[1] for r in RATINGS]),
                                             np.array([r[3] for r in RATINGS]), maxlen=2, seed=8, num_test_negatives=3)
    out["synthetic-seq"] = load_synthetic_sequences(seed=1, num_users=30, num_items=40, length=8)
    out["ml-1m-ctr"] = load_ml1m_ctr(ml, seed=7)
    out["ml-1m-ctr-side"] = load_ml1m_ctr(ml, seed=9, side_features=True, threshold=3)
    out["synthetic-ctr"] = load_synthetic_ctr(seed=2)
    out["interactions"] = load_interactions(write_interactions(root / "mb"), seed=1, target="buy", num_test_negatives=4, **v)
    out["interactions-nt"] = load_interactions(write_interactions(root / "mb", False), seed=2, target="buy", num_test_negatives=4, **v)
    out["beibei"] = load_mbgmn(write_mbgmn(root / "pk"), seed=3, num_test_negatives=5)
    out["synthetic-mb"] = load_synthetic_mb(seed=1, users=40, items=80, num_test_negatives=20)
    out["sessions"] = load_session_log(write_session_log(root / "log"), min_item_count=2, test_days=1)
    out["synthetic-sessions"] = synthetic_sessions(seed=4, num_items=30, num_train_sessions=50, num_test_sessions=20)
    return out


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_all(tmp_path_factory.mktemp("protocols"))


@pytest.mark.parametrize("case", sorted(RECORDED))
def test_arrays_are_bit_identical_with_validation_off(loaded, case):
    data = loaded[case]
    assert digest(data) == RECORDED[case]
    assert getattr(data, "validation", None) is None


def test_the_digest_sees_a_one_element_change(loaded):
    import dataclasses

    data = loaded["ml-1m"]
    negatives = data.test_negatives.copy()
    negatives[0, 0] = (negatives[0, 0] + 1) % data.num_items
    assert digest(dataclasses.replace(data, test_negatives=negatives)) != RECORDED["ml-1m"]
