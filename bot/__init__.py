"""DutyDesk read path: retrieval, answers, citations and the front ends (API, Telegram, CLI)."""
import ingest  # noqa: F401  (sets the environment that must precede chromadb and the embedder)
