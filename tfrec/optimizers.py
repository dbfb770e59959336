"""The optimizers tfrec trains with: Keras' Adam, and PyTorch's Adam as a Keras optimizer.

The references step two different Adams (``../shared/seeds/README.md``, "Optimisers"). With
``m_t = b1 m + (1 - b1) g``, ``v_t = b2 v + (1 - b2) g^2`` and step ``t``:

* ``torch.optim.Adam`` (seeds 002 COTREC and 004 NCF) puts epsilon *inside* the bias correction::

      w -= lr / (1 - b1^t) * m_t / (sqrt(v_t) / sqrt(1 - b2^t) + eps)

* ``keras.optimizers.Adam`` and TF1's ``tf.train.AdamOptimizer`` (seeds 000 MB-GMN, 001 AttRec,
  003 CTR) put it *outside*::

      w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m_t / (sqrt(v_t) + eps)

The second form's effective epsilon is ``eps / sqrt(1 - b2^t)`` (3.2e-7 at step 1 for
``eps = 1e-8``), so no constant epsilon makes Keras' Adam take PyTorch's steps: every weight
whose gradient is below about ``3e-4`` moves differently from the first step on.
:class:`TorchAdam` is ``keras.optimizers.Adam`` with PyTorch's update and nothing else changed:
the same slots (``momentum``, ``velocity``, ``velocity_hat``), so ``.keras`` saving,
``tfrec train --resume``, ``LossScaleOptimizer`` (``mixed_float16``), learning-rate schedules,
gradient clipping and EMA all work as with Keras' Adam.

Each registered model trains with its reference's Adam by default (the training setting
``optimizer``, shown with its source by ``tfrec models show NAME``); ``--set optimizer=adam`` or
``--set optimizer=torch_adam`` chooses the other.
"""

from __future__ import annotations

from tfrec import _backend  # noqa: F401
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfrec")
class TorchAdam(keras.optimizers.Adam):
    """Adam with ``torch.optim.Adam``'s update: epsilon inside the bias correction.

    Math, per variable and step ``t = iterations + 1`` (``amsgrad`` replaces ``v_t`` by its
    running maximum, as PyTorch does)::

        m_t = m + (1 - beta_1) (g - m)
        v_t = v + (1 - beta_2) (g^2 - v)
        w  -= learning_rate / (1 - beta_1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta_2^t) + epsilon)

    Everything else is ``keras.optimizers.Adam``'s (its arguments, slots and configuration);
    only the default ``epsilon`` is PyTorch's 1e-8 instead of Keras' 1e-7. ``weight_decay``
    keeps Keras' decoupled form (``torch.optim.AdamW``'s), not ``torch.optim.Adam``'s L2 term
    added to the gradient; no tfrec model uses either.

    Args:
        learning_rate: a float or a ``keras.optimizers.schedules`` schedule (1e-3, as both).
        beta_1, beta_2: moment decays (0.9, 0.999, as both).
        epsilon: 1e-8, ``torch.optim.Adam``'s default.
        amsgrad: ``torch.optim.Adam(amsgrad=True)``.
        **kwargs: ``keras.optimizers.Adam``'s other arguments.

    Example:
        >>> import tfrec
        >>> model = tfrec.build_model("neumf", tfrec.load_dataset("synthetic"))
        >>> model.compile(optimizer=tfrec.TorchAdam(learning_rate=1e-3))

    References:
        Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015 (Algorithm 1 with
        the "efficient" ordering of its section 2, which is PyTorch's);
        ``torch.optim.Adam`` as seeds 002 (COTREC) and 004 (NCF) step it.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False,
                 name="torch_adam", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        """One PyTorch-form Adam step of ``variable`` (Keras' ``update_step`` contract)."""
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        # convert_to_tensor(beta, dtype), not cast: casting a Python float rounds it to float32 first
        correction_1 = 1 - ops.power(ops.convert_to_tensor(self.beta_1, dtype), step)
        correction_2_sqrt = ops.sqrt(1 - ops.power(ops.convert_to_tensor(self.beta_2, dtype), step))
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            self.assign(v_hat, ops.maximum(v_hat, v))
            v = v_hat
        denominator = ops.add(ops.divide(ops.sqrt(v), correction_2_sqrt), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / correction_1), denominator))


# name -> (class, what it is); the training setting ``optimizer`` takes these names
OPTIMIZERS = {
    "adam": (keras.optimizers.Adam, "keras.optimizers.Adam: epsilon outside the bias correction (Keras, TF1)"),
    "torch_adam": (TorchAdam, "tfrec.TorchAdam: torch.optim.Adam's step, epsilon inside the bias correction"),
}


def build_optimizer(name: str, learning_rate, epsilon: float) -> keras.optimizers.Optimizer:
    """The optimizer ``name`` (a key of :data:`OPTIMIZERS`) with this learning rate (or
    schedule) and epsilon; ``name`` is checked by :func:`tfrec.training` before this is called."""
    cls, _ = OPTIMIZERS[name]
    return cls(learning_rate=learning_rate, epsilon=epsilon)
