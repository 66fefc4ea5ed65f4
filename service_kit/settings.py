"""One typed settings object for every microblog process, read from environment variables."""

import ipaddress
import os
import socket
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A crash replays at most one batch, so counters keep this many marks of the changes they counted
# (query_service/read_models/counters.py): a batch may not be larger.
MAX_PROJECTOR_BATCH_SIZE = 1000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # MongoDB. Unset URI means the embedded in-process store (tests and `make run`).
    mongodb_uri: SecretStr | None = None
    mongodb_database: str = "microblog"
    mongodb_timeout_ms: int = Field(default=5000, ge=100)
    # Where the read models (and the projector's own state) live; unset means with the write model.
    read_model_mongodb_uri: SecretStr | None = None
    read_model_mongodb_database: str | None = None

    # Tokens. Required with a real MongoDB, where several processes must agree on it.
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = Field(default=900, ge=60, le=24 * 3600)
    jwt_issuer: str = "microblog"
    # Refresh tokens rotate on every use; reusing one revokes its whole family (sign-in session).
    refresh_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300, le=90 * 24 * 3600)

    # Argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)
    # Memory the process may spend on concurrent hashes: the cap on simultaneous hashes is
    # budget / PASSWORD_HASH_MEMORY_KIB (at least 1). Requests beyond it wait up to the queue
    # timeout, then get 503 with Retry-After.
    password_hash_memory_budget_mib: int = Field(default=256, ge=1)
    password_hash_queue_timeout_ms: int = Field(default=2000, ge=0, le=60_000)
    password_hash_max_waiting: int = Field(default=16, ge=0, le=10_000)

    # Requests. A body above this size is refused with 413 before it is parsed.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)

    # Rate limits ("N/second|minute|hour|day", the `limits` notation); counters live in MongoDB.
    rate_limits_enabled: bool = True
    rate_limit_sign_in_per_ip: str = "30/minute"
    rate_limit_sign_in_per_handle: str = "10/minute"
    rate_limit_sign_up_per_ip: str = "20/hour"
    rate_limit_refresh_per_ip: str = "60/minute"
    rate_limit_writes_per_user: str = "120/minute"
    # Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed: the Ingress.
    trusted_proxies: str = ""

    # Browsers: origins allowed by CORS (comma-separated; empty means no cross-origin access).
    cors_allow_origins: str = ""

    # Network. Containers set BIND_HOST=0.0.0.0; local runs stay on loopback.
    bind_host: str = "127.0.0.1"
    command_port: int = 8081
    query_port: int = 8082
    projector_port: int = 8083
    gateway_port: int = 8080
    command_url: str = "http://127.0.0.1:8081"
    query_url: str = "http://127.0.0.1:8082"

    # Read-your-writes: how long a query carrying a write's token waits for the projector, and
    # how many queries of one process may wait at once (beyond that they answer at once, `stale`).
    consistency_wait_ms: int = Field(default=2000, ge=0, le=30_000)
    consistency_max_waiters: int = Field(default=256, ge=0, le=100_000)
    # The key consistency tokens are MAC'd with (service_kit/consistency.py), shared by the command
    # and query services; required with a real MongoDB. Tokens MAC'd with the previous key are
    # still accepted, so the key can be rotated without refusing tokens in flight.
    consistency_secret: SecretStr | None = None
    consistency_previous_secret: SecretStr | None = None

    # Projector.
    projector_batch_size: int = Field(default=200, ge=1, le=MAX_PROJECTOR_BATCH_SIZE)
    # Changes of a batch applied at once when they do not depend on each other
    # (query_service/projector/lanes.py); 1 applies them one at a time, in stream order.
    projector_concurrency: int = Field(default=8, ge=1, le=256)
    # How long one read of the stream waits for changes: bounds how late counts and the
    # checkpoint follow the last change (timelines are written as each change arrives).
    projector_max_await_ms: int = Field(default=300, ge=10, le=10_000)
    projector_backfill_limit: int = Field(default=200, ge=0, le=1000)
    projector_fanout_chunk: int = Field(default=1000, ge=1, le=100_000)
    # Hybrid fan-out: an account with at least this many followers is not fanned out; its
    # followers' home timelines merge its posts when they are read. Changing it needs a rebuild.
    fanout_max_followers: int = Field(default=10_000, ge=1, le=100_000_000)
    # Timelines keep about this many entries (trimmed oldest first); pages show at most this many.
    timeline_max_entries: int = Field(default=800, ge=1, le=100_000)
    # A change that keeps failing is retried this many times (backoff doubling from the base),
    # then parked in the dead letters so the stream moves on.
    projector_poison_attempts: int = Field(default=5, ge=1, le=100)
    projector_poison_backoff_ms: int = Field(default=200, ge=0, le=60_000)
    # /healthz of the projector fails when the loop shows no progress for this long.
    projector_stall_seconds: int = Field(default=300, ge=1)
    # Several projector replicas: one projects, elected through a lease (query_service/projector/
    # leadership). `none` means a single replica that always projects.
    projector_leader_election: Literal["none", "mongodb", "kubernetes"] = "none"
    projector_lease_name: str = Field(default="microblog-projector", min_length=1)
    # A standby takes over this long after the leader's last renewal; the leader stops writing
    # `renew` seconds before that, and renews every `renew` seconds.
    projector_lease_seconds: float = Field(default=15.0, gt=0, le=3600)
    projector_lease_renew_seconds: float = Field(default=5.0, gt=0, le=1800)
    # Who this replica is in the lease: unique per process (Kubernetes sets POD_NAME).
    pod_name: str | None = None
    pod_namespace: str | None = None
    # /readyz of the projector fails while microblog_projector_lag_seconds exceeds this.
    projector_max_lag_seconds: float = Field(default=60, gt=0)

    # Embedded store: how many change events it keeps for resuming (the oplog window).
    embedded_change_history: int = Field(default=100_000, ge=10)
    # Embedded store: let other tasks run between operations, as a server lets other clients in,
    # so races in the code show up in tests and `make run` (see service_kit/mongo/embedded).
    embedded_interleave: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Traces (service_kit/observability/tracing.py): off unless an OTLP/HTTP endpoint is set (a
    # base URL such as http://otel-collector:4318; `/v1/traces` is appended). The service name
    # defaults to microblog-<process> (command, query, projector, gateway).
    otel_exporter_otlp_endpoint: str | None = Field(default=None, pattern=r"^https?://\S+$")
    otel_service_name: str | None = Field(default=None, min_length=1)

    @property
    def embedded(self) -> bool:
        return self.mongodb_uri is None

    @property
    def read_models_database(self) -> str:
        return self.read_model_mongodb_database or self.mongodb_database

    @property
    def password_hash_concurrency(self) -> int:
        return max(1, self.password_hash_memory_budget_mib * 1024 // self.password_hash_memory_kib)

    @property
    def projector_identity(self) -> str:
        return self.pod_name or f"{socket.gethostname()}-{os.getpid()}"

    @model_validator(mode="after")
    def _lease_leaves_time_to_renew(self) -> "Settings":
        if 2 * self.projector_lease_renew_seconds >= self.projector_lease_seconds:
            raise ValueError(
                "PROJECTOR_LEASE_RENEW_SECONDS must be less than half of PROJECTOR_LEASE_SECONDS: "
                "the leader stops that long before a standby may start, and needs a retry before"
            )
        return self

    @model_validator(mode="after")
    def _secret_required_with_real_mongodb(self) -> "Settings":
        if not self.embedded and self.jwt_secret is None:
            raise ValueError(
                "JWT_SECRET must be set when MONGODB_URI is set: every process must sign and "
                "verify tokens with the same secret"
            )
        if self.embedded and self.read_model_mongodb_uri is not None:
            raise ValueError(
                "READ_MODEL_MONGODB_URI needs MONGODB_URI: the embedded store is one process's "
                "memory (READ_MODEL_MONGODB_DATABASE still names its read-model database)"
            )
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        return self

    @model_validator(mode="after")
    def _consistency_secret_required_with_real_mongodb(self) -> "Settings":
        if not self.embedded and self.consistency_secret is None:
            raise ValueError(
                "CONSISTENCY_SECRET must be set when MONGODB_URI is set: the command service "
                "MACs consistency tokens with it and the query service checks them"
            )
        for name, secret in (
            ("CONSISTENCY_SECRET", self.consistency_secret),
            ("CONSISTENCY_PREVIOUS_SECRET", self.consistency_previous_secret),
        ):
            if secret is not None and len(secret.get_secret_value()) < 32:
                raise ValueError(f"{name} must be at least 32 characters")
        if self.consistency_previous_secret is not None and self.consistency_secret is None:
            raise ValueError("CONSISTENCY_PREVIOUS_SECRET needs CONSISTENCY_SECRET")
        return self

    @field_validator(
        "rate_limit_sign_in_per_ip",
        "rate_limit_sign_in_per_handle",
        "rate_limit_sign_up_per_ip",
        "rate_limit_refresh_per_ip",
        "rate_limit_writes_per_user",
    )
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as error:
            raise ValueError("use the notation N/second, N/minute, N/hour or N/day") from error
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in split_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as error:
                raise ValueError("list IP addresses or CIDR networks, comma-separated") from error
        return value


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@lru_cache
def get_settings() -> Settings:
    """The process's settings; invalid ones stop it with a plain message (values never shown,
    since some are secrets)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "\n".join(
            f"  {'.'.join(str(part) for part in item['loc']).upper() or 'settings'}: {item['msg']}"
            for item in error.errors()
        )
        raise SystemExit(f"microblog: invalid configuration:\n{problems}") from None
