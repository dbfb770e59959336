"""The model contract (tfrec/models/base.py): every registered model is a Recommender, and the
scoring hooks the tasks call agree with an independent computation."""

from __future__ import annotations

import numpy as np

from tfrec.models.base import Recommender


def test_every_registered_model_states_the_contract():
    from tfrec.registry import list_models

    for spec in list_models():
        cls = spec.model_class()
        assert issubclass(cls, Recommender), spec.name
        assert cls.compute_losses is not Recommender.compute_losses, spec.name
        assert cls.serving_endpoints is not Recommender.serving_endpoints, spec.name
        if spec.task != "ctr":  # the ranking tasks score through ranking_scores
            assert cls.ranking_scores is not Recommender.ranking_scores, spec.name


def test_pointwise_ranking_scores_of_every_item_are_the_candidates_scores(tiny_implicit):
    import tfrec

    model = tfrec.build_model("gmf", tiny_implicit)
    users = np.array([0, 3], np.int32)
    every = model.ranking_scores({"user_id": users}).numpy()
    assert every.shape == (2, tiny_implicit.num_items)
    picked = model.ranking_scores({"user_id": users}, np.array([[4, 1], [0, 2]], np.int32)).numpy()
    np.testing.assert_allclose(picked, every[[[0, 0], [1, 1]], [[4, 1], [0, 2]]], rtol=1e-6)


def test_cotrec_keeps_each_sessions_latest_clicks_as_padded_max_len_does():
    from tfrec.data.types import SessionSequences
    from tfrec.models.cotrec import CoTRec

    sessions = [[3, 1, 4, 1, 5, 9], [2, 6], [5, 3, 5, 8, 9]]
    model = CoTRec(num_items=30, num_edges=1, max_len=4)
    # padding anywhere: compact moves it to the right first
    raw = np.array([[3, 1, 0, 4, 1, 5, 9], [0, 2, 6, 0, 0, 0, 0], [5, 3, 5, 8, 9, 0, 0]], np.int32)
    items, lengths = model.latest_clicks(*model.compact(raw))
    expected = [s[-4:] for s in sessions]
    width = max(len(e) for e in expected)
    assert items.numpy().tolist() == [e + [0] * (width - len(e)) for e in expected]
    assert lengths.numpy().tolist() == [len(e) for e in expected]
    offsets = np.cumsum([0] + [len(s) for s in sessions])
    padded, plen = SessionSequences(np.concatenate(sessions), offsets).padded(max_len=4)
    assert padded.tolist() == items.numpy().tolist() and plen.tolist() == lengths.numpy().tolist()
