"""The one Settings object. Every ``IAS_*`` variable lives here.

Read it through :func:`get_settings` (cached); tests build ``Settings(...)`` directly or
call ``get_settings.cache_clear()`` after changing the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IAS_", env_file=None, extra="ignore")

    # --- where the single-machine stack keeps its state -------------------------------
    home: Path = Field(
        default=Path(".ias"),
        description="State directory of `ias up`: data of embedded servers, PID files, logs.",
    )

    # --- stores (unset = `ias up` starts an embedded server) --------------------------
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL DSN (SQLAlchemy async form `postgresql+asyncpg://…` or plain "
        "`postgresql://…`). Unset: embedded PostgreSQL under IAS_HOME.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis/Valkey URL `redis://host:port/db`. Unset: embedded Valkey."
    )
    nats_url: str | None = Field(
        default=None, description="NATS URL `nats://host:port` (JetStream on). Unset: embedded NATS."
    )
    clickhouse_url: str | None = Field(
        default=None,
        description="ClickHouse DSN: `chdb:///abs/dir` (embedded, in-process) or "
        "`http://user:pw@host:8123/db`. Unset: `chdb://` directory under IAS_HOME.",
    )

    # --- usage queue ------------------------------------------------------------------
    usage_stream: str = Field(default="USAGE", description="JetStream stream of usage events.")
    usage_subject: str = Field(default="usage.v1", description="Subject of usage events.")
    clickhouse_sql_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of the read-only ClickHouse HTTP interface over embedded chDB (overrides "
        "the usage app's `sql_port`; 0: off). Two stacks on one machine need different ones.",
    )

    # --- SMTP (invites) ---------------------------------------------------------------
    smtp_host: str | None = Field(
        default=None, description="SMTP server; unset: mails go to the outbox, IAS_HOME/outbox."
    )
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_user: str | None = Field(default=None, description="SMTP user.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(default="ias@localhost", description="Sender of invite mails.")
    smtp_starttls: bool = Field(default=True, description="Use STARTTLS.")

    # --- management: identity (login, sessions, invites, members) ----------------------
    portal_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public base URL of the web portal; invite links are `{portal_url}/invite/{token}`. "
        "`ias up` sets it to its own URL unless given.",
    )
    portal_dist: Path | None = Field(
        default=None,
        description="Built web portal the management app serves at `/`; unset: `portal/dist` of this "
        "checkout (`make portal`).",
    )
    session_cookie_secure: bool = Field(
        default=False,
        description="Set the `Secure` flag on the session and CSRF cookies (turn on behind HTTPS).",
    )
    login_window_s: int = Field(
        default=300, gt=0, description="Window of the login rate limits (fixed window, seconds)."
    )
    login_max_per_account: int = Field(
        default=10, ge=1, description="Login attempts per account (e-mail address) per window."
    )
    login_max_per_address: int = Field(
        default=50, ge=1, description="Login attempts per client address per window."
    )
    client_address_header: str | None = Field(
        default=None,
        description="Header carrying the client address set by a trusted proxy (e.g. "
        "`X-Forwarded-For`; its last entry is used). Unset: the TCP peer address.",
    )
    remove_member_revokes_keys: bool = Field(
        default=True,
        description="Removing a user from an org also revokes their API keys in that org "
        "(off: the keys stay, unusable while the user is not a member).",
    )
    # --- end management: identity ------------------------------------------------------

    # --- bootstrap --------------------------------------------------------------------
    bootstrap_admin_email: str | None = Field(
        default=None,
        description="First System Admin created by `ias up` (default admin@ias.local).",
    )
    bootstrap_admin_password: SecretStr | None = Field(
        default=None, description="Its password; unset: generated and printed once."
    )

    # --- Ray / Serve ------------------------------------------------------------------
    serve_config: Path = Field(
        default=Path("serve_config.yaml"), description="Serve config deployed by `ias up`."
    )
    serve_host: str = Field(default="127.0.0.1", description="Address of the Serve HTTP ingress.")
    serve_port: int = Field(default=8000, ge=1, le=65535, description="Port of the Serve ingress.")
    ray_num_cpus: int = Field(
        default=8,
        ge=1,
        description="Logical CPUs Ray advertises (more than the cores: deployments use fractional num_cpus).",
    )
    ray_object_store_mb: int = Field(default=512, ge=78, description="Ray object store size.")
    serve_throughput_optimized: bool = Field(
        default=True,
        description="RAY_SERVE_THROUGHPUT_OPTIMIZED=1 + RAY_SERVE_ENABLE_HA_PROXY=1 "
        "(HAProxy ingress, gRPC between deployments).",
    )
    up_timeout_s: float = Field(
        default=600.0,
        gt=0,
        description="How long `ias up` waits for every application, real engines included, to be healthy.",
    )
    models_dir: Path = Field(
        default=Path.home() / ".cache" / "ias" / "models",
        description="Where `ias models prepare` keeps converted local models (`ias-models://` sources).",
    )

    # --- lifetimes and defaults -------------------------------------------------------
    session_ttl_s: int = Field(default=12 * 3600, gt=0, description="Login session lifetime.")
    invite_ttl_s: int = Field(default=7 * 24 * 3600, gt=0, description="Invite lifetime.")
    key_cache_ttl_s: float = Field(default=5.0, ge=0, description="Gateway in-process key cache TTL.")
    default_monthly_budget_tokens: int | None = Field(
        default=None,
        ge=0,
        description="Budget of a new organisation in tokens per month; unset: unlimited.",
    )

    # --- gateway ----------------------------------------------------------------------
    gateway_max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest request body `/v1` accepts (bytes)."
    )
    gateway_default_max_tokens: int = Field(
        default=1024,
        ge=1,
        le=1_000_000,
        description="max_tokens forwarded to the engine (and reserved against the budget) when a "
        "request names none.",
    )
    gateway_max_output_tokens: int = Field(
        default=32_768,
        ge=1,
        le=1_000_000,
        description="A larger max_tokens is clamped to this before it is forwarded and reserved.",
    )
    gateway_max_batch_prompts: int = Field(
        default=128, ge=1, le=100_000, description="Most prompts in one /v1/completions request (400 beyond)."
    )
    gateway_max_embedding_inputs: int = Field(
        default=2048, ge=1, le=100_000, description="Most inputs in one /v1/embeddings request (400 beyond)."
    )
    gateway_non_text_part_tokens: int = Field(
        default=1024,
        ge=0,
        description="Tokens estimated for each image, audio or file part of a chat message.",
    )
    gateway_inline_count_chars: int = Field(
        default=4096,
        ge=0,
        description="Prompts up to this many characters are counted on the event loop; longer ones "
        "in a worker thread, after a cheap budget/rate-limit pre-check.",
    )
    rate_limit_lease_s: float = Field(
        default=900.0,
        gt=0,
        description="A concurrency slot that is never released (its replica died) frees itself after this.",
    )
    budget_fail_open: bool = Field(
        default=False,
        description="When Redis is unreachable: false = refuse inference with 503 (fail closed), "
        "true = serve it unmetered against the budget (usage is still recorded).",
    )
    usage_publish_max_buffer: int = Field(
        default=100_000,
        ge=1,
        description="Usage events held in memory while NATS is down (beyond: oldest dropped, counted).",
    )
    key_last_used_flush_s: float = Field(
        default=5.0,
        gt=0,
        description="How often API keys' last_used_at is written (one UPDATE per interval).",
    )
    budget_limit_ttl_s: float = Field(
        default=60.0, gt=0, description="How long Redis keeps an org's budget limit read from PostgreSQL."
    )
    budget_alert_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="How often the management app checks budgets against alert thresholds and "
        "delivers pending alerts (e-mail, webhook).",
    )
    budget_alert_webhook_allow_private: bool = Field(
        default=False,
        description="Let budget-alert webhooks reach loopback, private and link-local addresses "
        "(refused by default: an Org Admin's URL must not reach the platform's own services).",
    )
    budget_alert_max_attempts: int = Field(
        default=12,
        ge=1,
        le=100,
        description="Delivery attempts of a budget alert per channel (retried with backoff, 1 s up "
        "to 5 min apart) before it is marked failed.",
    )
    model_cache_ttl_s: float = Field(
        default=5.0, gt=0, description="How often the gateway re-reads model mappings from PostgreSQL."
    )

    # --- observability ----------------------------------------------------------------
    log_level: str = Field(default="INFO", description="Root log level.")

    @field_validator("log_level")
    @classmethod
    def _upper(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {v!r}")
        return v

    @field_validator("clickhouse_url")
    @classmethod
    def _ch_dsn(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("chdb://", "http://", "https://")):
            raise ValueError("IAS_CLICKHOUSE_URL must start with chdb://, http:// or https://")
        return v

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
