"""Multi-behavior data (MB-GMN, seed 000): per-behavior hinge pairs for training; the held-out
target-behavior item against 99 negatives for testing, scored from one graph propagation per
evaluation (the model's ``scoring_context``).

Settings: ``test_negatives`` is ``fixed`` (the split's seeded negatives, the default) or
``reference`` (seed 000's: unseeded, redrawn at every test evaluation).
"""

from __future__ import annotations

import numpy as np

from tfrec.data.types import MultiBehavior
from tfrec.errors import UserError
from tfrec.tasks.implicit import ImplicitTask

TEST_NEGATIVES = ("fixed", "reference")


class MultiBehaviorTask(ImplicitTask):
    """Multi-behavior data: hinge pairs per behavior; sampled ranking of the target behavior."""

    kind = "multi_behavior"
    data_type = MultiBehavior
    not_distributable = (
        "its batches hold each behavior's positives then negatives as two halves of one vector, "
        "which a per-replica split would mispair"
    )

    @classmethod
    def check_settings(cls, settings) -> None:
        value = settings.get("test_negatives", "fixed")
        if value not in TEST_NEGATIVES:
            raise UserError(f"--set test_negatives must be 'fixed' or 'reference'; got {value!r}")

    @classmethod
    def training_data(cls, data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import multibehavior_training_data

        return multibehavior_training_data(
            data, batch_size=settings["batch_size"], samp_num=settings["samp_num"], trn_num=settings["trn_num"],
            seed=seed, first_epoch=first_epoch,
        )

    @classmethod
    def candidates(cls, data, settings, split: str, candidates: np.ndarray) -> np.ndarray:
        if split == "test" and settings.get("test_negatives") == "reference":  # seed 000: unseeded, redrawn every time
            from tfrec.data.sampling import sample_test_negatives

            negatives = sample_test_negatives(
                data.train, data.test_users, data.test_items, data.test_negatives.shape[1], np.random.default_rng(),
                exclude_held_out=False,
            )
            return np.concatenate([data.test_items[:, None], negatives], axis=1)
        return candidates

    @classmethod
    def sizes(cls, data):
        sizes, tested, unit, validated = super().sizes(data)
        what = f"{data.target!r} training interactions (behaviors {', '.join(map(str, data.behaviors))})"
        return sizes.replace("training interactions", what), tested, unit, validated
