"""Generated hostile input to every route (Hypothesis): no 5xx, and a 4xx
changes nothing.

Every rule of ``app.url_map`` (a new route is covered without touching
this file), as an employee, an editor and an admin, with CSRF checked as in
production: GET with generated query strings, POST with generated form
bodies and a valid token. The fields are the names the app's forms read
(``test_hostile_input.field_names``), sometimes on top of the form filled in
as a browser would; the path arguments are the fixture's ids, huge numbers,
unicode digits or any text. Values: any text, numbers in and out of range,
dates that do and do not exist, web addresses with odd ports, spaces and
control characters.

The budget is fixed (``EXAMPLES`` per route and method, no example database,
a seed per route), so each run sends the same requests and takes a bounded
time.
"""

import re
import string
import zlib
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from test_hostile_input import HOSTILE, SKIPPED, counts, field_names, valid_forms, world  # noqa: F401
from werkzeug.datastructures import MultiDict

from helpers import BROWSER, csrf_token, login_with_csrf, make_person
from intranet_plugin.models import Person

EXAMPLES = 4
ROLES = {"employee": "emma", "editor": "joris", "admin": "anouk"}
# Routes after which the person is signed out (or gone): signed in again.
SESSION_ENDERS = {"auth.logout", "impact.delete_data", "programme.leave"}
ARGUMENT = re.compile(r"<(?:[^<>]*:)?(\w+)>")

# No lone surrogates: a browser cannot send them (they are not UTF-8).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
controls = st.text(st.characters(codec="utf-8", categories=("Cc", "Cf", "Zl", "Zp", "Zs")), min_size=1, max_size=5)
digits = st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=25)
numbers = st.one_of(st.integers(-(2**70), 2**70), st.integers(-3, 3)).map(str)
decimals = st.floats(allow_nan=True, allow_infinity=True).map(str)
days = st.one_of(st.dates().map(str), st.datetimes().map(lambda d: d.isoformat()),
                 st.tuples(st.integers(-1, 10000), st.integers(0, 13), st.integers(0, 32)).map(
                     lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"))
ports = st.one_of(numbers, st.just(""), st.text(string.ascii_letters, min_size=1, max_size=3))
addresses = st.builds(lambda scheme, host, port, path, junk: f"{scheme}://{host}:{port}/{path}{junk}",
                      st.sampled_from(["http", "https", "HTTPS", "javascript", "ftp", ""]),
                      st.sampled_from(["example.com", "exa mple.com", "[::1", "127.0.0.1", "ex\u00e4mple.com", ""]),
                      ports, any_text, st.one_of(st.just(""), controls))
hostile = st.one_of(any_text, controls, digits, numbers, decimals, days, addresses, st.sampled_from(
    [*HOSTILE.values(), "on", "yes", "all", "custom", "news", "vacancy", "x", "linkedin", "publish"]))


def values_for(name):
    """One value, sometimes several, for a field."""
    return st.one_of(hostile.map(lambda v: [v]), st.lists(hostile, min_size=2, max_size=3))


def path_argument(world_value):
    return st.one_of(st.just(str(world_value)), st.sampled_from([str(2**63), str(2**64), "-1", "0", "٣", "²"]),
                     numbers, digits, any_text.filter(bool))


def build_path(rule, arguments):
    return ARGUMENT.sub(lambda m: quote(arguments[m.group(1)], safe=""), rule.rule)


@pytest.fixture
def app(make_app):
    """CSRF checked, as in production (``world`` is built on this app)."""
    return make_app(WTF_CSRF_ENABLED=True)


class Browser:
    """A browser signed in as one role, with the CSRF token of its
    session."""

    def __init__(self, app, role):
        self.username, self.role = ROLES[role], role
        self.client = app.test_client()
        self.client.environ_base["HTTP_USER_AGENT"] = BROWSER
        self.sign_in()

    def sign_in(self):
        """Signed in (again: a request may have signed them out or erased
        them)."""
        person = Person.get_or_none(Person.username == self.username)
        if person is None:
            make_person(self.username, role=self.role)
        elif not person.is_active or person.role != self.role:
            Person.update(is_active=True, role=self.role).where(Person.id == person.id).execute()
        login_with_csrf(self.client, self.username)
        self.token = csrf_token(self.client.get("/"))


def fuzz(rule, method, people, ids, forms, names, ran):
    """``EXAMPLES`` generated requests to one route and method."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @seed(zlib.crc32(f"{rule.rule} {method}".encode()))  # the same requests on every run, not on every route
    @given(data=st.data())
    def one_request(data):
        person = people[data.draw(st.sampled_from(sorted(ROLES)), label="role")]
        arguments = {name: data.draw(path_argument(ids.get(name, "x")), label=name) for name in rule.arguments}
        path = build_path(rule, arguments)
        base = forms.get((rule.endpoint, method)) if data.draw(st.booleans(), label="valid base") else None
        fields = MultiDict(base or {})
        for name in data.draw(st.lists(st.sampled_from(names), max_size=6, unique=True), label="fields"):
            fields.setlist(name, data.draw(values_for(name), label=name))
        headers = {"HX-Request": "true"} if data.draw(st.booleans(), label="htmx") else {}
        before = counts()
        if method == "GET":
            response = person.client.get(path, query_string=fields, headers=headers)
        else:
            fields["csrf_token"] = person.token
            response = person.client.open(path, method=method, data=fields, headers=headers)
        ran.append((rule.endpoint, method))
        where = (rule.endpoint, method, path, response.status_code)
        assert response.status_code < 500, where
        if 400 <= response.status_code < 500:
            assert counts() == before, where
        if rule.endpoint in SESSION_ENDERS:
            person.sign_in()

    one_request()


def test_generated_hostile_input_to_every_route_as_every_role(app, world):  # noqa: F811 (the fixture)
    make_person("joris", role="editor")
    people = {role: Browser(app, role) for role in ROLES}
    names = field_names()
    forms = {(endpoint, method): fields for endpoint, method, _path, fields in valid_forms(world)}
    rules = [(rule, method) for rule in app.url_map.iter_rules() if rule.endpoint not in SKIPPED
             for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    ran = []
    for rule, method in rules:
        fuzz(rule, method, people, world, forms, names, ran)
    print(f"\n{len(ran)} generated requests over {len(rules)} routes and methods")
    assert set(ran) == set((rule.endpoint, method) for rule, method in rules)
