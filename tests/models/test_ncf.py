"""GMF / MLP / NeuMF (tfrec/models/ncf.py) against an independent NumPy computation."""

from __future__ import annotations

import numpy as np
import pytest

from tfrec import _backend  # noqa: F401
import keras

from tfrec.models.ncf import GMF, MLP, NeuMF, neumf_from_pretrained


def _relu(x):
    return np.maximum(x, 0.0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _weights(layer):
    return [np.asarray(w) for w in layer.get_weights()]


def _numpy_mlp(model, u_emb, i_emb):
    x = np.concatenate([u_emb, i_emb], axis=-1)
    for dense in model.tower.hidden:
        kernel, bias = _weights(dense)
        x = _relu(x @ kernel + bias)
    return x


def _randomise(model, seed=0):
    """Give every weight a distinctive random value (zero biases would hide bias bugs)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(rng.normal(scale=0.5, size=variable.shape).astype(np.float32))


USERS = np.array([0, 3, 3, 5])
ITEMS = np.array([1, 2, 6, 0])


def test_gmf_forward_matches_numpy():
    model = GMF(num_users=6, num_items=7, factor_num=4)
    model.build()
    _randomise(model)
    P, Q = _weights(model.user_embedding)[0], _weights(model.item_embedding)[0]
    h, b = _weights(model.output_layer)
    expected = _sigmoid((P[USERS] * Q[ITEMS]) @ h[:, 0] + b[0])
    np.testing.assert_allclose(model.predict((USERS, ITEMS), verbose=0), expected, rtol=1e-5)


def test_mlp_forward_matches_numpy():
    model = MLP(num_users=6, num_items=7, layers=[8, 4, 2])
    model.build()
    _randomise(model, 1)
    P, Q = _weights(model.user_embedding)[0], _weights(model.item_embedding)[0]
    assert P.shape == (6, 4)  # layers[0] // 2
    h, b = _weights(model.output_layer)
    expected = _sigmoid(_numpy_mlp(model, P[USERS], Q[ITEMS]) @ h[:, 0] + b[0])
    np.testing.assert_allclose(model.predict((USERS, ITEMS), verbose=0), expected, rtol=1e-5)


def test_neumf_forward_and_loss_match_numpy():
    model = NeuMF(num_users=6, num_items=7, factor_num=3, layers=[8, 4, 2])
    model.build()
    _randomise(model, 2)
    Pm, Qm = _weights(model.user_embedding_mlp)[0], _weights(model.item_embedding_mlp)[0]
    Pg, Qg = _weights(model.user_embedding_mf)[0], _weights(model.item_embedding_mf)[0]
    h, b = _weights(model.output_layer)
    fused = np.concatenate([_numpy_mlp(model, Pm[USERS], Qm[ITEMS]), Pg[USERS] * Qg[ITEMS]], axis=-1)
    logits = fused @ h[:, 0] + b[0]
    np.testing.assert_allclose(model.predict((USERS, ITEMS), verbose=0), _sigmoid(logits), rtol=1e-5)

    labels = np.array([1.0, 0.0, 1.0, 0.0], dtype=np.float32)
    p = _sigmoid(logits)
    bce = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    loss = model.compute_bce(labels, model.logits((USERS, ITEMS)))
    assert float(loss) == pytest.approx(bce, rel=1e-5)


def test_initialisation_follows_seed_004():
    model = NeuMF(num_users=500, num_items=400)
    model.build()
    emb = _weights(model.user_embedding_mf)[0]
    assert abs(emb.std() - 0.01) < 0.001  # nn.init.normal_(std=0.01)
    assert all(np.all(_weights(d)[1] == 0) for d in model.tower.hidden)  # zero biases
    kernel = _weights(model.tower.hidden[0])[0]
    limit = np.sqrt(6.0 / (64 + 32))  # xavier_uniform bound
    assert kernel.max() <= limit and kernel.min() >= -limit and kernel.max() > 0.8 * limit


@pytest.mark.parametrize("cls", [GMF, MLP, NeuMF])
def test_config_roundtrip_and_keras_save_load(cls, tmp_path):
    model = cls(num_users=6, num_items=7)
    model.build()
    _randomise(model, 3)
    clone = cls.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls
    np.testing.assert_allclose(loaded.predict((USERS, ITEMS), verbose=0), model.predict((USERS, ITEMS), verbose=0))


@pytest.mark.parametrize("cls", [GMF, MLP, NeuMF])
def test_a_few_steps_reduce_the_loss(cls, tiny_implicit):
    from tfrec.data.pipelines import implicit_training_data

    keras.utils.set_random_seed(0)
    model = cls(tiny_implicit.num_users, tiny_implicit.num_items)
    model.build()
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    training = implicit_training_data(tiny_implicit, num_negatives=2, batch_size=16, seed=0)
    history = model.fit(training.dataset, epochs=8, callbacks=[training.callback], verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 0.05


def test_invalid_hyperparameters_raise_clear_errors():
    with pytest.raises(ValueError, match="layers\\[0\\]"):
        MLP(3, 3, layers=[7, 4])
    with pytest.raises(ValueError, match="factor_num"):
        GMF(3, 3, factor_num=0)
    with pytest.raises(ValueError, match="dropout"):
        NeuMF(3, 3, dropout=1.5)


def test_neumf_from_pretrained_combines_outputs_with_alpha():
    gmf, mlp = GMF(6, 7, factor_num=3), MLP(6, 7, layers=[8, 4, 2])
    gmf.build(), mlp.build()
    _randomise(gmf, 4), _randomise(mlp, 5)
    gmf_logits = np.asarray(gmf.logits((USERS, ITEMS)))
    mlp_logits = np.asarray(mlp.logits((USERS, ITEMS)))
    neumf = neumf_from_pretrained(gmf, mlp, alpha=0.3)
    # The fused output layer is a weighted sum of the two pre-trained output layers.
    np.testing.assert_allclose(np.asarray(neumf.logits((USERS, ITEMS))), 0.3 * gmf_logits + 0.7 * mlp_logits, rtol=1e-5)
    with pytest.raises(ValueError, match="different catalogues"):
        neumf_from_pretrained(GMF(6, 8), mlp)
