"""deploy/systemd: the units verify with systemd's own analyser, are hardened,
and start what the README tells the administrator to install."""

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
NAMES = ("ambassador-web.service", "ambassador-scheduler.service")
VENV = "/opt/ambassador/venv/bin/"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def unit(name):
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(UNITS / name)
    return parser


@pytest.mark.parametrize("name", NAMES)
def test_units_run_as_the_ambassador_user_with_hardening_and_a_state_directory(name):
    service = unit(name)["Service"]
    assert service["User"] == "ambassador" and service["Group"] == "ambassador"
    assert service["EnvironmentFile"] == "/etc/ambassador/env"
    assert service["StateDirectory"] == "ambassador"  # /var/lib/ambassador: database, click journal
    assert service["WorkingDirectory"] == "/var/lib/ambassador"
    assert service["Environment"] == "PROMETHEUS_MULTIPROC_DIR=/run/ambassador"
    assert service["RuntimeDirectory"] == "ambassador" and service["RuntimeDirectoryPreserve"] == "yes"
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": ""}.items():
        assert service[key] == value, key
    assert service["Restart"] == "on-failure"


def test_units_start_what_the_readme_installs():
    readme = (ROOT / "README.md").read_text()
    web = unit("ambassador-web.service")["Service"]["ExecStart"]
    scheduler = unit("ambassador-scheduler.service")["Service"]["ExecStart"]
    assert web == VENV + "gunicorn -c /etc/ambassador/gunicorn.conf.py"
    assert scheduler == VENV + "ambassador scheduler"
    assert "python3 -m venv /opt/ambassador/venv" in readme
    assert "cp deploy/gunicorn.conf.py /etc/ambassador/gunicorn.conf.py" in readme
    assert "cp deploy/systemd/ambassador-web.service deploy/systemd/ambassador-scheduler.service" in readme
    # graceful reload of the web process (SIGHUP: gunicorn replaces its workers)
    assert unit("ambassador-web.service")["Service"]["ExecReload"] == "/bin/kill -s HUP $MAINPID"


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_verifies_the_units_and_rates_them_well_hardened(tmp_path):
    # The units as installed, with this checkout's virtualenv where the
    # server has /opt/ambassador/venv (systemd checks the programs exist).
    for name in NAMES:
        text = (UNITS / name).read_text()
        assert VENV in text
        (tmp_path / name).write_text(text.replace(VENV, str(Path(sys.executable).parent) + "/"))
    paths = [str(tmp_path / name) for name in NAMES]
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="notice")
    verified = subprocess.run([SYSTEMD_ANALYZE, "verify", *paths], capture_output=True, text=True, env=env)
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == "", verified.stderr  # not even a warning (an unknown key, a typo)
    for path in paths:
        # systemd's exposure score: 0 (locked down) to 10 (unprotected); "OK" is below 2.
        rated = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=true", "--threshold=20", path],
                               capture_output=True, text=True, env=env)
        assert rated.returncode == 0, rated.stdout[-2000:]
