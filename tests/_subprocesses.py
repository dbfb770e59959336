"""Subprocess harness for the distribution tests: device layouts and ``TF_CONFIG`` must be set
before TensorFlow starts, so each distributed run is a script in a fresh interpreter, bounded in
time, that prints one JSON line (importable because ``tests/`` is on ``sys.path``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # a hung script fails the test; a 2-core machine with other work on it can take minutes


def script_env(**extra: str) -> dict:
    """This process's environment for a script: tfrec importable, CPU only, no ``TF_CONFIG``."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["CUDA_VISIBLE_DEVICES"] = ""  # CPU only, whatever the machine has
    env.update(extra)
    return env


def run_script(code: str, folder: Path, env: dict | None = None, args: tuple = (), name: str = "script.py") -> subprocess.Popen:
    """Start ``code`` (dedented) as ``folder/name`` in a new interpreter."""
    script = folder / name
    script.write_text(textwrap.dedent(code))
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], cwd=folder, env=env or script_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def script_result(process: subprocess.Popen, timeout: float = TIMEOUT) -> dict:
    """The JSON object on the last line a script printed; the test fails on a non-zero exit or a
    time-out, with the end of the script's stderr."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"timed out after {timeout} s:\n{err[-3000:]}")
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def free_ports(n: int) -> list[int]:
    """``n`` free localhost ports."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(code: str, folder: Path, workers: int = 2, args: tuple = ()) -> list[dict]:
    """``code`` as a ``workers``-worker ``MultiWorkerMirroredStrategy`` cluster on localhost, each
    worker in ``folder/worker{i}`` with its own ``TF_CONFIG``; their JSON results, chief first."""
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(workers)]}
    processes = []
    try:
        for index in range(workers):
            where = folder / f"worker{index}"
            where.mkdir()
            env = script_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
            processes.append(run_script(code, where, env, args))
        return [script_result(p) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
