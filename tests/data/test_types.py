"""Task data types (tfrec/data/types.py): the held-out splits and the checks of new fields."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tfrec.data.types import ClickSplit, CTRData, CTRField, ImplicitFeedback, MultiBehavior, RankingSplit


def test_ranking_split_candidates_put_the_held_out_item_first():
    split = RankingSplit(np.array([0, 2]), np.array([5, 6]), np.array([[1, 2], [3, 4]]))
    assert split.candidates().tolist() == [[5, 1, 2], [6, 3, 4]] and len(split) == 2 and split.histories is None
    with pytest.raises(ValueError, match="must agree"):
        RankingSplit(np.array([0]), np.array([5, 6]), np.zeros((1, 2), np.int64))
    with pytest.raises(ValueError, match="histories"):
        RankingSplit(np.array([0]), np.array([5]), np.zeros((1, 2), np.int64), histories=np.zeros((2, 3)))


def test_new_fields_default_to_none_and_are_checked():
    train = sp.csr_matrix((2, 3), dtype=np.float32)
    empty = np.zeros(0, np.int64)
    data = ImplicitFeedback("x", 2, 3, train, empty, empty, np.zeros((0, 1), np.int64))
    assert data.validation is None
    with pytest.raises(ValueError, match="item_ids has 2 entries; expected 3"):
        ImplicitFeedback("x", 2, 3, train, empty, empty, np.zeros((0, 1), np.int64), item_ids=np.array([1, 2]))
    mb = MultiBehavior("m", 2, 3, ("buy",), (train,), empty, empty, np.zeros((0, 1), np.int64))
    assert mb.user_ids is None and mb.item_ids is None and mb.validation is None


def test_ctr_data_checks_vocabularies_and_the_validation_split():
    fields = (CTRField("user_id", 2), CTRField("tags", 3, multi_hot=True))
    features = {"user_id": np.array([0, 1], np.int32), "tags": np.array([[0, -1], [1, 2]], np.int32)}
    labels = np.array([1, 0], np.float32)
    data = CTRData("c", fields, features, labels, features, labels, vocabularies={"user_id": np.array(["a", "b"])},
                   validation=ClickSplit(features, labels))
    assert len(data.validation) == 2
    with pytest.raises(ValueError, match="vocabulary 'user_id'"):
        CTRData("c", fields, features, labels, features, labels, vocabularies={"user_id": np.array(["a"])})
    with pytest.raises(ValueError, match="validation field 'tags'"):
        CTRData("c", fields, features, labels, features, labels,
                validation=ClickSplit({**features, "tags": np.array([[5, -1], [0, 0]], np.int32)}, labels))
