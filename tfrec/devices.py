"""Device placement through ``tf.config``: ``--device auto|cpu|gpu|gpu:N``.

``configure_device`` must run before TensorFlow creates its devices (before the first op); the
training API calls it first thing. Asking for a GPU that is not there is a
:class:`~tfrec.errors.UserError`, never a silent fall back to the CPU.
"""

from __future__ import annotations

import re

from tfrec import _backend  # noqa: F401
import tensorflow as tf

from tfrec.errors import UserError

_SPEC = re.compile(r"^(auto|cpu|gpu)(?::(\d+))?$")


def configure_device(spec: str = "auto") -> str:
    """Make the requested device the one TensorFlow uses and return its name.

    Args:
        spec: ``auto`` (first GPU if any, else CPU), ``cpu``, ``gpu`` (= ``gpu:0``) or ``gpu:N``.

    Returns:
        The logical device name used, e.g. ``"/device:CPU:0"`` or ``"/device:GPU:0"``, plus the
        GPU's description for GPUs (recorded in the run's ``config.json``).

    Raises:
        UserError: malformed spec, or a GPU that does not exist.
    """
    match = _SPEC.match(spec.strip().lower())
    if not match or (match.group(1) != "gpu" and match.group(2) is not None):
        raise UserError(f"invalid --device {spec!r}; expected auto, cpu, gpu or gpu:N")
    kind, index = match.group(1), match.group(2)
    gpus = tf.config.list_physical_devices("GPU")
    try:
        if kind == "cpu" or (kind == "auto" and not gpus):
            if gpus:
                tf.config.set_visible_devices([], "GPU")
            return "/device:CPU:0"
        n = int(index or 0)
        if n >= len(gpus):
            have = f"{len(gpus)} GPU(s): " + ", ".join(g.name for g in gpus) if gpus else "no GPU"
            raise UserError(f"--device {spec} asks for GPU {n} but TensorFlow sees {have}; use --device cpu")
        tf.config.set_visible_devices([gpus[n]], "GPU")
        tf.config.experimental.set_memory_growth(gpus[n], True)
    except RuntimeError as error:  # devices were already initialised in this process
        visible = tf.config.get_visible_devices("GPU")
        if kind == "cpu" and visible:
            raise UserError(f"--device cpu requested after TensorFlow already initialised the GPU ({error})") from None
    details = tf.config.experimental.get_device_details(gpus[int(index or 0)]) if gpus else {}
    name = details.get("device_name", "")
    return "/device:GPU:0" + (f" ({name})" if name else "")
