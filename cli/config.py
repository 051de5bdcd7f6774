"""Profiles of `ias-admin`: where each one points and its session, in one credentials file.

The file is ``$XDG_CONFIG_HOME/ias/credentials`` (``~/.config/ias/credentials`` when
``XDG_CONFIG_HOME`` is unset), INI-formatted, one section per profile::

    [default]
    url = http://127.0.0.1:8000
    email = admin@ias.local
    token = iass_…
    expires_at = 2026-03-15T00:00:00Z

It is written with mode 0600 (its directory 0700), atomically (a temporary file in the same
directory, then a rename), so a crash never leaves half a file and no other user can read the
token. ``IAS_URL`` and ``IAS_TOKEN`` override the profile (CI); a profile's token is sent only
to the URL it was issued by (``IAS_URL`` pointing elsewhere without ``IAS_TOKEN`` → no token).
"""

from __future__ import annotations

import configparser
import contextlib
import io
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_PROFILE = "default"
PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FIELDS = ("url", "email", "token", "expires_at")


class ConfigError(ValueError):
    """A bad profile name or an unreadable credentials file."""


def config_dir(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "ias"


def credentials_path(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    return config_dir(environ) / "credentials"


def check_profile_name(name: str) -> str:
    if not PROFILE_RE.fullmatch(name):
        raise ConfigError(f"bad profile name {name!r}: letters, digits, '.', '_' and '-' only")
    return name


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"not an http(s) URL: {url!r} (example: http://127.0.0.1:8000)")
    return url


@dataclass
class Profile:
    name: str
    url: str | None = None
    email: str | None = None
    token: str | None = None
    expires_at: str | None = None


class Credentials:
    """The profiles in the credentials file (read on creation, written by :meth:`save`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parser = configparser.ConfigParser(interpolation=None, default_section="__none__")
        self.loose_mode = False
        if path.exists():
            try:
                text = path.read_text(encoding="utf-8")
                self.parser.read_string(text, source=str(path))
            except (OSError, UnicodeDecodeError, configparser.Error) as e:
                raise ConfigError(f"cannot read {path}: {e}") from None
            with contextlib.suppress(OSError):
                self.loose_mode = bool(stat.S_IMODE(path.stat().st_mode) & 0o077)

    @classmethod
    def load(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> Credentials:
        return cls(credentials_path(environ))

    def profiles(self) -> list[str]:
        return self.parser.sections()

    def get(self, name: str) -> Profile:
        check_profile_name(name)
        if not self.parser.has_section(name):
            return Profile(name)
        section = self.parser[name]
        return Profile(name, **{f: (section.get(f) or None) for f in FIELDS})

    def put(self, profile: Profile) -> None:
        check_profile_name(profile.name)
        self.parser[profile.name] = {
            f: getattr(profile, f) for f in FIELDS if getattr(profile, f) not in (None, "")
        }

    def remove(self, name: str) -> bool:
        return self.parser.remove_section(name)

    def save(self) -> None:
        """Write the file atomically with mode 0600 (directory 0700)."""
        for section in self.parser.sections():
            for key, value in self.parser[section].items():
                if "\n" in value or "\r" in value:
                    raise ConfigError(f"profile {section}: {key} contains a line break")
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        buf = io.StringIO()
        self.parser.write(buf)
        fd, tmp = tempfile.mkstemp(prefix=".credentials.", dir=self.path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(buf.getvalue())
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.loose_mode = False


@dataclass(frozen=True)
class Target:
    """Where commands go and with which session, after the environment overrides."""

    url: str
    token: str | None
    profile: str
    url_from: str  # "IAS_URL", "profile" or "default"
    token_from: str | None  # "IAS_TOKEN", "profile" or None


def resolve(profile: Profile, environ: os._Environ[str] | dict[str, str] | None = None) -> Target:
    """The URL and token commands use: ``IAS_URL`` / ``IAS_TOKEN`` first, then the profile.

    A profile's token is used only against the URL it was stored with: ``IAS_URL`` naming
    another server without ``IAS_TOKEN`` sends no token rather than leak it there.
    """
    env = os.environ if environ is None else environ
    if env_url := (env.get("IAS_URL") or "").strip():
        url, url_from = normalize_url(env_url), "IAS_URL"
    elif profile.url:
        url, url_from = normalize_url(profile.url), "profile"
    else:
        url, url_from = DEFAULT_URL, "default"
    if env_token := (env.get("IAS_TOKEN") or "").strip():
        return Target(url, env_token, profile.name, url_from, "IAS_TOKEN")
    if profile.token and profile.url and normalize_url(profile.url) == url:
        return Target(url, profile.token, profile.name, url_from, "profile")
    return Target(url, None, profile.name, url_from, None)
