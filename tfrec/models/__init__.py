"""The models. Importing this package registers every model class for Keras serialisation
(``@keras.saving.register_keras_serializable(package="tfrec")``), which is what
``keras.saving.load_model`` needs to reload a ``.keras`` file (and registers
:class:`tfrec.optimizers.TorchAdam`, which the PyTorch ports are compiled with)."""

from tfrec import optimizers  # noqa: F401  (registers TorchAdam for .keras loading)

from tfrec.models.afm import AFM
from tfrec.models.attrec import AttRec
from tfrec.models.autoint import AutoInt
from tfrec.models.cotrec import CoTRec
from tfrec.models.dcn import DCN
from tfrec.models.deepfm import DeepFM
from tfrec.models.fm import FM
from tfrec.models.mbgmn import MBGMN
from tfrec.models.ncf import GMF, MLP, NeuMF, neumf_from_pretrained
from tfrec.models.pnn import PNN
from tfrec.models.wide_deep import WideDeep
from tfrec.models.xdeepfm import XDeepFM

__all__ = [
    "AFM", "AttRec", "AutoInt", "CoTRec", "DCN", "DeepFM", "FM", "GMF", "MBGMN", "MLP", "NeuMF", "PNN", "WideDeep",
    "XDeepFM", "neumf_from_pretrained",
]
