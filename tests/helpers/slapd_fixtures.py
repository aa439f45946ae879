"""pytest fixtures for the real slapd (tests/slapd.py). A test module loads
them with ``pytest_plugins = ["helpers.slapd_fixtures"]``, so that one directory
server serves the whole session."""

import pytest

from helpers.slapd import Slapd, ldap_settings, slapd_installed


def require_slapd():
    if not slapd_installed():
        pytest.skip("OpenLDAP slapd is not installed: run `make system-deps` "
                    "(Debian packages slapd and ldap-utils)")


@pytest.fixture(scope="session")
def ldap_server(tmp_path_factory):
    """The test directory, started once for the whole test session."""
    require_slapd()
    server = Slapd(tmp_path_factory.mktemp("slapd")).start()
    yield server
    server.stop()


@pytest.fixture
def own_ldap_server(tmp_path):
    """A directory of this test's own, to stop, freeze or break."""
    require_slapd()
    server = Slapd(tmp_path / "slapd").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_ldap_server(tmp_path_factory):
    """A directory of the test module's own, to add people to (the shared
    one serves the sync tests, which count its people)."""
    require_slapd()
    server = Slapd(tmp_path_factory.mktemp("slapd")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nested_ldap_server(tmp_path_factory):
    """The test directory with nested groups (``Slapd(nested=True)``)."""
    require_slapd()
    server = Slapd(tmp_path_factory.mktemp("slapd"), nested=True).start()
    yield server
    server.stop()


@pytest.fixture
def ldap_app(make_app, ldap_server):
    """An app signing in against the test directory (CSRF off as in the
    other tests; test_security checks CSRF itself).

    No app context is held around the requests: each request gets its own
    ``g``, as in production, so a signed-in user cannot leak from one
    request (or client) to the next through flask-login's cache.
    """
    return make_app(**ldap_settings(ldap_server))
