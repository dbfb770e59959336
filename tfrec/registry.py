"""The model registry: name -> builder, task kind, defaults and where each default comes from.

Registering a model makes it trainable by name (``tfrec train --model NAME``), listable
(``tfrec models list``) and showable with its defaults and their sources
(``tfrec models show NAME``). Builders are ``"module:Class"`` strings imported lazily, so the
registry itself never imports TensorFlow.

Hyperparameters come in two groups:

* ``model_defaults`` -- constructor arguments of the model class (checked against its
  signature; ``num_users`` / ``num_items`` and other dataset shapes are filled from the data);
* ``train_defaults`` -- how the model is trained: ``epochs``, ``batch_size``, ``lr``,
  ``num_negatives``, ``optimizer`` (:mod:`tfrec.optimizers`), ``adam_epsilon``, ...

``--set key=value`` may override either group; an unknown key is a :class:`~tfrec.errors.UserError`
that lists the valid ones.
"""

from __future__ import annotations

import importlib
import inspect
import json
from dataclasses import dataclass, field

from tfrec.errors import UserError
from tfrec.tasks import KINDS, get_task

# Constructor arguments that come from the dataset, never from the user.
DATA_SHAPE_ARGS = ("num_users", "num_items")


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    Attributes:
        name: registry name (``neumf``).
        builder: ``"module:Class"`` of the ``keras.Model`` subclass.
        task: the task kind it trains on, a key of :data:`tfrec.tasks.KINDS` (``implicit``,
            ``multi_behavior``, ...): :meth:`task_class` is the task's rules.
        description: one line for ``tfrec models list``.
        reference: which seed notebook and section it ports.
        model_defaults: constructor hyperparameters and their defaults.
        train_defaults: training settings and their defaults.
        sources: ``{key: where the default comes from}``.
        default_data: dataset used when ``--data`` is not given.
        dataset_defaults: ``{dataset: {key: value}}`` defaults that differ per dataset in the
            reference (applied before ``--set`` overrides).
        dataset_aliases: ``{name: registered dataset}`` for names that mean a different
            registered dataset for this model (``--data tmall`` is ``tmall-mb`` for MB-GMN).
        presets: ``{name: Preset}``: named sets of values other than the reference's defaults
            (``--preset NAME``), e.g. values an original repository tuned per dataset.
    """

    name: str
    builder: str
    task: str
    description: str
    reference: str
    model_defaults: dict
    train_defaults: dict
    sources: dict = field(default_factory=dict)
    default_data: str = "synthetic"
    dataset_defaults: dict = field(default_factory=dict)
    dataset_aliases: dict = field(default_factory=dict)
    presets: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.task not in KINDS:
            raise ValueError(f"model {self.name!r}: task {self.task!r} is not one of {', '.join(KINDS)}")

    def task_class(self):
        """The :class:`tfrec.tasks.base.Task` the model trains and is evaluated under."""
        return get_task(self.task)

    def build(self, data, model_kwargs: dict):
        """The model class' ``from_data(data, **model_kwargs)``, built; a bad value is a
        UserError naming the model."""
        try:
            return self.model_class().from_data(data, **model_kwargs)
        except (ValueError, TypeError) as error:
            raise UserError(f"invalid hyperparameter for model {self.name!r}: {error}") from None

    def dataset_name(self, data: str | None) -> str:
        """The registered dataset ``--data data`` means for this model (its default if ``None``)."""
        name = data or self.default_data
        return self.dataset_aliases.get(name, name)

    def model_class(self):
        module, _, cls = self.builder.partition(":")
        return getattr(importlib.import_module(module), cls)

    def settable_keys(self) -> list[str]:
        return sorted(set(self.model_defaults) | set(self.train_defaults))


@dataclass(frozen=True)
class Preset:
    """A named set of hyperparameter values (``tfrec train --preset NAME``), applied over the
    model's and the dataset's defaults and under ``--set``.

    Attributes:
        description: one line for ``tfrec models show``.
        source: where the values come from.
        values: ``{dataset: {key: value}}``: the values differ per dataset, and a preset applies
            only to the datasets it names.
    """

    description: str
    source: str
    values: dict

    def values_for(self, name: str, model: str, data_name: str | None) -> dict:
        """The preset's values on ``data_name``; a UserError for a dataset it has none for."""
        if data_name not in self.values:
            raise UserError(
                f"--preset {name} of model {model!r} has values for --data {', '.join(self.values)} only "
                f"({self.source}), not for {data_name!r}; give the values with --set instead"
            )
        return dict(self.values[data_name])


_NCF_TRAIN = {
    "epochs": 20,
    "batch_size": 256,
    "lr": 1e-3,
    "num_negatives": 4,
    "optimizer": "torch_adam",
    "adam_epsilon": 1e-8,
    "eval_every": 1,
    "top_k": 10,
}
_NCF_TRAIN_SOURCES = {
    "epochs": "seed 004 runs 10 epochs; 20 is the NCF paper's budget, used for the Table 2 comparison",
    "batch_size": "seed 004 --batch_size 256",
    "lr": "seed 004 --lr 0.001 (Adam)",
    "num_negatives": "seed 004 --num_ng 4 (re-drawn every epoch, as the NCF paper's code; seed 004 draws once)",
    "num_test_negatives": "NCF protocol: 99 negatives + the held-out item (seed 004 uses 100)",
    "optimizer": "seed 004 torch.optim.Adam: epsilon inside the bias correction (tfrec.TorchAdam; 'adam' is Keras')",
    "adam_epsilon": "torch.optim.Adam default 1e-8 (Keras' default is 1e-7)",
    "eval_every": "seed 004 evaluates after every epoch",
    "top_k": "seed 004 --top_k 10",
}

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            name="gmf",
            builder="tfrec.models.ncf:GMF",
            task="implicit",
            description="Generalized Matrix Factorization (NCF)",
            reference="seed 004 'Defining Model Architectures' (Generalized_Matrix_Factorization); He et al. 2017",
            model_defaults={"factor_num": 32},
            train_defaults=dict(_NCF_TRAIN),
            sources={"factor_num": "seed 004 --factor_num 32", **_NCF_TRAIN_SOURCES},
        ),
        ModelSpec(
            name="mlp",
            builder="tfrec.models.ncf:MLP",
            task="implicit",
            description="Multi-layer perceptron over user/item embeddings (NCF)",
            reference="seed 004 'Defining Model Architectures' (Multi_Layer_Perceptron); He et al. 2017",
            model_defaults={"layers": [64, 32, 16, 8], "dropout": 0.0},
            train_defaults=dict(_NCF_TRAIN),
            sources={
                "layers": "seed 004 --layers 64 32 16 8",
                "dropout": "seed 004 declares --dropout 0.2 but never applies it: 0.0 is its actual math",
                **_NCF_TRAIN_SOURCES,
            },
        ),
        ModelSpec(
            name="neumf",
            builder="tfrec.models.ncf:NeuMF",
            task="implicit",
            description="Neural Matrix Factorization: GMF + MLP fused (NCF)",
            reference="seed 004 'Defining Model Architectures' (NeuMF, init_weight); He et al. 2017",
            model_defaults={"factor_num": 32, "layers": [64, 32, 16, 8], "dropout": 0.0},
            train_defaults=dict(_NCF_TRAIN),
            sources={
                "factor_num": "seed 004 --factor_num 32",
                "layers": "seed 004 --layers 64 32 16 8",
                "dropout": "seed 004 declares --dropout 0.2 but never applies it: 0.0 is its actual math",
                **_NCF_TRAIN_SOURCES,
            },
        ),
        ModelSpec(
            name="mbgmn",
            builder="tfrec.models.mbgmn:MBGMN",
            task="multi_behavior",
            description="Multi-behavior graph meta network (MB-GMN)",
            reference="seed 000 'Model' (defineModel, metaForSpecialize, metaForPredict, prepareModel); Xia et al. 2021",
            model_defaults={"latdim": 32, "rank": 4, "gnn_layer": 2, "att_head": 2, "reg": 1e-2, "mult": 100.0, "leaky": 0.1, "jit_predictor": True, "predictor_dtype": None},
            train_defaults={
                "epochs": 10,
                "batch_size": 256,
                "lr": 1e-3,
                "lr_decay": 0.96,
                "trn_num": 10000,
                "samp_num": 40,
                "optimizer": "adam",
                "adam_epsilon": 1e-8,
                "eval_every": 1,
                "top_k": 10,
                "steps_per_execution": 1,
                "jit_compile": False,
                "test_negatives": "fixed",
                "protocol": "sampled",
                "graph_sample": 0,
                "sample_block": 10000,
            },
            sources={
                "latdim": "seed 000 --latdim 32 (embeddings latdim // 2)",
                "rank": "seed 000 --rank 4; 2 for Tmall from the MB-GMN repository's README (labcode.py --data tmall --rank 2; seed 000 runs BeiBei only), applied by default with --data tmall-mb",
                "gnn_layer": "seed 000 --gnn_layer 2",
                "att_head": "seed 000 --att_head 2",
                "reg": "seed 000 --reg 1e-2",
                "mult": "seed 000 --mult 100",
                "leaky": "seed 000 NN Layers: leaky = 0.1",
                "jit_predictor": "tfrec: XLA for the meta prediction network (execution only, same math)",
                "predictor_dtype": "tfrec: dtype policy of the meta predictor alone; default the --precision policy (float32); mixed_bfloat16 halves its cost on CPUs with AVX-512 BF16",
                "epochs": "seed 000 --epoch 10",
                "batch_size": "seed 000 --batch 256 (users per step)",
                "lr": "seed 000 --lr 1e-3",
                "lr_decay": "seed 000 --decay 0.96, staircase, every trnNum // batch steps",
                "trn_num": "seed 000 --trnNum 10000 users per epoch",
                "samp_num": "seed 000 --sampNum 40 positives (and negatives) per user and behavior",
                "num_test_negatives": "seed 000 sampleTestBatch: 99 negatives + the held-out item",
                "optimizer": "seed 000 tf.train.AdamOptimizer: epsilon outside the bias correction, Keras' form",
                "adam_epsilon": "tf.train.AdamOptimizer default 1e-8",
                "eval_every": "seed 000 tests every --tstEpoch 3 epochs; tfrec evaluates every epoch by default",
                "top_k": "seed 000 --shoot 10",
                "steps_per_execution": "one step per call: each step already runs for seconds",
                "jit_compile": "off: XLA does not compile the sparse graph products",
                "behaviors": "the behaviors whose trn_<behavior> files are present, in the dataset's order, target last",
                "target": "--data interactions only: the target behavior's name in your log",
                "test_negatives": "'fixed': 99 seeded negatives, never the held-out item; 'reference': seed 000's "
                "unseeded redraw at every evaluation from the non-bought items (may include the held-out item)",
                "protocol": "'sampled': seed 000 sampleTestBatch (the held-out item against 99 negatives); 'full': "
                "against every item but the user's training buys (RecBole's full ranking)",
                "graph_sample": "akaxlh/MB-GMN labcode_samp.py --graphSampleN (15000 there; 40000 for IJCAI in its README); "
                "0: the whole graph, as seed 000",
                "sample_block": "akaxlh/MB-GMN labcode_samp.py --divSize 10000 users per sampled sub-graph",
            },
            default_data="synthetic-mb",
            dataset_defaults={"tmall-mb": {"rank": 2}, "synthetic-mb": {"epochs": 5}},
            dataset_aliases={"tmall": "tmall-mb"},
        ),
        ModelSpec(
            name="attrec",
            builder="tfrec.models.attrec:AttRec",
            task="sequences",
            description="AttRec: self-attention short-term + metric long-term interest (inner / dist modes)",
            reference="seed 001 (AttRec on MovieLens-1M, TF2 Keras)",
            model_defaults={"embed_dim": 100, "mode": "inner", "w": 0.5, "gamma": 0.5, "embed_reg": 1e-6},
            train_defaults={
                "epochs": 40,
                "batch_size": 1024,
                "lr": 1e-3,
                "resample_negatives": False,
                "optimizer": "adam",
                "adam_epsilon": 1e-7,
                "eval_every": 5,
                "top_k": 10,
                "steps_per_execution": 32,
                "jit_compile": False,
            },
            sources={
                "embed_dim": "seed 001 embed_dim = 100",
                "mode": "seed 001 mode = 'inner' ('dist': squared distances, hinge with margin gamma)",
                "w": "seed 001 w = 0.5 (weight of the long-term part)",
                "gamma": "seed 001 gamma = 0.5 (dist mode margin)",
                "embed_reg": "seed 001 embed_reg = 1e-6 (l2 on each embedding table)",
                "epochs": "seed 001 epochs = 40",
                "batch_size": "seed 001 batch_size = 1024",
                "lr": "seed 001 learning_rate = 0.001 (Keras Adam, epsilon 1e-7)",
                "maxlen": "seed 001 maxlen = 5 (L, the latest items)",
                "num_test_negatives": "seed 001: the last 101 of each user's len + 100 negatives are its test negatives",
                "resample_negatives": "seed 001 draws training negatives once; True redraws them every epoch",
                "optimizer": "seed 001 keras.optimizers.Adam",
                "adam_epsilon": "Keras Adam default 1e-7 (seed 001 uses Keras' Adam)",
                "eval_every": "seed 001 evaluates every 5 epochs",
                "top_k": "seed 001 K = 10",
                "steps_per_execution": "tfrec: 32 small steps per tf.function call (speed only)",
                "jit_compile": "off: XLA made the step slower on CPU (embedding gathers and scatters)",
            },
            default_data="synthetic-seq",
            dataset_defaults={"synthetic-seq": {"epochs": 10, "eval_every": 1}},
            dataset_aliases={"ml-1m": "ml-1m-seq", "synthetic": "synthetic-seq"},
        ),
    ]
}


# --------------------------------------------------------------------------------------------
# COTREC (seed 002): session-based next item, full ranking
# --------------------------------------------------------------------------------------------
_COTREC_QUIRK_SOURCE = "seed 002 as it runs (../shared/seeds/README.md quirk); the other value is the corrected version"
MODELS["cotrec"] = ModelSpec(
    name="cotrec",
    builder="tfrec.models.cotrec:CoTRec",
    task="sessions",
    description="COTREC: item-graph / session-graph co-training, contrastive + adversarial (session-based)",
    reference="seed 002 (COTREC on Diginetica / Tmall / RetailRocket, PyTorch); Xia et al., CIKM 2021",
    model_defaults={
        "embed_dim": 100, "num_layers": 2, "beta": 0.005, "lam": 0.005, "eps": 0.2, "use_positions": True,
        "max_len": 200, "w_k": 10.0, "num_positives": 10, "num_candidates": 5000, "temperature": 0.2,
        "session_view": "detached", "graph_maps": "fixed", "diff_mask": "target_only",
        "predict_product": "reference", "negative_draw": "shared", "ssl_layout": "reshape",
        "ssl_reduction": "sum", "adversarial_pairing": "crossed", "mining": "crossed", "topk_method": "nth_element",
        "seed": None,
    },
    train_defaults={
        "epochs": 30, "batch_size": 100, "lr": 1e-3, "optimizer": "torch_adam", "adam_epsilon": 1e-8, "eval_every": 1,
        "last_batch": "reference", "validation": 0.0, "steps_per_execution": 10, "jit_compile": False,
    },
    sources={
        "embed_dim": "seed 002 Args.embSize = 100",
        "num_layers": "seed 002 Args.layer = 2",
        "beta": "seed 002 Args.beta = 0.005 on every dataset (the COTREC README's tuned values: --preset readme)",
        "lam": "seed 002 Args.lam = 0.005 (the COTREC README's alpha, 0.005 on every dataset)",
        "eps": "seed 002 Args.eps = 0.2; 0.5 for diginetica (applied by default with --data diginetica)",
        "seed": "the run's --seed: seeds the negative-rank draws (seed 002 draws from torch's unseeded generator)",
        "use_positions": "seed 002 as it runs: position-aware attention on every dataset (it tests dataset == 'Tmall' "
        "but is given 'tmall'); the original repository uses False for Tmall",
        "max_len": "seed 002 pos_len = 200, 300 for RetailRocket",
        "w_k": "seed 002 self.w_k = 10",
        "num_positives": "seed 002 self.K = 10",
        "num_candidates": "seed 002 self.num = 5000 (topk depth for negatives)",
        "temperature": "seed 002 SSL_topk: exp(score / 0.2)",
        "session_view": _COTREC_QUIRK_SOURCE + " (SessConv's numpy round trip: no gradient)",
        "graph_maps": _COTREC_QUIRK_SOURCE + " (maps in a plain dict: never trained)",
        "diff_mask": _COTREC_QUIRK_SOURCE + " (diff_mask.long(): only the target item)",
        "predict_product": _COTREC_QUIRK_SOURCE + " (example_predicting's item_emb @ sess_emb needs batch == embed_dim)",
        "negative_draw": _COTREC_QUIRK_SOURCE + " (one randint draw of ranks for the batch)",
        "ssl_layout": _COTREC_QUIRK_SOURCE + " (SSL_topk reshapes [K, B, d] to [B, K, d])",
        "ssl_reduction": _COTREC_QUIRK_SOURCE + " (the contrastive loss is summed over the batch)",
        "adversarial_pairing": _COTREC_QUIRK_SOURCE + " (adv_item applied to the session view's scores)",
        "mining": "seed 002 / the paper: each view mines for the other (co-training); 'own' is an ablation",
        "topk_method": "tfrec: exact top-5000 by NthElement + sorting the candidates (same result as top_k, faster)",
        "epochs": "seed 002 Args.epoch = 30",
        "batch_size": "seed 002 Args.batchSize = 100",
        "lr": "seed 002 Args.lr = 0.001 (torch Adam)",
        "optimizer": "seed 002 torch.optim.Adam: epsilon inside the bias correction (tfrec.TorchAdam; 'adam' is Keras')",
        "adam_epsilon": "torch.optim.Adam default 1e-8 (Keras' default is 1e-7)",
        "eval_every": "seed 002 evaluates on the test set after every epoch",
        "last_batch": _COTREC_QUIRK_SOURCE + " (generate_batch: the last batch is the last batch_size rows; 'partial' "
        "keeps only the remaining rows and needs predict_product=corrected)",
        "validation": "tfrec: fraction of training sessions held out to choose the best epoch (seed 002 has none: 0.0; "
        "0.1 by default on your own --data sessions)",
        "steps_per_execution": "tfrec: 10 steps per tf.function call (speed only)",
        "jit_compile": "off: the sparse item-graph product and tf.unique are not XLA-compilable",
    },
    default_data="synthetic-sessions",
    dataset_defaults={
        "diginetica": {"eps": 0.5},
        "retailrocket": {"max_len": 300},
        "synthetic-sessions": {"epochs": 3},
        "sessions": {"validation": 0.1},
    },
    dataset_aliases={"synthetic": "synthetic-sessions"},
    presets={
        "readme": Preset(
            description="the COTREC repository's tuned values ('Best Hyperparameter'), per dataset",
            source="xiaxin1998/COTREC README.md: Tmall and RetailRocket beta=0.01, alpha=0.005, eps=0.2; "
            "Diginetica beta=0.001, alpha=0.005, eps=0.5 (alpha is lam)",
            values={
                "tmall": {"beta": 0.01, "lam": 0.005, "eps": 0.2},
                "retailrocket": {"beta": 0.01, "lam": 0.005, "eps": 0.2},
                "diginetica": {"beta": 0.001, "lam": 0.005, "eps": 0.5},
            },
        ),
    },
)

# --------------------------------------------------------------------------------------------
# The CTR family (seed 003): click probability from categorical fields, AUC / log loss
# --------------------------------------------------------------------------------------------
_CTR_TRAIN = {
    "epochs": 10,
    "batch_size": 32,
    "lr": 1e-3,
    "optimizer": "adam",
    "adam_epsilon": 1e-7,
    "eval_every": 1,
    "steps_per_execution": 64,
    "jit_compile": True,
}
_CTR_TRAIN_SOURCES = {
    "epochs": "seed 003 fit(epochs=10)",
    "batch_size": "seed 003 passes no batch_size: Keras' fit default 32",
    "lr": "seed 003 optimizers.Adam() / 'adam': Keras' default 1e-3",
    "optimizer": "seed 003 optimizers.Adam / 'adam': keras.optimizers.Adam",
    "adam_epsilon": "Keras Adam default 1e-7 (seed 003 uses Keras' Adam)",
    "eval_every": "seed 003 evaluates once after training; tfrec evaluates every epoch",
    "side_features": "seed 003 feeds user and item ids only (ml-1m-ctr default false); true adds gender, age, "
    "occupation, zip prefix and multi-hot genres from users.dat / movies.dat (synthetic-ctr default true)",
    "test_size": "seed 003 train_test_split(test_size=0.15, stratify=userId)",
    "steps_per_execution": "tfrec: 64 small steps per tf.function call (speed only)",
    "jit_compile": "tfrec: XLA for the training step (speed only, same math)",
}
_CTR_COMMON_SOURCES = {
    "embedding_dim": "seed 003 latent_dim = 8",
    "l2": "seed 003 l2_emb = 1e-4 (embeddings_regularizer=l2(1e-4) on the shared table)",
    "pooling": "tfrec: mean of a multi-hot field's embeddings (the notebook has no multi-hot field)",
}


def _ctr(name: str, cls: str, description: str, section: str, model_defaults: dict, sources: dict, train: dict | None = None) -> ModelSpec:
    model_sources = {k: v for k, v in _CTR_COMMON_SOURCES.items() if k in model_defaults}
    return ModelSpec(
        name=name,
        builder=f"tfrec.models.{name}:{cls}",
        task="ctr",
        description=description,
        reference=f"seed 003 section '{section}'",
        model_defaults=model_defaults,
        train_defaults={**_CTR_TRAIN, **(train or {})},
        sources={**model_sources, **_CTR_TRAIN_SOURCES, **sources},
        default_data="synthetic-ctr",
        dataset_aliases={"ml-1m": "ml-1m-ctr", "synthetic": "synthetic-ctr"},
    )


_CTR_SPECS = [
    _ctr("fm", "FM", "Factorization machine over categorical fields (CTR)", "FM (FM_layer, FM)",
         {"embedding_dim": 8, "l2": 1e-4, "pooling": "mean"},
         {"l2": "seed 003 FM_layer w_reg = v_reg = 1e-4 (L2 on w and V)"}),
    _ctr("afm", "AFM", "Attentional factorization machine (CTR)", "AFM (AFM_layer)",
         {"embedding_dim": 8, "attention_dim": 8, "l2": 1e-4, "pooling": "mean"},
         {"attention_dim": "seed 003 AFM(..., 8, 8): att_dim = 8"}),
    _ctr("deepfm", "DeepFM", "DeepFM: FM part + DNN (CTR)", "DeepFM (FM_layer, DeepFM)",
         {"embedding_dim": 8, "hidden_units": [128, 64], "l2": 1e-4, "fm_factors": 8, "fm_l2": 1e-4, "fm_input": "flat", "pooling": "mean"},
         {"hidden_units": "seed 003 build_dnn: Dense(128, relu), Dense(64, relu), Dense(1)",
          "fm_factors": "seed 003 FM_layer(latent_dim = 8)",
          "fm_l2": "seed 003 FM_layer w_reg = v_reg = 1e-4",
          "fm_input": "'flat': seed 003 applies FM_layer to the flattened embeddings; 'fields': the paper's FM on the shared field embeddings"}),
    _ctr("dcn", "DCN", "Deep & Cross Network (the notebook's 'CDN') (CTR)", "CDN (CrossNetwork, DeepNetwork, DCN)",
         {"embedding_dim": 8, "num_cross_layers": 2, "hidden_units": [128, 64], "l2": 1e-4, "cross_residual": False, "pooling": "mean"},
         {"num_cross_layers": "seed 003 DCN(..., 8, 2, [128, 64]): n_cross_layers = 2",
          "hidden_units": "seed 003 DCN(..., [128, 64]) deep network, relu",
          "cross_residual": "seed 003's cross layer has no + x_l (the paper's residual): false"}),
    _ctr("xdeepfm", "XDeepFM", "xDeepFM: linear + CIN + DNN (CTR)", "xDFM (CIN, xDFM)",
         {"embedding_dim": 8, "cin_layers": [32, 32], "hidden_units": [128, 64], "activation": "relu", "l2": 1e-4,
          "cin_include_input": True, "pooling": "mean"},
         {"cin_layers": "seed 003 xDFM(..., 8, [32, 32], [128, 64], 'relu')",
          "hidden_units": "seed 003 xDFM(..., [128, 64], ...)",
          "activation": "seed 003 xDFM(..., 'relu') for the CIN and DNN layers",
          "cin_include_input": "seed 003's CIN sum-pools its input X^0 too (the paper does not)",
          "epochs": "seed 003 xdfm.fit(epochs=5) ('easily overfitting, reduce epochs')"},
         {"epochs": 5}),
    _ctr("pnn", "PNN", "Product-based neural network, inner or outer product (CTR)", "PNN (InnerProduct, OuterProduct, PNN)",
         {"embedding_dim": 8, "hidden_units": [64, 32], "product": "inner", "kernel_type": "mat", "inner_reduce": False,
          "l2": 1e-4, "pooling": "mean"},
         {"hidden_units": "seed 003 PNN(..., 8, [64, 32])",
          "product": "seed 003 ipnn = PNN(...) (model_type='inner'); opnn = PNN(..., 'outer')",
          "kernel_type": "seed 003 OuterProduct(kernel_type='mat') default",
          "inner_reduce": "seed 003's InnerProduct leaves reduce_sum commented out: element-wise products (false)"}),
    _ctr("wide_deep", "WideDeep", "Wide & Deep, one optimizer per part (CTR)", "W&D (WideAndDeep)",
         {"embedding_dim": 4, "hidden_units": [256, 128, 64], "dropout": 0.2, "pooling": "mean"},
         {"embedding_dim": "seed 003 WideAndDeep u_emb_dim = i_emb_dim = 4",
          "hidden_units": "seed 003 build_deep_model: Dense(256), Dense(128), Dense(64), relu",
          "dropout": "seed 003 Dropout(0.2) after the last hidden layer",
          "lr": "seed 003 optimizers.Adam(1e-3) for the wide and for the deep part"}),
    _ctr("autoint", "AutoInt", "AutoInt: multi-head self-attention over fields (CTR)", "AutoInt (MHA, AutoInt)",
         {"embedding_dim": 8, "attention_dims": [8, 8], "attention_heads": [2, 2], "residual": True, "l2": 1e-4, "pooling": "mean"},
         {"attention_dims": "seed 003 AutoInt(..., 8, [8, 8], [2, 2]): att_sizes",
          "attention_heads": "seed 003 att_heads = [2, 2]",
          "residual": "seed 003 MHA use_resid=True",
          "lr": "seed 003 optimizers.Adam(2e-4)"},
         {"lr": 2e-4}),
]
MODELS.update({spec.name: spec for spec in _CTR_SPECS})


def list_models() -> list[ModelSpec]:
    """Every registered model, in registration order."""
    return list(MODELS.values())


def did_you_mean(name: str, choices) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices`` to a mistyped ``name``, or ``""``."""
    import difflib

    close = difflib.get_close_matches(str(name).lower(), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def get_model_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; an unknown name is a UserError suggesting the closest and
    listing the valid ones."""
    try:
        return MODELS[str(name).lower()]
    except KeyError:
        raise UserError(f"unknown model {name!r}; {did_you_mean(name, MODELS)}valid models: {', '.join(MODELS)}") from None


def parse_value(text: str):
    """Parse a ``--set`` value: JSON when it parses (numbers, lists, booleans), else a string.

    ``64,32,16`` is accepted as a list of numbers as well as ``[64,32,16]``.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [parse_value(part) for part in text.split(",")]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def resolve_hparams(
    spec: ModelSpec, overrides: dict | None, data_name: str | None = None, data_options=(), preset: str | None = None
) -> tuple[dict, dict]:
    """Merge the dataset's defaults, then the preset's values, then ``overrides``, into the
    spec's defaults, checking keys.

    Args:
        spec: the model.
        overrides: ``--set`` values.
        data_name: the registered dataset (its per-dataset defaults apply first).
        preset: a name in ``spec.presets`` (``--preset``), applied after the dataset's defaults.
        data_options: options of the dataset's loader (``test_days``, ``threshold``, ...),
            also valid ``--set`` keys: they land in the training settings, from which
            :func:`tfrec.training.train` passes them to the loader.

    Returns:
        ``(model_kwargs, train_settings)``.

    Raises:
        UserError: for a key that is neither a constructor argument of the model, a training
            setting nor a loader option; the message suggests the closest and lists the valid keys.
    """
    chosen = {}
    if preset is not None:
        if preset not in spec.presets:
            offered = f"its presets: {', '.join(spec.presets)}" if spec.presets else "it has none"
            raise UserError(f"unknown --preset {preset!r} for model {spec.name!r}; {did_you_mean(preset, spec.presets)}{offered}")
        chosen = spec.presets[preset].values_for(preset, spec.name, data_name)
    overrides = {**spec.dataset_defaults.get(data_name or "", {}), **chosen, **(overrides or {})}
    signature = inspect.signature(spec.model_class().__init__)
    constructor = {p for p in signature.parameters if p not in ("self", "kwargs") and p not in DATA_SHAPE_ARGS}
    model_kwargs = dict(spec.model_defaults)
    train = dict(spec.train_defaults)
    valid = sorted(constructor | set(train) | set(data_options))
    for key, value in overrides.items():
        if key in train or (key in data_options and key not in constructor):
            train[key] = value
        elif key in constructor:
            model_kwargs[key] = value
        else:
            on = f" on --data {data_name}" if data_name else ""
            raise UserError(
                f"unknown --set key {key!r} for model {spec.name!r}{on}; {did_you_mean(key, valid)}valid keys: {', '.join(valid)}"
            )
    return model_kwargs, train


def check_task_data(spec: ModelSpec, data) -> None:
    """A UserError when ``data`` is not the task data ``spec`` trains on (its task's
    :meth:`~tfrec.tasks.base.Task.check_data`)."""
    spec.task_class().check_data(spec.name, data)


def build_model(name: str, data, **overrides):
    """Build model ``name`` for task data ``data`` with defaults plus ``overrides``
    (:meth:`ModelSpec.build`: the one way every model is built, by ``tfrec.train`` too).

    Constructor errors from bad values (``ValueError``) become a UserError naming the option.
    """
    spec = get_model_spec(name)
    check_task_data(spec, data)
    model_kwargs, _ = resolve_hparams(spec, overrides, spec.dataset_name(getattr(data, "name", None)))
    return spec.build(data, model_kwargs)
