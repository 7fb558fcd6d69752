"""Configuration from FEDI_* and fedi.toml, and the CLI's one-line errors on bad config."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fedi.config import Config
from fedi.errors import ConfigError


def test_environment_wins_over_toml(tmp_path):
    toml = tmp_path / "fedi.toml"
    toml.write_text('domain = "from-toml.example"\nscheme = "http"\n')
    cfg = Config.from_env({"FEDI_DOMAIN": "Pics.Example", "FEDI_CONFIG": str(toml)})
    assert (cfg.domain, cfg.scheme, cfg.base_url) == ("pics.example", "http", "http://pics.example")
    only_toml = Config.from_env({"FEDI_CONFIG": str(toml)})
    assert only_toml.domain == "from-toml.example"


def test_defaults(tmp_path):
    cfg = Config.from_env({"FEDI_DOMAIN": "127.0.0.1:8000", "FEDI_DATA_DIR": str(tmp_path)})
    assert cfg.scheme == "https" and not cfg.allow_private_addresses
    assert cfg.database_url == f"sqlite://{tmp_path}/fedi.sqlite3" and cfg.is_sqlite
    pg = Config.from_env({"FEDI_DOMAIN": "x.example", "FEDI_DATABASE_URL": "postgresql://u@h:5432/db",
                          "FEDI_ALLOW_PRIVATE_ADDRESSES": "1"})
    assert pg.database_url == "postgres://u@h:5432/db" and pg.allow_private_addresses


@pytest.mark.parametrize("env,message", [
    ({}, "FEDI_DOMAIN is required"),
    ({"FEDI_DOMAIN": "bad domain/with path"}, "not a host"),
    ({"FEDI_DOMAIN": "x.example", "FEDI_SCHEME": "gopher"}, "FEDI_SCHEME"),
    ({"FEDI_DOMAIN": "x.example", "FEDI_DATABASE_URL": "mysql://x"}, "FEDI_DATABASE_URL"),
    ({"FEDI_DOMAIN": "x.example", "FEDI_ALLOW_PRIVATE_ADDRESSES": "maybe"}, "FEDI_ALLOW_PRIVATE_ADDRESSES"),
])
def test_bad_config_is_refused_clearly(env, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        Config.from_env({**env, "FEDI_CONFIG": str(tmp_path / "none.toml")})


def test_cli_reports_bad_config_on_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "FEDI_CONFIG": str(tmp_path / "none.toml")}
    result = subprocess.run([sys.executable, "-m", "fedi.cli", "user", "create", "alice"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip() == "fedi: FEDI_DOMAIN is required (e.g. 127.0.0.1:8000 or pics.example)"
    assert not (tmp_path / "data").exists()


def test_ai_label_can_be_turned_off_explicitly():
    from fedi.generation_meta import Generation
    assert Generation.parse({"model": "sdxl"}).ai_generated is True
    assert Generation.parse({"model": "sdxl"}, ai_label=False).ai_generated is False
    assert Generation.parse({}, ai_label=True).ai_generated is True
