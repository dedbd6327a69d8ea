"""DutyDesk write path: documents → clauses → index."""
import os

# These must be set before chromadb/onnxruntime or the embedding engine load anywhere in the process:
# onnxruntime phones home unless told not to, and OpenMP threads busy-wait by default, which turns a
# 15 ms query into seconds when another process is busy on this 2-core class of machine.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# numpy's OpenBLAS splits a few-thousand-row product (the exact dense search) over every core, then
# its threads spin between questions: measured here at 3k-10k clauses, a 0.3 ms search cost 15 ms
# of CPU per question, a core stolen from the embeddings under load. One thread does it in 0.3 ms.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
