"""tfrec.optimizers: TorchAdam takes torch.optim.Adam's steps (written out in NumPy, no torch),
continues identically after a save and reload, under loss scaling and a schedule; each model's
default optimizer and ``--set optimizer``."""

from __future__ import annotations

import numpy as np
import pytest

import tfrec
from tfrec.optimizers import TorchAdam

LR = 2.0**-10  # exact in float32, the dtype Keras keeps the learning rate in
START = np.array([0.3, -1.2, 0.05, 2.0, -0.7, 1e-3])
# gradients from far below epsilon (1e-8) to large, sign changes, and an exact zero
GRADIENTS = [np.array([1e-12, -3e-10, 2e-9, 0.4, -5.0, 0.0]) * (1 + 0.5 * t) * (-1) ** t for t in range(6)]


def torch_adam(w, gradients, lr=LR, b1=0.9, b2=0.999, eps=1e-8, amsgrad=False):
    """torch.optim.Adam's algorithm (its documented update, single tensor), step by step."""
    w, m, v, v_max = w.astype(np.float64).copy(), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    steps = []
    for t, g in enumerate(gradients, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        denominator = np.sqrt(v_max if amsgrad else v) / np.sqrt(1 - b2**t) + eps
        w = w - lr / (1 - b1**t) * m / denominator
        steps.append(w.copy())
    return steps


def keras_adam(w, gradients, lr=LR, b1=0.9, b2=0.999, eps=1e-8):
    """Keras' (and TF1's) form: epsilon outside the bias correction."""
    w, m, v = w.astype(np.float64).copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    return w


def _steps(optimizer, gradients, dtype="float64"):
    import keras

    variable = keras.Variable(START, dtype=dtype)
    out = []
    for g in gradients:
        optimizer.apply([keras.ops.convert_to_tensor(g, dtype=dtype)], [variable])
        out.append(variable.numpy().astype(np.float64))
    return out


@pytest.mark.parametrize("amsgrad", [False, True])
def test_steps_equal_torch_adams_formula(amsgrad):
    expected = torch_adam(START, GRADIENTS, amsgrad=amsgrad)
    got = _steps(TorchAdam(learning_rate=LR, amsgrad=amsgrad), GRADIENTS)
    for step, (a, b) in enumerate(zip(got, expected), start=1):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")
    # the entries whose gradients are far below epsilon are where the two Adams part
    # (Keras' effective epsilon is eps / sqrt(1 - b2^t), 3.2e-7 at step 1): by far more than round-off
    tiny = (np.abs(GRADIENTS[0]) < 1e-8) & (GRADIENTS[0] != 0)
    torch_moved, keras_moved = expected[-1] - START, keras_adam(START, GRADIENTS) - START
    assert np.all(np.abs(keras_moved - torch_moved)[tiny] > 0.5 * np.abs(torch_moved)[tiny])
    assert np.allclose(keras_moved[np.abs(GRADIENTS[0]) > 0.1], torch_moved[np.abs(GRADIENTS[0]) > 0.1], rtol=1e-4)


def test_float32_variables_follow_the_formula_to_float32_round_off():
    got = _steps(TorchAdam(learning_rate=LR), GRADIENTS, dtype="float32")
    np.testing.assert_allclose(got[-1], torch_adam(START.astype(np.float32), GRADIENTS)[-1], rtol=2e-6, atol=1e-9)


def test_a_schedule_and_loss_scaling_change_nothing_but_what_they_should():
    import keras

    decay = keras.optimizers.schedules.ExponentialDecay(LR, decay_steps=2, decay_rate=0.5, staircase=True)
    got = _steps(TorchAdam(learning_rate=decay), GRADIENTS)
    w, m, v = START.copy(), np.zeros_like(START), np.zeros_like(START)
    for t, g in enumerate(GRADIENTS, start=1):  # the schedule's rate at step t - 1
        lr = LR * 0.5 ** ((t - 1) // 2)
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w = w - lr / (1 - 0.9**t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999**t) + 1e-8)
    np.testing.assert_allclose(got[-1], w, rtol=1e-9, atol=1e-12)

    # mixed_float16's LossScaleOptimizer unscales the gradients before TorchAdam's step
    scaled = keras.optimizers.LossScaleOptimizer(TorchAdam(learning_rate=LR), initial_scale=1024.0)
    variable = keras.Variable(START, dtype="float64")
    for g in GRADIENTS[:3]:
        scaled.apply([keras.ops.convert_to_tensor(g * 1024.0)], [variable])
    np.testing.assert_allclose(variable.numpy(), torch_adam(START, GRADIENTS[:3])[-1], rtol=1e-9, atol=1e-12)


def test_a_saved_and_reloaded_model_continues_identically(tmp_path):
    import keras
    import tensorflow as tf

    from tfrec.models import GMF

    batch = (tf.constant(np.arange(64) % 30, tf.int32), tf.constant((np.arange(64) * 7) % 20, tf.int32))
    labels = tf.constant((np.arange(64) % 3 == 0).astype(np.float32))

    one_batch = tf.data.Dataset.from_tensors((batch, labels))

    def step(model):
        model.fit(one_batch, epochs=1, verbose=0)

    keras.utils.set_random_seed(0)
    model = GMF(30, 20, factor_num=4)
    model.build()
    model.compile(optimizer=TorchAdam(learning_rate=1e-2))
    for _ in range(3):
        step(model)
    model.save(tmp_path / "gmf.keras")
    loaded = keras.saving.load_model(tmp_path / "gmf.keras")
    assert isinstance(loaded.optimizer, TorchAdam) and loaded.optimizer.epsilon == 1e-8
    assert int(loaded.optimizer.iterations) == 3
    for _ in range(3):
        step(model)
        step(loaded)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_each_model_defaults_to_its_references_adam():
    torch_ports = {"cotrec", "gmf", "mlp", "neumf"}
    for spec in tfrec.list_models():
        assert spec.train_defaults["optimizer"] == ("torch_adam" if spec.name in torch_ports else "adam"), spec.name
        assert "torch.optim.Adam" in spec.sources["optimizer"] if spec.name in torch_ports else "Adam" in spec.sources["optimizer"]


def test_set_optimizer_chooses_keras_adam_and_a_bad_name_is_one_line():
    import keras

    data = tfrec.load_dataset("synthetic", num_users=40, num_items=60, interactions_per_user=10, num_test_negatives=20)
    result = tfrec.train("gmf", dataset=data, epochs=1, verbose=0, params={"optimizer": "adam", "factor_num": 4})
    assert type(result.model.optimizer) is keras.optimizers.Adam and result.config["training"]["optimizer"] == "adam"
    with pytest.raises(tfrec.UserError, match=r"--set optimizer: unknown optimizer 'torchadam'; did you mean 'torch_adam'"):
        tfrec.train("gmf", dataset=data, epochs=1, verbose=0, params={"optimizer": "torchadam"})
