"""Multi-behavior data (MB-GMN, seed 000): per-behavior hinge pairs for training; the held-out
target-behavior item ranked for testing, scored from one graph propagation per evaluation (the
model's ``scoring_context``).

Settings (``--set``):

* ``test_negatives``: ``fixed`` (the split's seeded negatives, the default) or ``reference``
  (seed 000's: unseeded, redrawn at every test evaluation).
* ``protocol``: ``sampled`` (the reference's: the held-out item against its 99 negatives, the
  default) or ``full`` (against every item but the user's other training items of the target
  behavior, as RecBole and most libraries report; scored over item chunks,
  :func:`tfrec.evaluation.full_ranks_chunked`). The two protocols' numbers differ by several
  times: compare like with like.
* ``graph_sample`` / ``sample_block``: akaxlh/MB-GMN's ``labcode_samp.py`` (``--graphSampleN``,
  ``--divSize``). ``graph_sample = 0`` (the default) trains and tests on the whole graph. ``N >
  0``: the epoch's users in blocks of ``sample_block``, each block's steps on a sub-graph of about
  ``N`` nodes per side and depth (:class:`tfrec.data.graphs.SubgraphSampler`), and the test
  users likewise, block by block, each block scored from its own sub-graph. Where tfrec departs
  from the reference's test pass: the reference draws each test user's 99 negatives from its
  block's sub-graph (so its candidates change with the sample); tfrec keeps the split's fixed
  negatives and adds them, with the held-out items, to the nodes the sub-graph must contain, so
  a sampled test pass ranks the same candidates as a full-graph one. Sub-graphs are drawn from
  ``default_rng([seed, 2])`` at every evaluation (the same sub-graphs each time).
"""

from __future__ import annotations

import dataclasses
import numbers
import weakref

import numpy as np

from tfrec import evaluation
from tfrec.data.types import MultiBehavior
from tfrec.errors import UserError
from tfrec.tasks.base import ranking_split
from tfrec.tasks.implicit import ImplicitTask

TEST_NEGATIVES = ("fixed", "reference")
PROTOCOLS = ("sampled", "full")


def _non_negative_int(settings, key: str, positive: bool = False) -> int:
    value = settings[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < (1 if positive else 0):
        raise UserError(f"--set {key} must be a {'positive' if positive else 'non-negative'} integer; got {value!r}")
    return int(value)


class MultiBehaviorTask(ImplicitTask):
    """Multi-behavior data: hinge pairs per behavior; sampled (or full) ranking of the target
    behavior, on the whole graph or on sampled sub-graphs."""

    kind = "multi_behavior"
    data_type = MultiBehavior
    full_pairs_per_call = 1 << 14  # (user, item) pairs scored per call in the full protocol
    _subgraph_fns: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def check_settings(cls, settings) -> None:
        """Each of the task's settings that is present (the registry supplies the defaults)."""
        negatives, protocol = settings.get("test_negatives", "fixed"), settings.get("protocol", "sampled")
        if negatives not in TEST_NEGATIVES:
            raise UserError(f"--set test_negatives must be 'fixed' or 'reference'; got {negatives!r}")
        if protocol not in PROTOCOLS:
            raise UserError(f"--set protocol must be 'sampled' or 'full'; got {protocol!r}")
        graph_sample = _non_negative_int(settings, "graph_sample") if "graph_sample" in settings else 0
        block = _non_negative_int(settings, "sample_block", positive=True) if "sample_block" in settings else None
        if protocol == "full" and negatives == "reference":
            raise UserError("--set protocol=full ranks every item: --set test_negatives=reference (which redraws "
                            "the sampled protocol's negatives) means nothing with it")
        if protocol == "full" and graph_sample:
            raise UserError("--set protocol=full ranks every item, which needs every item's representation: it cannot "
                            "be combined with --set graph_sample (use the sampled protocol, or graph_sample=0)")
        if graph_sample and block is not None and "batch_size" in settings and block < settings["batch_size"]:
            raise UserError(f"--set sample_block={block} is smaller than the batch size ({settings['batch_size']}): "
                            "a block trains floor(sample_block / batch_size) steps (the reference's rule), so none would train")

    @classmethod
    def prepare(cls, data, settings, seed: int):
        if not settings["graph_sample"]:
            return data
        return dataclasses.replace(data, info={**(data.info or {}), "subgraph_seed": int(seed)})

    @classmethod
    def training_data(cls, data, settings, seed: int, first_epoch: int = 0):
        from tfrec.data.pipelines import multibehavior_training_data

        return multibehavior_training_data(
            data, batch_size=settings["batch_size"], samp_num=settings["samp_num"], trn_num=settings["trn_num"],
            seed=seed, first_epoch=first_epoch, graph_sample=settings["graph_sample"],
            sample_block=settings["sample_block"],
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
    def evaluate(cls, model, data, settings, split: str = "test") -> dict[str, float]:
        if settings["graph_sample"]:
            return cls._evaluate_subgraphs(model, data, settings, split)
        if settings["protocol"] == "full":
            return cls._evaluate_full(model, data, settings, split)
        return super().evaluate(model, data, settings, split)

    @classmethod
    def _evaluate_full(cls, model, data, settings, split: str) -> dict[str, float]:
        """Full ranking of the held-out item, the user's training items of the target behavior
        left out, from one propagation; memory bounded by :attr:`full_pairs_per_call`."""
        context_fn, score = cls.scorer(model)
        context = context_fn()
        users, candidates, _ = ranking_split(data, split)
        ranks = evaluation.full_ranks_chunked(
            lambda u, items: score({"user_id": u}, items, context), users, candidates[:, 0], data.num_items,
            exclude=data.train, pairs_per_call=cls.full_pairs_per_call,
        )
        return evaluation.ranking_metrics(ranks, ks=(cls.top_k(settings),))

    @classmethod
    def _evaluate_subgraphs(cls, model, data, settings, split: str) -> dict[str, float]:
        """The sampled protocol with ``graph_sample``: per block of ``sample_block`` test users,
        a sub-graph holding them and their candidates, one propagation over it, and the block's
        candidates scored in its local ids."""
        import tensorflow as tf

        from tfrec.data.graphs import SubgraphSampler
        from tfrec.data.pipelines import subgraph_arrays

        users, candidates, _ = ranking_split(data, split)
        candidates = cls.candidates(data, settings, split, candidates)
        sampler = SubgraphSampler(data.matrices, settings["graph_sample"])
        rng = np.random.default_rng([int((data.info or {}).get("subgraph_seed", 0)), 2])
        propagate, score = cls.subgraph_scorer(model)
        block, ranks = settings["sample_block"], []
        for start in range(0, len(users), block):
            block_users, block_candidates = users[start : start + block], candidates[start : start + block]
            graph_users, graph_items = sampler.sample(block_users, rng, items=np.unique(block_candidates))
            graph = subgraph_arrays(data.matrices, graph_users, graph_items)
            graph.pop("matrices")
            reps = propagate({k: tf.constant(v) for k, v in graph.items()})
            local_users = np.searchsorted(graph_users, block_users).astype(np.int32)
            local_candidates = np.searchsorted(graph_items, block_candidates).astype(np.int32)
            ranks.append(evaluation.sampled_ranks_of(
                lambda u, items: score(u, items, reps), local_users, local_candidates, batch_size=cls.eval_batch_size,
            ))
        return evaluation.ranking_metrics(np.concatenate(ranks), ks=(cls.top_k(settings),))

    @classmethod
    def subgraph_scorer(cls, model):
        """``(subgraph_propagate, score)`` of the model as ``tf.function`` s, traced once per model."""
        import tensorflow as tf

        fns = cls._subgraph_fns.get(model)
        if fns is None:
            fns = cls._subgraph_fns[model] = (tf.function(model.subgraph_propagate, reduce_retracing=True),
                                              tf.function(model.score, reduce_retracing=True))
        return fns

    @classmethod
    def popularity_baseline(cls, data, settings) -> dict[str, float]:
        if settings["protocol"] != "full":
            return super().popularity_baseline(data, settings)
        popularity = data.item_popularity().astype(np.float64)
        ranks = evaluation.full_ranks_chunked(
            lambda u, items: np.broadcast_to(popularity[items.numpy()], items.shape), data.test_users, data.test_items,
            data.num_items, exclude=data.train, pairs_per_call=1 << 22,
        )
        return evaluation.ranking_metrics(ranks, ks=(cls.top_k(settings),))

    @classmethod
    def sizes(cls, data):
        sizes, tested, unit, validated = super().sizes(data)
        what = f"{data.target!r} training interactions (behaviors {', '.join(map(str, data.behaviors))})"
        return sizes.replace("training interactions", what), tested, unit, validated
