"""Pin Keras 3 to the TensorFlow backend and import TensorFlow without its start-up noise.

tfrec uses TensorFlow-specific code (``tf.data``, ``tf.sparse``, SavedModel export), so the
backend is fixed here rather than left to ``KERAS_BACKEND`` in the user's environment. Every
module that needs TensorFlow imports this one first.

TensorFlow's C++ runtime logs several lines at import and at the first device query (oneDNN
notices, "could not find cuda drivers") before ``TF_CPP_MIN_LOG_LEVEL`` takes effect; they are
not errors, so :func:`quietly` sends file descriptor 2 to ``/dev/null`` around those two calls.
Python exceptions are unaffected. Set ``TFREC_TF_LOGS=1`` to see the lines.
"""

from __future__ import annotations

import contextlib
import os
import sys

if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
    raise ImportError(
        "tfrec needs Keras' TensorFlow backend, but keras was already imported with "
        f"KERAS_BACKEND={os.environ['KERAS_BACKEND']!r}; import tfrec first or unset KERAS_BACKEND."
    )
os.environ["KERAS_BACKEND"] = "tensorflow"
# 3 also hides benign C++ "errors" logged mid-run (oneDNN's "supports DT_INT32 only on
# platforms with AVX-512" notice); failures still raise Python exceptions with their message.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if os.environ.get("TFREC_TF_LOGS") == "1" else "3")


@contextlib.contextmanager
def quietly():
    """Silence C-level writes to stderr inside the block (unless ``TFREC_TF_LOGS=1``)."""
    if os.environ.get("TFREC_TF_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real file descriptor 2 (some notebook front-ends)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with quietly():
    import tensorflow  # noqa: F401,E402

    tensorflow.config.list_physical_devices()  # the first device query logs about CUDA
