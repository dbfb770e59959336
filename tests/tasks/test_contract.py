"""The task contract (tfrec/tasks): one list of task kinds, each a Task over its data class, and
the settings each task checks itself, once, with the option's name."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec import tasks
from tfrec.data import types
from tfrec.errors import UserError
from tfrec.tasks.base import Task


def test_every_kind_is_a_task_over_its_data_class_and_the_registries_use_the_same_names():
    from tfrec.data.registry import list_datasets
    from tfrec.registry import list_models

    expected = {"implicit": types.ImplicitFeedback, "multi_behavior": types.MultiBehavior,
                "sequences": types.SequenceData, "sessions": types.SessionData,
                "ctr": (types.CTRData, types.ClickLogData)}  # CTR data in memory, or a click log streamed
    for kind, data_type in expected.items():
        task = tasks.get_task(kind)
        assert issubclass(task, Task) and task.kind == kind and task.data_type == data_type
    assert set(tasks.KINDS) == set(expected)
    assert {spec.task for spec in list_models()} <= set(tasks.KINDS)
    assert {spec.task for spec in list_datasets()} <= set(tasks.KINDS)


def test_an_unknown_kind_is_one_clear_error():
    with pytest.raises(UserError, match="unknown task kind 'graphs'; the kinds are implicit"):
        tasks.get_task("graphs")
    from tfrec.registry import ModelSpec

    with pytest.raises(ValueError, match="task 'graphs' is not one of"):
        ModelSpec("x", "m:X", "graphs", "", "", {}, {})


@pytest.mark.parametrize("kind, settings, message", [
    ("sessions", {"last_batch": "drop"}, "--set last_batch must be 'reference' or 'partial'; got 'drop'"),
    ("sessions", {"validation": 1.5}, r"--set validation must be a fraction in \[0, 1\); got 1.5"),
    ("multi_behavior", {"test_negatives": "fresh"}, "--set test_negatives must be 'fixed' or 'reference'"),
    ("multi_behavior", {"protocol": "every"}, "--set protocol must be 'sampled' or 'full'"),
    ("multi_behavior", {"graph_sample": 1.5}, "--set graph_sample must be a non-negative integer"),
])
def test_each_task_checks_its_own_settings(kind, settings, message):
    with pytest.raises(UserError, match=message):
        tasks.get_task(kind).check_settings(settings)
    tasks.get_task(kind).check_settings({})  # the defaults are valid


def test_the_wrong_data_names_the_model_and_what_it_takes(tiny_implicit):
    with pytest.raises(UserError, match=r"model 'cotrec' trains on 'sessions' data \(SessionData\); got ImplicitFeedback"):
        tasks.get_task("sessions").check_data("cotrec", tiny_implicit)


def test_training_reads_the_task_settings_through_the_same_check():
    import tfrec

    with pytest.raises(UserError, match="--set last_batch must be"):
        tfrec.training_data("cotrec", tfrec.load_dataset("synthetic-sessions", seed=0), last_batch="drop")


def test_session_metrics_are_hit_rates_under_their_own_name():
    ranks = np.array([0, 4, 9, 19, 25])
    out = tasks.get_task("sessions")._metrics(ranks)
    assert out["HR@5"] == pytest.approx(2 / 5) and out["HR@20"] == pytest.approx(4 / 5)
    assert out["MRR@10"] == pytest.approx((1 + 1 / 5 + 1 / 10) / 5)
    assert not [key for key in out if key.startswith("P@")]
