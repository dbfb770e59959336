"""Scale: ``--precision`` (Keras dtype policies) and ``--strategy`` (``tf.distribute``).

Precision::

    float32          every layer computes and stores float32 (the default, the references' math)
    mixed_bfloat16   layers compute in bfloat16, variables stay float32
    mixed_float16    layers compute in float16, variables stay float32; the optimizer is wrapped
                     in ``keras.optimizers.LossScaleOptimizer`` (dynamic loss scaling)

:func:`precision_scope` sets the global Keras dtype policy while a model is built (every layer
created then takes it) and restores the previous policy afterwards, so one process can train
several runs with different precisions; a saved model is rebuilt under the policy it was saved
with (``tfrec.models.base.PolicyFromConfig``). Variables, losses, the output layers that make
the logits (``Dense(1)``, FM terms, the first-order term) and the returned probabilities and
scores are float32 under every policy, so evaluation sees float32 scores. MB-GMN keeps its own
rule: the model is float32 and the policy applies to its meta predictor only.

Strategy::

    default       no distribution: one device (``--device`` picks it)
    mirrored      ``tf.distribute.MirroredStrategy`` over every visible GPU (without one, over
                  the logical CPU devices: one, unless ``tf.config`` split the CPU): each global
                  batch is split evenly across the replicas
    multiworker   ``tf.distribute.MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``:
                  the same, across machines; every worker runs the same ``tfrec train`` command

Under a strategy with ``R`` replicas Keras' ``fit`` distributes the training dataset itself
(``experimental_distribute_dataset``: a global batch ``[B]`` becomes ``R`` batches of about
``B / R``) and sums the replicas' gradients. tfrec's ``train_step`` s therefore divide each
replica's loss so that the sum is the one-device loss: per-example terms by the global batch
size (:func:`batch_mean`), whole-model terms (L2 on tables) by ``R`` (:func:`replica_share`).
With one replica both are the plain ``reduce_mean`` / the term itself (the math is unchanged).

On CPUs ``mirrored`` sums the gradients on one device (``ReductionToOneDevice``), which keeps
embedding gradients sparse as on one device; ``multiworker`` all-reduces them dense
(:func:`dense_gradients`). Dropout draws different masks per replica, so a model with dropout
(Wide & Deep) does not repeat a one-device run exactly; the others do, up to rounding.

Under a strategy (``mirrored`` or ``multiworker``) each step is its own call without XLA
(``steps_per_execution=1``, ``jit_compile=False``): with the Keras this was written for, a ``steps_per_execution``
loop under ``MirroredStrategy`` fails ("You must feed a value for placeholder tensor
'while/body/.../Placeholder'", even for a plain ``Sequential``), and XLA cannot compile a step
whose variables live on several devices. ``--jit`` with a strategy is an error. Two more
Keras failures under ``MultiWorkerMirroredStrategy`` are worked around in
:func:`prepare_model`.

Multi-worker runs: only the chief (``TF_CONFIG`` task index 0 of type ``worker`` or ``chief``)
writes the run directory; the other workers write their copy to a temporary directory that is
removed when training ends (:func:`worker_output`). Every worker evaluates the whole test set
itself (evaluation runs outside ``fit``, on each worker's copy of the variables, which are the
same after every synchronised step).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tfrec import _backend  # noqa: F401
import keras
import tensorflow as tf

from tfrec.errors import UserError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multiworker")
_STRATEGIES: dict = {}  # the strategies made in this process (see make_strategy)


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a :class:`UserError`."""
    if precision not in PRECISIONS:
        raise UserError(f"invalid --precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    return precision


def check_strategy(strategy: str) -> str:
    """``strategy`` if it is one of :data:`STRATEGIES`, else a :class:`UserError`."""
    if strategy not in STRATEGIES:
        raise UserError(f"invalid --strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    return strategy


@contextlib.contextmanager
def precision_scope(precision: "str | keras.DTypePolicy | None") -> Iterator[None]:
    """Set the global Keras dtype policy to ``precision`` inside the block, restore it after.

    ``precision``: a ``--precision`` name (checked) or a ``keras.DTypePolicy``; ``None`` leaves
    the policy as it is. Layers take the global policy when they are created,
    so a model built inside the block keeps its precision after the block ends.
    """
    if precision is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(check_precision(precision) if isinstance(precision, str) else precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def make_optimizer(optimizer: keras.optimizers.Optimizer, precision: str) -> keras.optimizers.Optimizer:
    """``optimizer``, wrapped in a ``LossScaleOptimizer`` for ``mixed_float16`` (float16's
    range needs the loss scaled up before the gradients and the gradients scaled back)."""
    if precision == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------
def tf_config() -> dict:
    """The parsed ``TF_CONFIG`` environment variable (``{}`` when unset)."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise UserError(f"TF_CONFIG is not valid JSON ({error}); see README, 'Several GPUs or machines'") from None
    if not isinstance(config, dict):
        raise UserError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    return config


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy for ``--strategy name``.

    ``multiworker`` must be created before TensorFlow runs its first operation in the process
    (:func:`tfrec.training.train` creates it right after placing the device) and needs
    ``TF_CONFIG`` with a ``cluster`` of at least one worker and this process' ``task``.

    One strategy of each kind is made per process and reused by later runs: two strategies over
    the same devices in one process reuse the same collective-op keys, and TensorFlow then
    fails the second run ("Shape mismatch in the collective instance 101").
    """
    check_strategy(name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":  # every visible GPU; without one, every logical CPU (one unless configured)
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        key = ("mirrored", tuple(device.name for device in devices))
        if key not in _STRATEGIES:
            # CPUs: gradients summed on one device, which keeps embedding gradients sparse
            # (TensorFlow's collective all-reduce fails on slices of different sizes)
            ops = None if tf.config.list_logical_devices("GPU") else tf.distribute.ReductionToOneDevice()
            _STRATEGIES[key] = tf.distribute.MirroredStrategy(list(key[1]), cross_device_ops=ops)
        return _STRATEGIES[key]
    if ("multiworker",) in _STRATEGIES:
        return _STRATEGIES[("multiworker",)]
    config = tf_config()
    if not config.get("cluster") or not isinstance(config.get("task"), dict):
        raise UserError(
            "--strategy multiworker needs TF_CONFIG with 'cluster' (the workers' host:port) and 'task' "
            "(this worker's type and index); see README, 'Several GPUs or machines'"
        )
    try:
        _STRATEGIES[("multiworker",)] = tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError) as error:
        raise UserError(f"--strategy multiworker: cannot start ({error})") from None
    return _STRATEGIES[("multiworker",)]


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process writes the run directory: always, except a non-chief worker of a
    multi-worker run (``TF_CONFIG`` task other than ``chief`` / ``worker 0``)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    config = tf_config()
    task = config.get("task") or {}
    kind, index = task.get("type"), int(task.get("index", 0))
    if "chief" in (config.get("cluster") or {}):
        return kind == "chief"
    return kind in (None, "worker") and index == 0


@contextlib.contextmanager
def worker_output(output: Path | None, strategy: tf.distribute.Strategy | None) -> Iterator[Path | None]:
    """The run directory this process writes: ``output`` on the chief; on another worker of a
    multi-worker run a temporary directory, removed when the block ends (the usual Keras
    multi-worker pattern: every worker saves, only the chief's copy is kept)."""
    if output is None or is_chief(strategy):
        yield output
        return
    scratch = Path(tempfile.mkdtemp(prefix="tfrec-worker-"))
    try:
        yield scratch / Path(output).name
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def distributable(dataset: tf.data.Dataset, strategy: tf.distribute.Strategy) -> tf.data.Dataset:
    """``dataset`` with the options a strategy needs: multi-worker runs shard by *data* (each
    worker builds the whole epoch from the shared seed and keeps its share of every global
    batch; tfrec's pipelines are not file-based, so ``AUTO`` would fall back to this anyway)."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return dataset.with_options(options)
    return dataset


def prepare_model(model: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Make a built and compiled ``model`` ready for ``fit`` under ``strategy``.

    Under ``MultiWorkerMirroredStrategy`` Keras' ``fit`` first takes one batch and
    all-reduces it (``strategy.reduce("MEAN", batch)``, to build the model symbolically), which
    fails on the batch's int32 ids ("Attempt to convert a value (PerReplica...) to a Tensor").
    tfrec's models are built before ``fit``, so this builds the optimizer(s) here and stops Keras
    from remembering the strategy at model creation; ``fit`` still runs under it, since
    :func:`tfrec.training.train` calls it inside ``strategy.scope()``. Keras then averages each
    step's logged values across workers with ``strategy.reduce("MEAN", value, axis=0)``, which
    fails on scalars ("Invalid reduction dimension 0 for input with 0 dimensions"): the
    models' ``train_step`` log ``[1]`` tensors there (:func:`step_logs`), which that reduces to
    scalars.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model._distribute_strategy = None  # Keras then uses tf.distribute.get_strategy(): the scope's


def step_logs(logs: dict) -> dict:
    """A ``train_step``'s logs as ``fit`` can reduce them under the strategy in scope: ``[1]``
    tensors under ``MultiWorkerMirroredStrategy`` (see :func:`prepare_model`), else unchanged.
    :meth:`tfrec.models.base.Recommender.train_step` returns its logs through this."""
    if not isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


# --------------------------------------------------------------------------------------------
# Loss scaling across replicas (used by the models' train_step)
# --------------------------------------------------------------------------------------------
def num_replicas() -> int:
    """Replicas of the strategy in scope (1 without one)."""
    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def batch_mean(values: tf.Tensor) -> tf.Tensor:
    """This replica's share of the mean of per-example ``values`` ``[B_r, ...]`` over the global
    batch: ``sum(values) / B`` with ``B`` the global batch size (an all-reduce of the replicas'
    sizes), so the replicas' shares -- and their summed gradients -- add up to the one-device
    mean even when the last batch splits unevenly. One replica: ``tf.reduce_mean(values)``."""
    if num_replicas() == 1:
        return tf.reduce_mean(values)
    count = tf.cast(tf.shape(values)[0], tf.float32)
    context = tf.distribute.get_replica_context()
    if context is not None:
        count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
    width = tf.cast(tf.reduce_prod(tf.shape(values)[1:]), values.dtype)  # 1 for [B] values
    return tf.reduce_sum(values) / (tf.maximum(tf.cast(count, values.dtype), 1.0) * width)


def global_sum(value: tf.Tensor) -> tf.Tensor:
    """``value`` summed over the replicas in sync (an all-reduce inside a replica context), e.g.
    a batch's pair count, so that each replica divides its share of a sum by the global count.
    One replica, or outside a replica context: ``value``."""
    context = tf.distribute.get_replica_context()
    if num_replicas() == 1 or context is None:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def replica_share(value: tf.Tensor) -> tf.Tensor:
    """This replica's share ``value / R`` of a term every replica computes whole (an L2 penalty
    on the tables), so the summed gradients count it once. One replica: ``value``."""
    replicas = num_replicas()
    return value if replicas == 1 else value / tf.cast(replicas, value.dtype)


def dense_gradients(gradients: list) -> list:
    """Under ``MultiWorkerMirroredStrategy``, embedding gradients (``tf.IndexedSlices``) as dense
    tensors; otherwise ``gradients`` unchanged.

    TensorFlow's collective all-reduce of ``IndexedSlices`` fails when the replicas' slices have
    different sizes ("Shape mismatch in the collective instance", e.g. multi-hot CTR fields).
    The summed gradient is the same, but Keras' Adam squares an ``IndexedSlices`` gradient per
    slice (``v`` gets ``sum g_i^2`` over a row's repeated ids, not ``(sum g_i)^2``), so a
    multi-worker run's second moments differ slightly from a one-device run's for rows looked
    up several times in a batch. (``mirrored`` keeps the slices: on CPUs it sums them on one
    device, on GPUs NCCL does the same for sparse gradients.)
    """
    if not isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return gradients
    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in gradients]


def replica_total(value: tf.Tensor) -> tf.Tensor:
    """A share (``batch_mean`` / ``replica_share``) times ``R``: the value to log, about the
    one-device loss on each replica (Keras averages the replicas' logged values)."""
    replicas = num_replicas()
    return value if replicas == 1 else value * tf.cast(replicas, value.dtype)
