"""Pin Keras 3 to the TensorFlow backend before anything imports keras.

tfrec uses TensorFlow-specific code (``tf.data``, ``tf.sparse``, SavedModel export), so the
backend is fixed here rather than left to ``KERAS_BACKEND`` in the user's environment.
"""

from __future__ import annotations

import os
import sys

if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
    raise ImportError(
        "tfrec needs Keras' TensorFlow backend, but keras was already imported with "
        f"KERAS_BACKEND={os.environ['KERAS_BACKEND']!r}; import tfrec first or unset KERAS_BACKEND."
    )
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
