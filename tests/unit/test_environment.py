"""The process environment that must be set before the native libraries load."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

PROBE = """
import json, os, sys
if sys.argv[1] == "bot":
    import bot  # the front ends' first import
import numpy, threadpoolctl
blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
print(json.dumps({"blas": blas, "env": {k: os.environ.get(k) for k in
      ("OMP_WAIT_POLICY", "ORT_DISABLE_TELEMETRY", "ANONYMIZED_TELEMETRY", "HF_HUB_OFFLINE")}}))
"""


def test_importing_bot_sets_quiet_native_threads_and_no_telemetry() -> None:
    """BLAS runs on one thread (no spinning threads between questions); no telemetry, no downloads."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "ORT_DISABLE_TELEMETRY",
                        "ANONYMIZED_TELEMETRY", "HF_HUB_OFFLINE")}
    probe = _probe(env, "bot")
    assert probe["blas"] and all(n == 1 for n in probe["blas"]), probe
    assert probe["env"] == {"OMP_WAIT_POLICY": "PASSIVE", "ORT_DISABLE_TELEMETRY": "1",
                            "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}


def test_an_operator_setting_wins() -> None:
    """The defaults never override what the operator set."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"}
    with_bot, plain = _probe(env, "bot"), _probe(env, "numpy only")
    assert with_bot == plain and plain["env"]["OMP_WAIT_POLICY"] == "ACTIVE"


def _probe(env: dict[str, str], first_import: str) -> dict[str, Any]:
    """Run PROBE in a fresh interpreter (the variables only count before numpy loads)."""
    out = subprocess.run([sys.executable, "-c", PROBE, first_import], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
