"""Task kinds: how each family of task data is batched, checked, evaluated and summarised.

One module per kind, each a :class:`~tfrec.tasks.base.Task` (the written contract):

========================  ==========================  =========================================
kind                      task data                   models
========================  ==========================  =========================================
``implicit``              ``ImplicitFeedback``        GMF, MLP, NeuMF
``multi_behavior``        ``MultiBehavior``           MB-GMN
``sequences``             ``SequenceData``            AttRec
``sessions``              ``SessionData``             COTREC
``ctr``                   ``CTRData``                 FM, AFM, DeepFM, DCN, xDeepFM, PNN, W&D, AutoInt
========================  ==========================  =========================================

:data:`KINDS` is the one list of task names (the model and dataset registries check theirs
against it); importing this package is cheap: a task's module, and TensorFlow with it, is
imported by :func:`get_task` only.
"""

from __future__ import annotations

import importlib

KINDS: dict[str, str] = {
    "implicit": "tfrec.tasks.implicit:ImplicitTask",
    "multi_behavior": "tfrec.tasks.multi_behavior:MultiBehaviorTask",
    "sequences": "tfrec.tasks.sequences:SequenceTask",
    "sessions": "tfrec.tasks.sessions:SessionTask",
    "ctr": "tfrec.tasks.ctr:CTRTask",
}


def get_task(kind: str):
    """The :class:`~tfrec.tasks.base.Task` subclass of a task kind (a key of :data:`KINDS`)."""
    from tfrec.errors import UserError

    try:
        module, name = KINDS[kind].split(":")
    except KeyError:
        raise UserError(f"unknown task kind {kind!r}; the kinds are {', '.join(KINDS)}") from None
    return getattr(importlib.import_module(module), name)
