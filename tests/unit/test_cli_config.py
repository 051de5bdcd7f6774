"""`ias-admin`'s credentials file and the URL/token resolution (pure file handling, no server)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cli.config import (
    DEFAULT_URL,
    ConfigError,
    Credentials,
    Profile,
    check_profile_name,
    config_dir,
    credentials_path,
    normalize_url,
    resolve,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_path_honours_xdg_config_home_and_falls_back_to_dot_config(tmp_path: Path) -> None:
    assert credentials_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "ias" / "credentials"
    assert config_dir({}) == Path.home() / ".config" / "ias"
    assert config_dir({"XDG_CONFIG_HOME": ""}) == Path.home() / ".config" / "ias"
    assert (
        config_dir({"XDG_CONFIG_HOME": "relative/dir"}) == Path.home() / ".config" / "ias"
    )  # XDG: absolute only


def test_save_writes_0600_in_a_0700_directory_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "ias" / "credentials"
    creds = Credentials(path)
    assert creds.profiles() == [] and creds.get("default") == Profile("default")
    creds.put(
        Profile(
            "default",
            url="http://a:8000",
            email="a@x.io",
            token="iass_abc%def",
            expires_at="2026-01-01T00:00:00Z",
        )
    )
    creds.put(Profile("ci", url="https://ias.example.com", token="iass_ci"))
    creds.save()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    again = Credentials(path)
    assert again.profiles() == ["default", "ci"]
    assert again.get("default").token == "iass_abc%def"  # no interpolation of %
    assert again.get("ci") == Profile("ci", url="https://ias.example.com", token="iass_ci")
    assert not again.loose_mode
    assert [p.name for p in path.parent.iterdir()] == ["credentials"]  # no temporary file left


def test_a_loosened_file_is_reported_and_saved_0600_again(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    creds = Credentials(path)
    creds.put(Profile("default", token="iass_x"))
    creds.save()
    os.chmod(path, 0o644)
    loose = Credentials(path)
    assert loose.loose_mode
    loose.save()
    assert mode(path) == 0o600 and not loose.loose_mode


def test_remove_and_empty_fields_are_not_written(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    creds = Credentials(path)
    creds.put(Profile("a", url="http://a", token=None, email=""))
    creds.put(Profile("b", url="http://b"))
    assert creds.remove("b") and not creds.remove("b")
    creds.save()
    assert path.read_text().split() == ["[a]", "url", "=", "http://a"]


def test_refuses_line_breaks_and_bad_profile_names(tmp_path: Path) -> None:
    creds = Credentials(tmp_path / "credentials")
    creds.put(Profile("a", token="iass_x\n[evil]"))
    with pytest.raises(ConfigError):
        creds.save()
    for bad in ("", "../x", "a b", "a]", "-x", "x" * 65):
        with pytest.raises(ConfigError):
            check_profile_name(bad)
    assert check_profile_name("ci.prod-2_x") == "ci.prod-2_x"


def test_a_corrupt_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("token = no section header\n")
    with pytest.raises(ConfigError, match="cannot read"):
        Credentials(path)


def test_normalize_url() -> None:
    assert normalize_url(" http://127.0.0.1:8000/ ") == "http://127.0.0.1:8000"
    assert normalize_url("https://ias.example.com/base/") == "https://ias.example.com/base"
    for bad in ("127.0.0.1:8000", "ftp://x", "http://", ""):
        with pytest.raises(ConfigError):
            normalize_url(bad)


PROFILE = Profile("default", url="http://a:8000", token="iass_profile")


def test_resolve_profile_then_environment_overrides() -> None:
    t = resolve(PROFILE, {})
    assert (t.url, t.token, t.url_from, t.token_from) == (
        "http://a:8000",
        "iass_profile",
        "profile",
        "profile",
    )
    t = resolve(PROFILE, {"IAS_TOKEN": "iass_env"})
    assert (t.url, t.token, t.token_from) == ("http://a:8000", "iass_env", "IAS_TOKEN")
    t = resolve(PROFILE, {"IAS_URL": "http://a:8000/", "IAS_TOKEN": ""})
    assert (t.url, t.token, t.url_from) == ("http://a:8000", "iass_profile", "IAS_URL")  # same server
    t = resolve(Profile("default"), {})
    assert (t.url, t.token, t.url_from) == (DEFAULT_URL, None, "default")


def test_the_profile_token_is_never_sent_to_another_server() -> None:
    t = resolve(PROFILE, {"IAS_URL": "http://elsewhere:8000"})
    assert (t.url, t.token, t.token_from) == ("http://elsewhere:8000", None, None)
    t = resolve(PROFILE, {"IAS_URL": "http://elsewhere:8000", "IAS_TOKEN": "iass_env"})
    assert t.token == "iass_env"
    with pytest.raises(ConfigError):
        resolve(PROFILE, {"IAS_URL": "not a url"})
