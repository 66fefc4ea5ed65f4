"""One typed settings object for every microblog process, read from environment variables."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # MongoDB. Unset URI means the embedded in-process store (tests and `make run`).
    mongodb_uri: SecretStr | None = None
    mongodb_database: str = "microblog"
    mongodb_timeout_ms: int = Field(default=5000, ge=100)

    # Tokens. Required with a real MongoDB, where several processes must agree on it.
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    jwt_issuer: str = "microblog"

    # Argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)

    # Network. Containers set BIND_HOST=0.0.0.0; local runs stay on loopback.
    bind_host: str = "127.0.0.1"
    command_port: int = 8081
    query_port: int = 8082
    projector_port: int = 8083
    gateway_port: int = 8080
    command_url: str = "http://127.0.0.1:8081"
    query_url: str = "http://127.0.0.1:8082"

    # Projector.
    projector_batch_size: int = Field(default=200, ge=1, le=10_000)
    # How long one read of the stream waits for changes: bounds how late counts and the
    # checkpoint follow the last change (timelines are written as each change arrives).
    projector_max_await_ms: int = Field(default=300, ge=10, le=10_000)
    projector_backfill_limit: int = Field(default=200, ge=0, le=1000)
    projector_fanout_chunk: int = Field(default=1000, ge=1)
    # A change that keeps failing is retried this many times (backoff doubling from the base),
    # then parked in the dead letters so the stream moves on.
    projector_poison_attempts: int = Field(default=5, ge=1, le=100)
    projector_poison_backoff_ms: int = Field(default=200, ge=0, le=60_000)
    # /healthz of the projector fails when the loop shows no progress for this long.
    projector_stall_seconds: int = Field(default=300, ge=1)
    # /readyz of the projector fails while microblog_projector_lag_seconds exceeds this.
    projector_max_lag_seconds: float = Field(default=60, gt=0)

    # Embedded store: how many change events it keeps for resuming (the oplog window).
    embedded_change_history: int = Field(default=100_000, ge=10)
    # Embedded store: let other tasks run between operations, as a server lets other clients in,
    # so races in the code show up in tests and `make run` (see service_kit/mongo/embedded).
    embedded_interleave: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def embedded(self) -> bool:
        return self.mongodb_uri is None

    @model_validator(mode="after")
    def _secret_required_with_real_mongodb(self) -> "Settings":
        if not self.embedded and self.jwt_secret is None:
            raise ValueError(
                "JWT_SECRET must be set when MONGODB_URI is set: every process must sign and "
                "verify tokens with the same secret"
            )
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        return self


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
