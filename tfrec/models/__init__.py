"""Model classes, one module per model. Importing this package registers them with Keras'
serialisation (``@keras.saving.register_keras_serializable(package="tfrec")``), which is what
``keras.saving.load_model`` needs to reload a ``.keras`` file."""

from tfrec.models.mbgmn import MBGMN
from tfrec.models.ncf import GMF, MLP, NeuMF, neumf_from_pretrained

__all__ = ["GMF", "MBGMN", "MLP", "NeuMF", "neumf_from_pretrained"]
