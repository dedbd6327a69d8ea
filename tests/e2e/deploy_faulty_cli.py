"""`dutydesk` with one injected fault, run as a script in a subprocess by tests/e2e/test_faults.py.

    python deploy_faulty_cli.py FAULT [dutydesk arguments ...]

FAULT is one of
- `enospc-jsonl`    writing a generation's clauses.jsonl fails with ENOSPC (disk full);
- `enospc-lexical`  saving a generation's bm25s index fails with ENOSPC;
- `enospc-manifest` writing manifest.json fails with ENOSPC;
- `pause-before-swap`  once the new generation is completely written (files, Chroma collection,
  history, versions), just before manifest.json is swapped: create the file named by
  $DEPLOY_MARKER and sleep, so the test can SIGKILL the process at the worst moment.
- `hold-before-swap`  the same point, but wait there (holding the writer lock) until the file named
  by $DEPLOY_RELEASE exists, then swap and finish normally: a second ingest can be started meanwhile.

and, not a fault, `hash-embedder`: the test suite's HashEmbedder (tests/fakes/embedders.py) instead of the
model, so a CLI test over a large corpus (the bundled knowledge/) ingests in a second.

Everything else is the real CLI (`bot.cli.main`): its output, its exit status, and whatever
escapes it (Python prints the traceback and exits 1, as the console script would).
"""
from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ingest.store as store  # noqa: E402
from ingest.lexical import LexicalIndex  # noqa: E402


def disk_full(path: object) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def inject(fault: str) -> None:
    """Patch the write path for one fault."""
    atomic_write = store._atomic_write

    if fault == "enospc-jsonl":
        def write_jsonl(path: Path, rows: Any) -> None:
            raise disk_full(path)
        store._write_jsonl = write_jsonl  # type: ignore[assignment]
    elif fault == "enospc-lexical":
        def save(self: LexicalIndex, directory: Path) -> None:
            raise disk_full(directory)
        LexicalIndex.save = save  # type: ignore[method-assign]
    elif fault == "enospc-manifest":
        def failing_write(path: Path, text: str) -> None:
            if path.name == "manifest.json":
                raise disk_full(path)
            atomic_write(path, text)
        store._atomic_write = failing_write  # type: ignore[assignment]
    elif fault == "hold-before-swap":
        def held_write(path: Path, text: str) -> None:
            if path.name == "manifest.json":
                Path(os.environ["DEPLOY_MARKER"]).touch()
                while not Path(os.environ["DEPLOY_RELEASE"]).exists():
                    time.sleep(0.05)
            atomic_write(path, text)
        store._atomic_write = held_write  # type: ignore[assignment]
    elif fault == "hash-embedder":
        import bot.service
        from tests.fakes.embedders import HashEmbedder  # the repository root is on sys.path (above)

        bot.service.build_embedder = lambda settings: HashEmbedder()  # type: ignore[assignment]
    elif fault == "pause-before-swap":
        def paused_write(path: Path, text: str) -> None:
            if path.name == "manifest.json":
                Path(os.environ["DEPLOY_MARKER"]).touch()
                time.sleep(600)
            atomic_write(path, text)
        store._atomic_write = paused_write  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown fault {fault!r}")


if __name__ == "__main__":
    inject(sys.argv[1])
    from bot.cli import main

    raise SystemExit(main(sys.argv[2:]))
