"""Configuration: FEDI_* environment variables over an optional fedi.toml (the environment wins)."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from fedi.errors import ConfigError

_DOMAIN_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# Like Mastodon's TRUSTED_PROXY_IP: loopback and private networks unless the operator says otherwise.
DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0, not {value!r}")


@dataclass(frozen=True)
class Config:
    domain: str
    scheme: str = "https"
    data_dir: Path = Path("./data")
    database_url: str = ""
    allow_private_addresses: bool = False
    instance_title: str = "fedi"
    registrations_open: bool = False
    generator: str = "procedural"            # procedural | openai
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str = ""
    openai_model: str = "gpt-image-1"
    generation_timeout: float = 120.0
    trusted_proxies: tuple[str, ...] = DEFAULT_TRUSTED_PROXIES   # networks whose X-Forwarded-For is believed

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, toml_path: str | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        path = Path(toml_path or env.get("FEDI_CONFIG", "fedi.toml"))
        if path.is_file():
            try:
                values.update({k.upper(): v for k, v in tomllib.loads(path.read_text()).items()})
            except (tomllib.TOMLDecodeError, OSError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}") from exc
        for key, value in env.items():
            if key.startswith("FEDI_"):
                values[key[5:]] = value
        domain = str(values.get("DOMAIN", "")).strip()
        if not domain:
            raise ConfigError("FEDI_DOMAIN is required (e.g. 127.0.0.1:8000 or pics.example)")
        if not _DOMAIN_RE.match(domain):
            raise ConfigError(f"FEDI_DOMAIN is not a host[:port]: {domain!r}")
        scheme = str(values.get("SCHEME", "https")).strip().lower()
        if scheme not in ("http", "https"):
            raise ConfigError(f"FEDI_SCHEME must be https or http, not {scheme!r}")
        data_dir = Path(str(values.get("DATA_DIR", "./data"))).expanduser().resolve()
        db_url = str(values.get("DATABASE_URL", "")).strip() or f"sqlite://{data_dir / 'fedi.sqlite3'}"
        db_url = normalise_db_url(db_url)
        return cls(
            domain=domain.lower(),
            scheme=scheme,
            data_dir=data_dir,
            database_url=db_url,
            allow_private_addresses=_flag("FEDI_ALLOW_PRIVATE_ADDRESSES", values.get("ALLOW_PRIVATE_ADDRESSES", "")),
            instance_title=str(values.get("INSTANCE_TITLE", "fedi")),
            registrations_open=_flag("FEDI_REGISTRATIONS_OPEN", values.get("REGISTRATIONS_OPEN", "")),
            trusted_proxies=_trusted_proxies(values.get("TRUSTED_PROXIES")),
            **_generation(values),
        )


class _GenerationSettings(TypedDict):
    generator: str
    openai_base_url: str
    openai_api_key: str
    openai_model: str
    generation_timeout: float


def _generation(values: dict[str, object]) -> _GenerationSettings:
    backend = str(values.get("GENERATOR", "procedural")).strip().lower()
    if backend not in ("procedural", "openai"):
        raise ConfigError(f"FEDI_GENERATOR must be procedural or openai, not {backend!r}")
    try:
        timeout = float(str(values.get("GENERATION_TIMEOUT", "120")))
    except ValueError as exc:
        raise ConfigError("FEDI_GENERATION_TIMEOUT must be a number of seconds") from exc
    if not 1 <= timeout <= 900:
        raise ConfigError("FEDI_GENERATION_TIMEOUT must be between 1 and 900 seconds")
    return {
        "generator": backend,
        "openai_base_url": str(values.get("OPENAI_BASE_URL", "https://api.openai.com/v1")).rstrip("/"),
        "openai_api_key": str(values.get("OPENAI_API_KEY", "")),
        "openai_model": str(values.get("OPENAI_MODEL", "gpt-image-1")),
        "generation_timeout": timeout,
    }


def _trusted_proxies(value: object) -> tuple[str, ...]:
    """FEDI_TRUSTED_PROXIES: IPs and CIDR networks, comma- or space-separated (a list in fedi.toml).
    Unset or empty: the defaults; `none`: trust no proxy (fedi faces the clients itself)."""
    raw: list[object] = list(value) if isinstance(value, list) else list(re.split(r"[\s,]+", str(value or "")))
    items = [str(item).strip() for item in raw if str(item).strip()]
    if not items:
        return DEFAULT_TRUSTED_PROXIES
    if [item.lower() for item in items] == ["none"]:
        return ()
    try:
        return tuple(str(ipaddress.ip_network(item, strict=False)) for item in items)
    except ValueError as exc:
        raise ConfigError(f"FEDI_TRUSTED_PROXIES must list IP addresses or networks: {exc}") from exc


def normalise_db_url(url: str) -> str:
    """Accept sqlite:///abs/path, sqlite://path, postgres:// and postgresql:// forms."""
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://"):]
    if url.startswith(("sqlite://", "postgres://", "asyncpg://")):
        return url
    raise ConfigError(f"FEDI_DATABASE_URL must start with sqlite:// or postgres://, not {url.split(':')[0]!r}")
