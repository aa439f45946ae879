"""Failed sign-ins are throttled per account and per client address,
below a typical directory lockout, with the state in the database so that
every worker process sees the same counts."""

import datetime
import json
import os
import subprocess
import sys

from helpers.slapd import PEOPLE_ENTRIES, ldap_login, ldap_settings
from intranet_plugin.models import Person
from sso.models import LoginAttempt

pytest_plugins = ["helpers.slapd_fixtures"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THROTTLED = "Too many failed sign-ins."
GENERIC = "The user name or password is not correct."


def password(username):
    return PEOPLE_ENTRIES[username][1]


def fail(client, username="emma", ip="198.51.100.7", times=1):
    for _ in range(times):
        response = ldap_login(client, username, "not-the-password", REMOTE_ADDR=ip)
        assert response.status_code == 401, response.status_code
        assert GENERIC in response.get_data(as_text=True)


def test_default_is_five_failures_per_account_in_fifteen_minutes(ldap_app):
    assert (ldap_app.config["LOGIN_THROTTLE_ACCOUNT"], ldap_app.config["LOGIN_THROTTLE_MINUTES"]) == (5, 15)


def test_sixth_attempt_on_an_account_is_refused_even_with_the_right_password(ldap_app):
    client = ldap_app.test_client()
    fail(client, times=5)
    response = ldap_login(client, "emma", password("emma"), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert THROTTLED in response.get_data(as_text=True)
    assert "try again in 15 minutes" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60 + 1
    assert client.get("/").status_code == 302  # not signed in
    # per account: another address does not help, and the name's case neither
    other = ldap_app.test_client()
    assert ldap_login(other, "EMMA", password("emma"), REMOTE_ADDR="203.0.113.50").status_code == 429
    # other accounts are not affected
    assert ldap_login(other, "joris", password("joris"), REMOTE_ADDR="203.0.113.50").status_code == 302


def test_throttled_attempt_never_reaches_the_directory(make_app, own_ldap_server):
    """So Ambassador can never push an account into the directory's lockout."""
    app = make_app(**ldap_settings(own_ldap_server))
    client = app.test_client()
    fail(client, times=5)
    own_ldap_server.stop()  # a bind now would answer "unavailable"
    response = ldap_login(client, "emma", "not-the-password", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429


def test_per_address_limit_across_accounts(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server, LOGIN_THROTTLE_ADDRESS=3))
    client = app.test_client()
    for username in ("emma", "joris", "sanne"):
        fail(client, username, ip="198.51.100.7")
    response = ldap_login(client, "abakker", password("abakker"), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert THROTTLED in response.get_data(as_text=True)
    assert ldap_login(client, "abakker", password("abakker"), REMOTE_ADDR="198.51.100.8").status_code == 302


def test_success_clears_the_account(ldap_app):
    client = ldap_app.test_client()
    fail(client, times=4)
    assert ldap_login(client, "emma", password("emma"), REMOTE_ADDR="198.51.100.7").status_code == 302
    fail(ldap_app.test_client(), times=5)  # the typos before are forgotten
    assert ldap_login(client, "emma", password("emma"), REMOTE_ADDR="198.51.100.7").status_code == 429


def test_success_does_not_clear_failures_on_other_accounts(make_app, ldap_server):
    """Signing in to one's own account cannot launder an address's guesses
    at other people's passwords."""
    app = make_app(**ldap_settings(ldap_server, LOGIN_THROTTLE_ADDRESS=4))
    client = app.test_client()
    fail(client, "joris", times=3)
    assert ldap_login(client, "emma", password("emma"), REMOTE_ADDR="198.51.100.7").status_code == 302
    fail(app.test_client(), "sanne")
    response = ldap_login(app.test_client(), "sanne", password("sanne"), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429


def test_failures_age_out_of_the_window(ldap_app):
    client = ldap_app.test_client()
    fail(client, times=5)
    assert ldap_login(client, "emma", password("emma"), REMOTE_ADDR="198.51.100.7").status_code == 429
    for attempt in LoginAttempt.select():
        attempt.at -= datetime.timedelta(minutes=15, seconds=1)
        attempt.save()
    assert ldap_login(client, "emma", password("emma"), REMOTE_ADDR="198.51.100.7").status_code == 302


def test_neither_user_name_nor_address_is_stored(ldap_app):
    fail(ldap_app.test_client(), "emma", ip="198.51.100.7", times=2)
    for row in LoginAttempt.select().dicts():
        stored = " ".join(str(v) for v in row.values())
        assert "emma" not in stored and "198.51.100" not in stored


WORKER = """
import json, sys
from intranet_plugin import create_app
from intranet_plugin import db

settings = json.loads(sys.argv[1])
app = create_app(settings)
client = app.test_client()
codes = [client.post("/login", data={"username": "emma", "password": "wrong"},
                     environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code for _ in range(5)]
print(json.dumps(codes))
"""


def test_state_is_shared_between_worker_processes(ldap_app, tmp_path):
    """Five failures in another process (another gunicorn worker, another
    app server) count here."""
    settings = {k: v for k, v in ldap_app.config.items()
                if k in ("DATABASE_URL", "SECRET_KEY", "AUTH", "CLICK_JOURNAL_DIR", "LOGIN_FAILURE_SECONDS")
                or k.startswith("LDAP_") and not k.startswith("LDAP_ATTR_")}
    settings["WTF_CSRF_ENABLED"] = False
    worker = subprocess.run([sys.executable, "-c", WORKER, json.dumps(settings)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "AMBASSADOR_INSTANCE_PATH": str(tmp_path)})
    assert worker.returncode == 0, worker.stderr
    assert json.loads(worker.stdout.strip().splitlines()[-1]) == [401] * 5
    response = ldap_login(ldap_app.test_client(), "emma", password("emma"), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert Person.select().count() == 0
