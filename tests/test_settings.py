"""Configuration errors stop a process with a plain message that never repeats a secret."""

import pytest

from service_kit.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_short_jwt_secret_is_refused_without_echoing_it(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "hunter2-but-short")

    with pytest.raises(SystemExit) as stopped:
        get_settings()

    message = str(stopped.value)
    assert "JWT_SECRET must be at least 32 characters" in message
    assert "hunter2" not in message


def test_a_real_mongodb_needs_a_jwt_secret(monkeypatch):
    monkeypatch.setenv("MONGODB_URI", "mongodb://user:pw@db.example/?replicaSet=rs0")
    monkeypatch.delenv("JWT_SECRET", raising=False)

    with pytest.raises(SystemExit) as stopped:
        get_settings()

    assert "JWT_SECRET must be set when MONGODB_URI is set" in str(stopped.value)
    assert "user:pw" not in str(stopped.value)


def test_a_malformed_number_names_its_variable(monkeypatch):
    monkeypatch.setenv("QUERY_PORT", "eighty")

    with pytest.raises(SystemExit) as stopped:
        get_settings()

    assert "QUERY_PORT" in str(stopped.value)
