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


def test_a_renew_interval_of_half_the_lease_or_more_is_refused(monkeypatch):
    monkeypatch.setenv("PROJECTOR_LEASE_SECONDS", "10")
    monkeypatch.setenv("PROJECTOR_LEASE_RENEW_SECONDS", "5")

    with pytest.raises(SystemExit) as stopped:
        get_settings()

    assert "PROJECTOR_LEASE_RENEW_SECONDS must be less than half" in str(stopped.value)


def test_the_projector_identity_is_the_pod_name_when_kubernetes_gives_one(monkeypatch):
    monkeypatch.delenv("POD_NAME", raising=False)
    assert get_settings().projector_identity  # hostname-pid otherwise
    get_settings.cache_clear()
    monkeypatch.setenv("POD_NAME", "microblog-projector-7d9f-abcde")
    monkeypatch.setenv("PROJECTOR_LEADER_ELECTION", "kubernetes")

    settings = get_settings()

    assert settings.projector_identity == "microblog-projector-7d9f-abcde"
    assert settings.projector_leader_election == "kubernetes"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FANOUT_MAX_FOLLOWERS", "0"),
        ("FANOUT_MAX_FOLLOWERS", "many"),
        ("TIMELINE_MAX_ENTRIES", "0"),
        ("TIMELINE_MAX_ENTRIES", "1000000"),
    ],
)
def test_a_fan_out_threshold_or_timeline_cap_out_of_range_is_refused(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)

    with pytest.raises(SystemExit) as stopped:
        get_settings()

    assert variable in str(stopped.value)


def test_the_fan_out_threshold_and_timeline_cap_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("FANOUT_MAX_FOLLOWERS", "5000")
    monkeypatch.setenv("TIMELINE_MAX_ENTRIES", "300")

    settings = get_settings()

    assert (settings.fanout_max_followers, settings.timeline_max_entries) == (5000, 300)
