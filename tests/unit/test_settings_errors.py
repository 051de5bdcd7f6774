"""Settings (IAS_ prefix, validation) and the error hierarchy's two renderings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ias_serve import errors
from ias_serve.settings import Settings, get_settings


def test_env_prefix_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAS_SERVE_PORT", "9123")
    monkeypatch.setenv("IAS_CLICKHOUSE_URL", "chdb:///tmp/x")
    monkeypatch.setenv("IAS_DEFAULT_MONTHLY_BUDGET_TOKENS", "500000000")
    monkeypatch.setenv("IAS_LOG_LEVEL", "debug")
    s = Settings()
    assert s.serve_port == 9123 and s.clickhouse_url == "chdb:///tmp/x"
    assert s.default_monthly_budget_tokens == 500_000_000 and s.log_level == "DEBUG"
    assert s.database_url is None and s.ray_num_cpus == 8 and s.invite_ttl_s == 7 * 24 * 3600


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("IAS_CLICKHOUSE_URL", "mysql://x"),
        ("IAS_SERVE_PORT", "70000"),
        ("IAS_LOG_LEVEL", "LOUD"),
        ("IAS_DEFAULT_MONTHLY_BUDGET_TOKENS", "-1"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError, match=var.removeprefix("IAS_").lower()):
        Settings()


def test_get_settings_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("IAS_SERVE_PORT", "8111")
    first = get_settings()
    monkeypatch.setenv("IAS_SERVE_PORT", "8222")
    assert get_settings() is first and first.serve_port == 8111
    get_settings.cache_clear()
    assert get_settings().serve_port == 8222
    get_settings.cache_clear()


def test_secrets_are_not_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAS_BOOTSTRAP_ADMIN_PASSWORD", "hunter2-very-secret")
    s = Settings()
    assert "hunter2" not in repr(s) and s.bootstrap_admin_password.get_secret_value() == "hunter2-very-secret"


def test_openai_and_rest_error_bodies() -> None:
    e = errors.BudgetExceeded("monthly token budget exhausted")
    assert e.status == 429
    assert e.openai_body() == {
        "error": {
            "message": "monthly token budget exhausted",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
    }
    assert e.rest_body() == {
        "error": {"code": "insufficient_quota", "message": "monthly token budget exhausted"}
    }
    nf = errors.ModelNotFound("no model 'x'", param="model")
    assert (nf.status, nf.code, nf.openai_body()["error"]["param"]) == (404, "model_not_found", "model")
    override = errors.Unauthenticated("session expired", code="session_expired")
    assert override.rest_body()["error"]["code"] == "session_expired"
    assert errors.Unauthenticated("x").code == "unauthenticated"  # class default untouched


def test_every_error_status_is_an_http_error_or_internal() -> None:
    def walk(cls: type) -> list[type]:
        return [cls, *[c for s in cls.__subclasses__() for c in walk(s)]]

    classes = walk(errors.IASError)
    assert len(classes) >= 12
    for cls in classes:
        assert 400 <= cls.status <= 599 and cls.code and cls.openai_type


def test_readme_documents_every_setting() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [f"IAS_{n.upper()}" for n in Settings.model_fields if f"`IAS_{n.upper()}`" not in readme]
    assert missing == [], f"README settings table lacks {missing}"


def test_settings_round_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ias_serve.stack.stack import settings_env

    given = Settings(
        serve_port=9001,
        budget_fail_open=True,
        log_level="warning",
        bootstrap_admin_password="a-long-enough-password",
        clickhouse_url="chdb:///x",
    )
    env = settings_env(given)
    assert env["IAS_BUDGET_FAIL_OPEN"] == "true" and "IAS_DATABASE_URL" not in env
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert Settings() == given
