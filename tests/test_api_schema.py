"""The JSON API against its own description, ``/api/v1/openapi.json``.

Requests are generated from the document (Hypothesis strategies built from
its parameter and body schemas, ``from_schema``): values the schema allows,
and values it does not (any text in a parameter, an unknown parameter, any
JSON or none as a body), with and without the
credentials each operation names (a session cookie of an employee or an
admin; an API key, a wrong one). Every answer must be one the document
lists for the operation, with a body its schema accepts; never a 5xx; a
refusal changes nothing.

The budget is fixed (``EXAMPLES`` per operation, no example database, a
seed per operation), so each run sends the same requests.
"""

import datetime
import json
import zlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from test_hostile_input import counts

from helpers import BROWSER, login, make_item, make_person
from intranet_plugin.analytics.conversions import create_key
from intranet_plugin.models import TrackedLink

EXAMPLES = 100
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
                    max_leaves=12)


def from_schema(schema, document):
    """Values a schema of the document allows, for the keywords it uses
    (a keyword added to the document and not known here fails the test, so
    that this stays complete)."""
    known = {"$ref", "enum", "type", "format", "minimum", "maxLength", "items", "properties", "required", "anyOf",
             "additionalProperties", "default", "description", "examples"}
    assert set(schema) <= known, set(schema) - known
    if "$ref" in schema:
        return from_schema(document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]], document)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        return st.one_of(*(from_schema({**schema, "type": one}, document) for one in kind))
    # Dates and times of any year, the first and the last ones too.
    if kind == "string" and schema.get("format") == "date":
        return st.one_of(st.dates(), st.sampled_from([datetime.date.min, datetime.date.max])).map(str)
    if kind == "string" and schema.get("format") == "date-time":
        zones = st.one_of(st.none(), st.timedeltas(datetime.timedelta(hours=-23), datetime.timedelta(hours=23)).map(
            datetime.timezone))
        moments = st.one_of(st.datetimes(), st.just(datetime.datetime.min), st.just(datetime.datetime.max))
        return st.builds(lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), moments, zones)
    if kind == "object":
        properties = {name: from_schema(value, document) for name, value in schema.get("properties", {}).items()}
        alternatives = [set(one["required"]) for one in schema.get("anyOf", [])] or [set()]
        def dictionaries(wanted):
            wanted = wanted | set(schema.get("required", []))
            return st.fixed_dictionaries({name: properties[name] for name in wanted},
                                         optional={name: value for name, value in properties.items()
                                                   if name not in wanted})

        return st.sampled_from(alternatives).flatmap(dictionaries)
    return {"null": st.none(), "boolean": st.booleans(), "string": st.text(max_size=schema.get("maxLength", 60)),
            "integer": st.integers(min_value=schema.get("minimum")),
            "number": st.floats(min_value=schema.get("minimum"), allow_nan=False, allow_infinity=False),
            "array": st.lists(from_schema(schema.get("items", {}), document), max_size=3)}[kind]


def resolved(schema, document):
    """A schema of the document with its ``$ref``s resolvable on its own."""
    return {**schema, "components": document["components"]}


def parameters(operation, document):
    """Query strings: as the document describes them (each documented
    parameter left out or with a value its schema allows), or hostile (any
    text as a value, and a parameter the document does not name)."""

    def query(well_formed):
        entries = []
        for parameter in operation.get("parameters", []):
            value = from_schema(parameter["schema"], document).map(str) if well_formed else ANY_TEXT
            entries.append(st.one_of(st.none(), value).map(lambda v, name=parameter["name"]: (name, v)))
        if not well_formed:
            entries.append(st.one_of(st.none(), st.tuples(st.sampled_from(["periode", "page", "x"]), ANY_TEXT)))
        return st.tuples(*entries).map(lambda pairs: [pair for pair in pairs if pair and pair[1] is not None])

    return st.booleans().flatmap(query)


def bodies(operation, document, code):
    """Bodies the schema allows; as a careers site sends them (a tracked
    link that exists, an id of its own); any JSON; not JSON at all."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return st.just(None)
    valid = from_schema(content["schema"], document)
    careers_site = st.fixed_dictionaries(
        {"code": st.just(code), "external_id": st.from_regex(r"A-[0-9]{1,3}", fullmatch=True)},
        optional={"kind": st.sampled_from(["application", "lead"]),
                  "at": from_schema({"type": "string", "format": "date-time"}, document)})
    return st.one_of(
        valid.map(json.dumps),
        careers_site.map(json.dumps),
        JSON.map(json.dumps),
        st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")),
    )


def validator_for(schema, document):
    return Draft202012Validator(resolved(schema, document), format_checker=FormatChecker())


@pytest.fixture
def api(app):
    """Clients as the document's security schemes name them."""
    admin = make_person("anouk", role="admin")
    make_person("emma")
    link = TrackedLink.for_share(admin, make_item("Engineer wanted", kind="vacancy"), "linkedin")
    key, _row = create_key("Careers", admin)
    clients = {}
    for who in ("nobody", "emma", "anouk"):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = BROWSER
        if who != "nobody":
            login(client, who)
        clients[who] = client
    return {"clients": clients, "key": key, "code": link.code}


def test_the_api_answers_as_its_openapi_document_says(app, api):
    document = api["clients"]["nobody"].get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    ran = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            check_operation(path, method, operation, document, api, ran)
    print(f"\n{len(ran)} generated API requests:", Counter(ran))
    operations = {(method, path) for method, path, _status in ran}
    assert len(operations) == sum(len(operations) for operations in document["paths"].values())
    # Both valid and refused requests were generated, for each operation.
    answers = {(method, path, status // 100) for method, path, status in ran}
    assert {("get", "/api/v1/me/stats", 2), ("get", "/api/v1/me/stats", 4), ("get", "/api/v1/stats", 2),
            ("get", "/api/v1/stats", 4), ("post", "/api/v1/conversions", 2),
            ("post", "/api/v1/conversions", 4)} <= answers


def check_operation(path, method, operation, document, api, ran):
    answers = operation["responses"]
    # Mostly the credentials the operation asks for, sometimes none or wrong ones.
    credentials = st.sampled_from(["emma", "anouk", "anouk", "nobody"]) if operation.get("security") != [
        {"apiKey": []}] else st.sampled_from([api["key"], api["key"], "amb_wrong", None])

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @seed(zlib.crc32(f"{method} {path}".encode()))
    @given(query=parameters(operation, document), body=bodies(operation, document, api["code"]),
           who=credentials)
    def one_request(query, body, who):
        if operation.get("security") == [{"apiKey": []}]:
            client = api["clients"]["nobody"]
            headers = {"Authorization": f"Bearer {who}"} if who else {}
        else:
            client, headers = api["clients"][who], {}
        before = counts()
        response = client.open(path, method=method.upper(), query_string=query, data=body, headers=headers,
                               content_type="application/json" if body is not None else None)
        ran.append((method, path, response.status_code))
        where = (method, path, query, body, response.status_code, response.get_data(as_text=True)[:300])
        assert response.status_code < 500, where
        assert str(response.status_code) in answers, where
        schema = answers[str(response.status_code)].get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            assert response.mimetype == "application/json", where
            errors = [error.message for error in validator_for(schema, document).iter_errors(response.json)]
            assert not errors, (where, errors)
        if response.status_code >= 400:
            assert counts() == before, where

    one_request()
