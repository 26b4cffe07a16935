"""Settings read from the environment and `.env`, as listed in the contract. Secrets stay SecretStr."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_GITHUB_API_URL = "https://api.github.com"
YEAR = 366 * 86_400


def _http_url(value: str | None) -> str | None:
    """`value` if it is an absolute http(s) URL with a host; ValueError naming what is wrong otherwise."""
    if value is None:
        return None
    schemes = ("http", "https")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises when the port is not a number)
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"must be an {' or '.join(schemes)} URL with a host, got {value!r}")
    if any(char.isspace() or ord(char) < 32 for char in value):
        raise ValueError("has a space or control character")
    return value


class Settings(BaseSettings):
    """Every setting the product reads; field names map to the contract's environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, allow_inf_nan=False)

    data_dir: Path = Field(Path("data"), alias="CMO_DATA_DIR", description="Database, outbox, exports.")
    checkpoint_url: str | None = Field(
        None, alias="CMO_CHECKPOINT_URL", description="sqlite:///PATH or postgresql://...; SQLite in data_dir if unset."
    )
    github_token: SecretStr | None = Field(None, alias="GITHUB_TOKEN", description="GitHub token (optional).")
    github_api_url: str = Field(DEFAULT_GITHUB_API_URL, alias="GITHUB_API_URL", description="GitHub REST base URL.")
    github_max_per_minute: int = Field(
        800,
        alias="CMO_GITHUB_MAX_PER_MIN",
        ge=1,
        le=1_000_000,
        description="Requests per minute to one GitHub endpoint (GitHub: 900).",
    )
    github_max_retries: int = Field(
        5, alias="CMO_GITHUB_MAX_RETRIES", ge=0, le=20, description="Retries of a GitHub request after 5xx or limits."
    )
    github_workers: int = Field(4, alias="CMO_GITHUB_WORKERS", ge=1, le=10, description="GitHub requests in flight.")
    github_cache_ttl: float = Field(
        86_400,
        alias="CMO_GITHUB_CACHE_TTL",
        ge=0,
        le=YEAR,
        description="Seconds GitHub answers are reused across jobs; 0 off.",
    )
    batch_size: int = Field(
        20,
        alias="CMO_BATCH_SIZE",
        ge=1,
        le=500,
        description="Items per checkpointed batch (a crash loses at most one).",
    )
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY", description="Enables LLM personalization.")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL", description="OpenAI-compatible endpoint.")
    llm_model: str = Field("gpt-4o-mini", alias="CMO_LLM_MODEL", description="Model for personalization.")
    llm_timeout: float = Field(
        30.0,
        alias="CMO_LLM_TIMEOUT",
        gt=0,
        le=3600,
        description="Seconds one LLM request may take before it is retried.",
    )
    llm_max_retries: int = Field(
        3, alias="CMO_LLM_MAX_RETRIES", ge=0, le=10, description="Retries of an LLM request after 429, 5xx or timeouts."
    )
    llm_structured_output: bool = Field(
        True,
        alias="CMO_LLM_STRUCTURED_OUTPUT",
        description="Ask for a strict JSON schema (true) or plain JSON mode, for endpoints without schemas (false).",
    )
    llm_workers: int = Field(4, alias="CMO_LLM_WORKERS", ge=1, le=16, description="LLM requests in flight.")
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        alias="CMO_LLM_PRICES",
        description='USD per million prompt and completion tokens by model, JSON: {"my-model": [0.15, 0.6]}.',
    )
    sender_email: str | None = Field(None, alias="CMO_SENDER_EMAIL", description="From address.")
    sender_name: str | None = Field(None, alias="CMO_SENDER_NAME", description="From display name.")
    postal_address: str | None = Field(None, alias="CMO_POSTAL_ADDRESS", description="Postal address in every email.")
    unsubscribe_url: str | None = Field(None, alias="CMO_UNSUBSCRIBE_URL", description="https one-click unsubscribe.")
    sender_website: str | None = Field(
        None, alias="CMO_SENDER_WEBSITE", description="The sender's site: the one non-GitHub link emails may carry."
    )
    pitch: str | None = Field(
        None, alias="CMO_PITCH", description="One or two sentences on what you offer and ask; every email says it."
    )
    smtp_host: str | None = Field(None, alias="SMTP_HOST")
    smtp_port: int | None = Field(None, alias="SMTP_PORT", ge=1, le=65535)
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")
    smtp_security: Literal["none", "starttls", "ssl"] = Field("starttls", alias="SMTP_SECURITY")
    smtp_ca_file: str | None = Field(
        None, alias="SMTP_CA_FILE", description="PEM bundle trusted for the relay's certificate; the system's if unset."
    )
    smtp_timeout: float = Field(
        30.0, alias="SMTP_TIMEOUT", gt=0, le=3600, description="Seconds one SMTP exchange may take."
    )
    send_rate_per_min: int = Field(
        10, alias="CMO_SEND_RATE_PER_MIN", ge=1, le=100_000, description="Messages per minute."
    )
    daily_cap: int = Field(
        200, alias="CMO_DAILY_CAP", ge=1, le=10_000_000, description="Messages per rolling 24 hours."
    )
    send_retry_seconds: float = Field(
        60.0,
        alias="CMO_SEND_RETRY_SECONDS",
        gt=0,
        le=86_400,
        description="First wait after an SMTP 4xx; doubles per attempt.",
    )
    send_max_attempts: int = Field(
        5, alias="CMO_SEND_MAX_ATTEMPTS", ge=1, le=20, description="SMTP attempts per message before it is failed."
    )
    imap_host: str | None = Field(None, alias="IMAP_HOST")
    imap_port: int | None = Field(None, alias="IMAP_PORT", ge=1, le=65535)
    imap_username: str | None = Field(None, alias="IMAP_USERNAME")
    imap_password: SecretStr | None = Field(None, alias="IMAP_PASSWORD")
    imap_security: Literal["none", "starttls", "ssl"] = Field("ssl", alias="IMAP_SECURITY")
    imap_folder: str = Field("INBOX", alias="IMAP_FOLDER")
    mx_check: bool = Field(
        True, alias="CMO_MX_CHECK", description="Check that an address's domain can receive mail (MX, or A/AAAA)."
    )
    dns_server: str | None = Field(
        None, alias="CMO_DNS_SERVER", description="host[:port] of the resolver for MX checks; the system's when unset."
    )
    dns_timeout: float = Field(
        3.0, alias="CMO_DNS_TIMEOUT", gt=0, le=600, description="Seconds one DNS lookup may take."
    )

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_named(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty; name a directory")
        return value

    @field_validator("github_api_url")
    @classmethod
    def _github_url(cls, value: str) -> str:
        return _http_url(value) or value

    @field_validator("openai_base_url")
    @classmethod
    def _openai_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    def resolved_checkpoint_url(self) -> str:
        """The checkpoint database URL, defaulting to a SQLite file in the data directory."""
        if self.checkpoint_url:
            return self.checkpoint_url
        return f"sqlite:///{(self.data_dir / 'cmo_agent.db').resolve()}"
