"""DutyDesk write path: documents → clauses → index."""
import os

# These must be set before chromadb/onnxruntime or the embedding engine load anywhere in the process:
# onnxruntime phones home unless told not to, and OpenMP threads busy-wait by default, which turns a
# 15 ms query into seconds when another process is busy on this 2-core class of machine.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
