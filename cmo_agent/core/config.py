"""Settings read from the environment and `.env` (docs/contract.md lists them). Secrets stay SecretStr."""

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
    """Every setting the product reads; each alias is the environment variable `.env.example` documents."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, allow_inf_nan=False)

    data_dir: Path = Field(
        Path("data"),
        alias="CMO_DATA_DIR",
        description="Directory for the SQLite database, outboxes and exports; ./data by default.",
    )
    checkpoint_url: str | None = Field(
        None,
        alias="CMO_CHECKPOINT_URL",
        description="Checkpoint database, sqlite:///PATH or postgresql://...; unset: data_dir/cmo_agent.db.",
    )
    github_token: SecretStr | None = Field(
        None,
        alias="GITHUB_TOKEN",
        description="GitHub token: 5,000 requests an hour instead of 60, GraphQL profile batches; unset: anonymous.",
    )
    github_api_url: str = Field(
        DEFAULT_GITHUB_API_URL,
        alias="GITHUB_API_URL",
        description="GitHub REST base URL (GitHub Enterprise, or a loopback stand-in); GraphQL is derived from it.",
    )
    github_max_per_minute: int = Field(
        800,
        alias="CMO_GITHUB_MAX_PER_MIN",
        ge=1,
        le=1_000_000,
        description="Requests per minute to one GitHub endpoint, process-wide (GitHub's secondary limit: 900).",
    )
    github_max_retries: int = Field(
        5,
        alias="CMO_GITHUB_MAX_RETRIES",
        ge=0,
        le=20,
        description="Retries of one GitHub request after a 5xx, a transport error or a rate-limit wait.",
    )
    github_workers: int = Field(
        4,
        alias="CMO_GITHUB_WORKERS",
        ge=1,
        le=10,
        description="GitHub requests in flight at once (also repositories per candidates step).",
    )
    worker_heartbeat: float = Field(
        10.0,
        alias="CMO_WORKER_HEARTBEAT",
        gt=0,
        le=3600,
        description="Seconds between a queue worker's heartbeats.",
    )
    worker_stalled_after: float = Field(
        30.0,
        alias="CMO_WORKER_STALLED_AFTER",
        gt=0,
        le=86_400,
        description="Seconds without a heartbeat after which a worker counts as dead and its job is run elsewhere.",
    )
    github_cache_ttl: float = Field(
        86_400,
        alias="CMO_GITHUB_CACHE_TTL",
        ge=0,
        le=YEAR,
        description="Seconds a cached GitHub answer is reused by later jobs; 0 turns the cache off.",
    )
    batch_size: int = Field(
        20,
        alias="CMO_BATCH_SIZE",
        ge=1,
        le=500,
        description="Items per checkpointed batch in enrich, personalize and deliver (a crash loses at most one).",
    )
    openai_api_key: SecretStr | None = Field(
        None,
        alias="OPENAI_API_KEY",
        description="Lets the model write search queries and emails; unset: rules and templates do.",
    )
    openai_base_url: str | None = Field(
        None,
        alias="OPENAI_BASE_URL",
        description="OpenAI-compatible endpoint; unset: https://api.openai.com/v1.",
    )
    llm_model: str = Field(
        "gpt-4o-mini", alias="CMO_LLM_MODEL", description="Model name for search queries and emails."
    )
    llm_timeout: float = Field(
        30.0,
        alias="CMO_LLM_TIMEOUT",
        gt=0,
        le=3600,
        description="Seconds one model request may take before it is retried.",
    )
    llm_max_retries: int = Field(
        3,
        alias="CMO_LLM_MAX_RETRIES",
        ge=0,
        le=10,
        description="Retries of one model request after a 429, a 5xx, a timeout or a lost connection (the SDK's).",
    )
    llm_structured_output: bool = Field(
        True,
        alias="CMO_LLM_STRUCTURED_OUTPUT",
        description="Ask for a strict JSON schema (true) or plain JSON mode, for endpoints without schemas (false).",
    )
    llm_workers: int = Field(
        4, alias="CMO_LLM_WORKERS", ge=1, le=16, description="Model requests in flight while drafting."
    )
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        alias="CMO_LLM_PRICES",
        description=(
            'USD per million prompt and completion tokens by model, over the built-in table; JSON {"m": [0.15, 0.6]}.'
        ),
    )
    sender_email: str | None = Field(
        None,
        alias="CMO_SENDER_EMAIL",
        description="From address; required for SMTP, a placeholder in outbox drafts when unset.",
    )
    sender_name: str | None = Field(
        None,
        alias="CMO_SENDER_NAME",
        description="From display name; required for SMTP, 'CMO Agent' in outbox drafts when unset.",
    )
    postal_address: str | None = Field(
        None,
        alias="CMO_POSTAL_ADDRESS",
        description="Physical postal address in every footer; required for SMTP, a placeholder when unset.",
    )
    unsubscribe_url: str | None = Field(
        None,
        alias="CMO_UNSUBSCRIBE_URL",
        description="https URL for one-click unsubscribe (List-Unsubscribe); unset: a mailto: to the sender.",
    )
    sender_website: str | None = Field(
        None, alias="CMO_SENDER_WEBSITE", description="The sender's site: the one non-GitHub link emails may carry."
    )
    pitch: str | None = Field(
        None,
        alias="CMO_PITCH",
        description="What you offer and ask, one or two sentences every email says; unset: a generic pitch.",
    )
    smtp_host: str | None = Field(None, alias="SMTP_HOST", description="SMTP relay host; required for --deliver smtp.")
    smtp_port: int | None = Field(
        None,
        alias="SMTP_PORT",
        ge=1,
        le=65535,
        description="SMTP relay port; unset: 25, 587 or 465 by SMTP_SECURITY.",
    )
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME", description="SMTP login; unset: no authentication.")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD", description="SMTP password for SMTP_USERNAME.")
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        "starttls",
        alias="SMTP_SECURITY",
        description="none (plain), starttls (upgrade after connecting) or ssl (TLS from the start).",
    )
    smtp_ca_file: str | None = Field(
        None, alias="SMTP_CA_FILE", description="PEM bundle trusted for the relay's certificate; the system's if unset."
    )
    smtp_timeout: float = Field(
        30.0, alias="SMTP_TIMEOUT", gt=0, le=3600, description="Seconds one SMTP exchange may take."
    )
    imap_host: str | None = Field(None, alias="IMAP_HOST", description="IMAP server `sync` reads; required for sync.")
    imap_port: int | None = Field(
        None, alias="IMAP_PORT", ge=1, le=65535, description="IMAP port; unset: 143 (none, starttls) or 993 (ssl)."
    )
    imap_username: str | None = Field(None, alias="IMAP_USERNAME", description="IMAP login.")
    imap_password: SecretStr | None = Field(None, alias="IMAP_PASSWORD", description="IMAP password for IMAP_USERNAME.")
    imap_security: Literal["none", "starttls", "ssl"] = Field(
        "ssl",
        alias="IMAP_SECURITY",
        description="none (plain), starttls (upgrade after connecting) or ssl (TLS from the start).",
    )
    imap_folder: str = Field(
        "INBOX", alias="IMAP_FOLDER", min_length=1, description="The folder replies and bounces arrive in."
    )
    imap_ca_file: str | None = Field(
        None,
        alias="IMAP_CA_FILE",
        description="PEM bundle trusted for the IMAP server's certificate; the system's if unset.",
    )
    send_rate_per_min: int = Field(
        10,
        alias="CMO_SEND_RATE_PER_MIN",
        ge=1,
        le=100_000,
        description="SMTP messages per minute per sender, counted from the delivery ledger.",
    )
    daily_cap: int = Field(
        100,
        alias="CMO_DAILY_CAP",
        ge=1,
        le=10_000_000,
        description="SMTP messages per rolling 24 hours per sender, counted from the ledger; reaching it pauses.",
    )
    send_retry_seconds: float = Field(
        60.0,
        alias="CMO_SEND_RETRY_SECONDS",
        gt=0,
        le=86_400,
        description="Seconds to wait after an SMTP 4xx before the first retry; doubles per attempt.",
    )
    send_max_attempts: int = Field(
        5, alias="CMO_SEND_MAX_ATTEMPTS", ge=1, le=20, description="SMTP attempts per message before it is failed."
    )
    send_window: str | None = Field(
        None,
        alias="CMO_SEND_WINDOW",
        description=(
            "When messages may go, in each recipient's zone (else the sender's): `Mon-Fri 09:00-17:00`, "
            "windows joined by `;`; unset: any time."
        ),
    )
    sender_tz: str | None = Field(
        None,
        alias="CMO_SENDER_TZ",
        description="The sender's IANA time zone (`Europe/Berlin`), for recipients of unknown zone; unset: local.",
    )
    recontact_days: int = Field(
        90,
        alias="CMO_RECONTACT_DAYS",
        ge=0,
        le=36_500,
        description="Skip a person another job sent to over SMTP within this many days (0: off; see --recontact-days).",
    )
    mx_check: bool = Field(
        True, alias="CMO_MX_CHECK", description="Check that an address's domain can receive mail (MX, or A/AAAA)."
    )
    dns_server: str | None = Field(
        None,
        alias="CMO_DNS_SERVER",
        description="Resolver for MX checks, ip[:port] (port 53 by default); the system's when unset.",
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

    @field_validator("send_window")
    @classmethod
    def _send_window(cls, value: str | None) -> str | None:
        from cmo_agent.send_window import parse_send_window

        if value is None or not value.strip():
            return None
        parse_send_window(value)
        return value.strip()

    @field_validator("sender_tz")
    @classmethod
    def _sender_tz(cls, value: str | None) -> str | None:
        from cmo_agent.send_window import sender_zone

        if value is None or not value.strip():
            return None
        sender_zone(value.strip())
        return value.strip()

    def resolved_checkpoint_url(self) -> str:
        """The checkpoint database URL, defaulting to a SQLite file in the data directory."""
        if self.checkpoint_url:
            return self.checkpoint_url
        return f"sqlite:///{(self.data_dir / 'cmo_agent.db').resolve()}"
