"""Configuration: defaults, validation, production refusals."""

import socket
import subprocess
import sys

import pytest

from intranet_plugin import create_app
from intranet_plugin.config import DEV_SECRET_KEY, ConfigError, load_config

STRONG = "k" * 40


def test_defaults(tmp_path):
    config = load_config(str(tmp_path), environ={})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path}/ambassador.db"
    assert config["UTM_MEDIUM"] == "employee_advocacy"
    assert config["AUTH"] == "dev"
    assert config["LDAP_USER_FILTER"] == "(uid={username})"
    assert config["FRAME_ANCESTORS"] == "'self'"
    assert config["TIMEZONE"] == "Europe/Amsterdam"


def test_environment_is_read(tmp_path):
    config = load_config(str(tmp_path), environ={
        "AMBASSADOR_PUBLIC_URL": "https://go.example.com/",
        "AMBASSADOR_ALLOWED_TARGET_HOSTS": "example.com, Careers.Example.org",
        "AMBASSADOR_TRUSTED_PROXIES": "10.0.0.0/8 192.0.2.1",
        "AMBASSADOR_PAGE_SIZE": "24",
    })
    assert config["PUBLIC_URL"] == "https://go.example.com"
    assert config["ALLOWED_TARGET_HOSTS"] == ["example.com", "careers.example.org"]
    assert [str(n) for n in config["TRUSTED_PROXIES"]] == ["10.0.0.0/8", "192.0.2.1/32"]
    assert config["PAGE_SIZE"] == 24


@pytest.mark.parametrize("name,value,message", [
    ("PUBLIC_URL", "go.example.com", "AMBASSADOR_PUBLIC_URL must be a URL"),
    ("DATABASE_URL", "mysql://x/y", "AMBASSADOR_DATABASE_URL must start with"),
    ("AUTH", "saml", "AMBASSADOR_AUTH must be one of"),
    ("TIMEZONE", "Mars/Olympus", "AMBASSADOR_TIMEZONE must be an IANA time zone"),
    ("PAGE_SIZE", "many", "AMBASSADOR_PAGE_SIZE must be a whole number"),
    ("TRUSTED_PROXIES", "10.0.0.300", "AMBASSADOR_TRUSTED_PROXIES"),
    ("UTM_MEDIUM", "a b", "AMBASSADOR_UTM_MEDIUM"),
    ("FRAME_ANCESTORS", "'self'; script-src *", "AMBASSADOR_FRAME_ANCESTORS"),
    ("DIGEST_SCHEDULE", "someday", "AMBASSADOR_DIGEST_SCHEDULE"),
])
def test_bad_values_are_named(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config(str(tmp_path), environ={"AMBASSADOR_" + name: value})


def test_postgresql_without_its_driver_names_the_extra(tmp_path, monkeypatch):
    """A plain `pip install .` has no PostgreSQL driver: the start-up says
    which extra to install instead of failing at the first query."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("psycopg") else real(name, *a))
    with pytest.raises(ConfigError, match=r"no PostgreSQL driver is installed: pip install 'ambassador\[postgres\]'"):
        load_config(str(tmp_path), environ={"AMBASSADOR_DATABASE_URL": "postgresql://db.example.com/ambassador"})
    monkeypatch.undo()
    assert load_config(str(tmp_path), environ={"AMBASSADOR_DATABASE_URL": "postgresql://db.example.com/a"})


def test_production_refuses_the_default_secret(tmp_path):
    env = {"AMBASSADOR_ENV": "production", "AMBASSADOR_AUTH": "header",
           "AMBASSADOR_PUBLIC_URL": "https://go.example.com"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path), environ=env)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path), environ={**env, "AMBASSADOR_SECRET_KEY": DEV_SECRET_KEY})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path), environ={**env, "AMBASSADOR_SECRET_KEY": "short"})


def test_production_refuses_the_demo_login(tmp_path):
    env = {"AMBASSADOR_ENV": "production", "AMBASSADOR_SECRET_KEY": STRONG,
           "AMBASSADOR_PUBLIC_URL": "https://go.example.com", "AMBASSADOR_AUTH": "dev"}
    with pytest.raises(ConfigError, match="demo login"):
        load_config(str(tmp_path), environ=env)


def test_create_app_validates_overrides(tmp_path):
    with pytest.raises(ConfigError, match="AMBASSADOR_AUTH"):
        create_app({"AUTH": "nobody", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_cli_reports_a_bad_setting_clearly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from intranet_plugin.cli import main; main()", "db", "status"],
        env={"AMBASSADOR_INSTANCE_PATH": str(tmp_path), "AMBASSADOR_ENV": "production",
             "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "AMBASSADOR_SECRET_KEY must be set" in result.stderr
    assert "Traceback" not in result.stderr


def unused_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("command", [["digest", "send"], ["mail", "doubts"], ["reminders", "send"]])
def test_cli_reports_an_unreachable_database_in_one_line(tmp_path, command):
    result = subprocess.run(
        [sys.executable, "-c", "from intranet_plugin.cli import main; main()", *command],
        env={"AMBASSADOR_INSTANCE_PATH": str(tmp_path), "AMBASSADOR_SECRET_KEY": STRONG,
             "AMBASSADOR_DATABASE_URL": f"postgresql://ambassador@127.0.0.1:{unused_port()}/ambassador",
             "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: The database cannot be used: ") and "Connection refused" in line


def test_a_sqlite_too_old_for_the_click_store_is_refused_at_start(tmp_path, monkeypatch):
    from intranet_plugin import db

    monkeypatch.setattr(db.sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(db.sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(RuntimeError, match=r"SQLite 3\.31\.1 is too old: Ambassador needs 3\.35"):
        db.make_database(f"sqlite:///{tmp_path}/a.db")
    monkeypatch.setattr(db.sqlite3, "sqlite_version_info", (3, 35, 0))
    assert db.make_database(f"sqlite:///{tmp_path}/a.db") is not None
