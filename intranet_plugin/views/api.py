"""JSON for intranet widgets and machine clients, under /api/v1.

The figures are the same as on the pages (both come from
``intranet_plugin.analytics``); ``/api/v1/openapi.json`` describes every
route. Errors are JSON: ``{"error": "..."}``, from one helper.

Conversions: the careers site or applicant tracking system reports an
application or lead with ``POST /api/v1/conversions``, with ``Authorization: Bearer <key>`` and a JSON
body. The tracked link is found by:

- ``code``: the code of the tracked link (``/s/<code>``), the primary way; or
- ``utm_content`` (the ambassador's pseudonymous reference), with
  ``utm_source`` (the network; ``copy`` for a copied link, ``device`` for
  the phone's share sheet, ``qr`` for a QR code) and
  ``utm_campaign`` (the item's short name or its campaign's) or
  ``item_url`` (the page the visitor landed on) to narrow it down. When
  these fit several links of the ambassador, the one clicked most recently
  gets the conversion.

Also ``external_id`` (required: the reporter's own id, so that a report sent
twice counts once), ``kind`` (``application``, the default, or ``lead``) and
``at`` (ISO 8601; naive times are UTC; default now).

Answers: 201 with the conversion, 200 with ``"duplicate": true`` for an
``external_id`` and ``kind`` already reported, 400 for a body that is not
JSON or a field that is wrong, 401 for a missing, unknown or revoked key, 404
when no tracked link fits. Errors are ``{"error": "..."}``.
"""

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from intranet_plugin import analytics
from intranet_plugin.analytics import conversions
from intranet_plugin.content.audiences import viewer
from intranet_plugin.forms.analytics import (
    API_PERIODS,
    API_TEXT_MAX,
    AUDIENCE_PARAMETERS,
    ApiPeriodForm,
    AudienceFilterForm,
    BadPeriod,
    ConversionForm,
)
from intranet_plugin.forms.content import LanguageFilterForm
from intranet_plugin.models import CONTENT_LANGUAGES, SHARE_NETWORKS, Item, utcnow
from intranet_plugin.people import membership
from intranet_plugin.security import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")



class BadRequest(Exception):
    pass


def _error(status, message, **headers):
    """Every error of the API: ``{"error": message}`` with ``status``."""
    response = jsonify(error=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers)
    return response


@bp.errorhandler(BadRequest)
def bad_request(exc):
    """A parameter that cannot be used: 400 with what is wrong."""
    return _error(400, str(exc))


def requested_period(today=None, also=()):
    """The period asked for (see ``ApiPeriodForm``; ``also``: the other
    parameters the route reads); a 400 with the reason when it cannot be
    read."""
    try:
        return ApiPeriodForm(request.args).requested(request.args, today, also)
    except BadPeriod as exc:
        raise BadRequest(str(exc)) from None


def requested_audience():
    """(the audience as asked for, or None; the ids of its items as a
    subquery, or None) (see ``AudienceFilterForm``); a 400 with the reason
    when it cannot be read."""
    try:
        audience = AudienceFilterForm(request.args).requested()
    except BadPeriod as exc:
        raise BadRequest(str(exc)) from None
    if audience is None:
        return None, None
    dimension, value, everyone = audience
    return {"dimension": dimension, "value": value, "everyone": everyone}, analytics.audience_items(*audience)


@bp.route("/me/stats")
def me_stats():
    """The signed-in person's own figures: those of the period asked for,
    this month and all time, rank, streak, by network, weekly clicks."""
    if not current_user.is_authenticated:
        return _error(401, _("Sign in first."))
    name, period = requested_period()
    person = current_user._get_current_object()
    figures = analytics.personal_figures(person)
    totals = analytics.person_totals([person.id], period)[person.id]
    return jsonify({
        "period": {"name": name, **period.as_dict()},
        "totals": totals.as_dict(),
        "this_month": figures["month"].as_dict(),
        "all_time": figures["all"].as_dict(),
        "rank": {"this_month": figures["rank"]["month"], "all_time": figures["rank"]["all"]},
        "on_leaderboard": figures["on_leaderboard"],
        "may_share": membership.may_share(person),
        "streak_weeks": figures["streak"],
        "by_network": analytics.by_network(period, person.id),
        "weekly": figures["weekly"],
    })


ITEMS_LIMIT = 10


@bp.route("/me/items")
def me_items():
    """The newest shareable items meant for the signed-in person (pinned
    first, as on the share page), for an intranet widget; in the content
    languages of ``?lang=`` as on the share page (default: the person's)."""
    if not current_user.is_authenticated:
        return _error(401, _("Sign in first."))
    form = LanguageFilterForm(request.args)
    if form.lang.errors:
        raise BadRequest(str(form.lang.errors[0]))
    items = Item.for_share_page(viewer=viewer(current_user),
                                languages=form.languages(current_user)).limit(ITEMS_LIMIT)
    return jsonify({"items": [{
        "id": item.id, "kind": item.kind, "title": item.title, "summary": item.summary, "url": item.url,
        "image_url": item.image_url or None, "language": item.language, "pinned": item.pinned,
        "published_at": item.publish_at.isoformat() + "Z",
        "share_page": url_for("share.index", _anchor=f"item-{item.id}")} for item in items]})


@bp.route("/stats")
def stats():
    """Programme figures for admins: participation, shares, clicks,
    visitors, bot hits, conversions, earned media value, by network, by
    kind, top items and teams; with ``audience`` (and ``everyone``), of
    the items meant for that audience only."""
    if not current_user.is_authenticated:
        return _error(401, _("Sign in first."))
    if not current_user.is_admin:
        return _error(403, _("Only admins can see the programme's figures."))
    name, period = requested_period(also=AUDIENCE_PARAMETERS)
    audience, items = requested_audience()
    return jsonify({
        "period": {"name": name, **period.as_dict()},
        "audience": audience,
        "programme": analytics.programme_totals(period, items),
        "by_network": analytics.by_network(period, items=items),
        "by_kind": analytics.by_kind(period, items=items),
        "top_items": analytics.by_item(period, limit=5, items=items),
        "teams": [{"team": row.department, "members": row.members, **row.totals.as_dict()}
                  for row in analytics.team_totals(period, items=items)],
    })


# -- conversions from the careers site ------------------------------------------------

def _json_object():
    """The request's JSON object; a 400 for anything else (not JSON, an
    array, nested too deep for Python's parser)."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if not isinstance(body, dict):
        raise BadRequest(_("The body must be a JSON object."))
    return body


@bp.route("/conversions", methods=["POST"])
@csrf.exempt
def report_conversion():
    """The careers site reports an application or lead that came through a
    tracked link (see the module docstring for the fields)."""
    key = conversions.authenticate(request.headers.get("Authorization"))
    if key is None:
        return _error(401, _("A valid API key is required: send “Authorization: Bearer <key>”."),
                      **{"WWW-Authenticate": 'Bearer realm="ambassador"'})
    conversions.mark_used(key)
    form = ConversionForm.from_json(_json_object())
    if form.error:
        raise BadRequest(str(form.error))
    link = conversions.find_link(**form.link_fields())
    if link is None:
        return _error(404, _("No tracked link fits this report."))
    conversion, created = conversions.record(link, form.kind.data or "application", form.external_id.data,
                                             form.at.data or utcnow())
    if not created:
        return jsonify(duplicate=True, **conversions.as_json(conversion)), 200
    return jsonify(conversions.as_json(conversion)), 201


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of every /api/v1 route."""
    return jsonify(openapi_document(url_for("share.index"), current_app.config["SESSION_COOKIE_NAME"]))


# -- the OpenAPI document -------------------------------------------------------------

def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _integer(description=None):
    return {"type": "integer", "minimum": 0, **({"description": description} if description else {})}


def _text(description):
    return {"type": "string", "maxLength": API_TEXT_MAX, "description": description + " Without control "
            "characters (such as NUL)."}


def _error_response(description):
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


PERIOD_PARAMETERS = [
    {"name": "period", "in": "query", "required": False,
     "description": "month (default: the current month up to today), week (the current ISO week) or all. "
                    "Not together with from/to.",
     "schema": {"type": "string", "enum": list(API_PERIODS), "default": "month"}},
    {"name": "from", "in": "query", "required": False,
     "description": "First day, inclusive (UTC), YYYY-MM-DD.", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "required": False,
     "description": "Last day, inclusive (UTC), YYYY-MM-DD.", "schema": {"type": "string", "format": "date"}},
]
AUDIENCE_API_PARAMETERS = [
    {"name": "audience", "in": "query", "required": False,
     "description": "Only the shares, clicks and conversions of the items whose audience names this "
                    "department, directory group or content language: department:NAME, group:DN or "
                    "language:CODE. An item meant for everyone is not counted unless everyone=1.",
     "schema": {"type": "string", "examples": ["department:Engineering", "language:nl"]}},
    {"name": "everyone", "in": "query", "required": False,
     "description": "1: with audience, also count the items meant for everyone.",
     "schema": {"type": "string", "enum": ["0", "1"], "default": "0"}},
]


def openapi_document(base_path="/", cookie="ambassador_session"):
    totals = {
        "type": "object",
        "description": "Shares: presses of a share button, at most one per person, item, network and "
                       "UTC day. Clicks: human visits, not bots and not the sharer's own. Visitors: distinct "
                       "(link, day, visitor). Points = visitors. EMV: clicks × cost per click of the "
                       "network, EUR.",
        "required": ["shares", "clicks", "visitors", "points", "emv", "conversions"],
        "properties": {"shares": _integer(), "clicks": _integer(), "visitors": _integer(),
                       "points": _integer(), "emv": {"type": "number", "minimum": 0},
                       "conversions": _integer()},
    }
    period = {"type": "object", "required": ["from", "to"],
              "properties": {"name": {"type": "string", "enum": [*API_PERIODS, "custom"]},
                             "from": {"type": ["string", "null"], "format": "date"},
                             "to": {"type": ["string", "null"], "format": "date"}}}
    network = {"type": "object", "properties": {
        "network": {"type": "string", "enum": list(SHARE_NETWORKS)}, "shares": _integer(), "clicks": _integer(),
        "visitors": _integer(),
        "self_clicks": _integer(), "bot_hits": _integer(), "emv": {"type": "number"},
        "cost_per_click": {"type": "number"}}}
    week = {"type": "object", "properties": {
        "week": {"type": "string", "examples": ["2026-W07"]}, "start": {"type": "string", "format": "date"},
        "clicks": _integer(), "visitors": _integer()}}
    me_stats = {"type": "object", "properties": {
        "period": _ref("Period"), "totals": _ref("Totals"), "this_month": _ref("Totals"),
        "all_time": _ref("Totals"),
        "rank": {"type": "object", "description": "Place on the public leaderboard; null when not on it.",
                 "properties": {"this_month": {"type": ["integer", "null"]},
                                "all_time": {"type": ["integer", "null"]}}},
        "on_leaderboard": {"type": "boolean"},
        "may_share": {"type": "boolean", "description": "A member who may share now (in a pilot, still in its "
                                                        "group); false: show a join prompt or the pilot page."},
        "streak_weeks": _integer("Consecutive ISO weeks with a counted click on the person's links, "
                                 "up to this or last week."),
        "by_network": {"type": "array", "items": _ref("NetworkFigures")},
        "weekly": {"type": "array", "items": _ref("WeekFigures"), "description": "The last 12 weeks."}}}
    programme = {"type": "object", "additionalProperties": True, "properties": {
        "employees": _integer(), "joined": _integer(), "join_rate": {"type": "number"},
        "active_sharers": _integer(), "participation_rate": {"type": "number"},
        "items": _integer(), "shares": _integer(), "shares_per_ambassador": {"type": "number"},
        "shares_per_item": {"type": "number"}, "clicks": _integer(), "visitors": _integer(),
        "points": _integer(), "self_clicks": _integer(), "bot_hits": _integer(), "conversions": _integer(),
        "applications": _integer(), "leads": _integer(), "emv": {"type": "number"}}}
    stats = {"type": "object", "properties": {
        "period": _ref("Period"), "programme": programme,
        "audience": {"type": ["object", "null"], "description": "The audience asked for; null: every item.",
                     "properties": {"dimension": {"type": "string", "enum": ["department", "group", "language"]},
                                    "value": {"type": "string"}, "everyone": {"type": "boolean"}}},
        "by_network": {"type": "array", "items": _ref("NetworkFigures")},
        "by_kind": {"type": "object", "additionalProperties": True},
        "top_items": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "teams": {"type": "array", "description": "Teams too small to show alone have team null.",
                  "items": {"type": "object", "additionalProperties": True}}}}
    conversion_in = {
        "type": "object", "required": ["external_id"],
        "description": "code, or utm_content (narrowed down by utm_source, utm_campaign or item_url), "
                       "identifies the tracked link the visitor came through.",
        "properties": {
            "code": _text("The tracked link's code (the part after /s/)."),
            "utm_content": _text("The utm_content the visitor arrived with (the ambassador's pseudonymous "
                                 "reference)."),
            "utm_source": _text("The network of the link (copy for a copied link, device for the phone's "
                                "share sheet, qr for a QR code)."),
            "utm_campaign": _text("The item's or its campaign's short name."),
            "item_url": _text("The page the visitor landed on."),
            "external_id": _text("The reporter's own id: a second report with the same id and kind counts once."),
            "kind": {"type": "string", "enum": ["application", "lead"], "default": "application"},
            "at": {"type": "string", "format": "date-time",
                   "description": "When it happened, ISO 8601 (naive times are UTC), in the years 2000 to "
                                  "2100; default now."}},
        "anyOf": [{"required": ["code"]}, {"required": ["utm_content"]}]}
    conversion_out = {"type": "object", "required": ["id", "code", "kind", "external_id", "at"],
                      "properties": {"id": {"type": "integer"}, "code": {"type": "string"},
                                     "kind": {"type": "string", "enum": ["application", "lead"]},
                                     "external_id": {"type": "string"},
                                     "at": {"type": "string", "format": "date-time"},
                                     "duplicate": {"type": "boolean",
                                                   "description": "Present and true when already reported."}}}
    item = {"type": "object", "required": ["id", "kind", "title", "url"], "properties": {
        "id": _integer(), "kind": {"type": "string", "enum": ["news", "vacancy", "blog"]},
        "title": {"type": "string"}, "summary": {"type": "string"}, "url": {"type": "string"},
        "image_url": {"type": ["string", "null"]}, "language": {"type": "string"}, "pinned": {"type": "boolean"},
        "published_at": {"type": "string", "format": "date-time"},
        "share_page": {"type": "string", "description": "The item's card on the share page."}}}
    session = [{"session": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ambassador API", "version": "1",
                 "description": "Impact figures for intranet widgets, and conversions reported by the "
                                "careers site. Figures are the same as on the pages."},
        "servers": [{"url": base_path}],
        "paths": {
            "/api/v1/me/stats": {"get": {
                "summary": "The signed-in person's own figures", "operationId": "getMyStats",
                "security": session, "parameters": PERIOD_PARAMETERS,
                "responses": {"200": {"description": "Figures",
                                      "content": {"application/json": {"schema": _ref("MeStats")}}},
                              "400": _error_response("A bad parameter"),
                              "401": _error_response("Not signed in")}}},
            "/api/v1/me/items": {"get": {
                "summary": "The newest items the signed-in person may share: only those meant for them "
                           "(their department, directory groups and language)",
                "operationId": "getMyItems", "security": session,
                "parameters": [{"name": "lang", "in": "query", "required": False,
                                "description": "Content languages (" + ", ".join(CONTENT_LANGUAGES) + "), "
                                               "separated by commas or the parameter repeated, or all. "
                                               "Default: the person's own, as on the share page.",
                                "schema": {"type": "string", "examples": ["de,en", "all"]}}],
                "responses": {"200": {"description": "Up to 10 items, pinned and newest first",
                                      "content": {"application/json": {"schema": {
                                          "type": "object", "properties": {
                                              "items": {"type": "array", "items": _ref("Item")}}}}}},
                              "400": _error_response("A language that is not a content language"),
                              "401": _error_response("Not signed in")}}},
            "/api/v1/stats": {"get": {
                "summary": "Programme figures (admins)", "operationId": "getProgrammeStats",
                "security": session, "parameters": PERIOD_PARAMETERS + AUDIENCE_API_PARAMETERS,
                "responses": {"200": {"description": "Figures",
                                      "content": {"application/json": {"schema": _ref("ProgrammeStats")}}},
                              "400": _error_response("A bad parameter"),
                              "401": _error_response("Not signed in"),
                              "403": _error_response("Not an admin")}}},
            "/api/v1/conversions": {"post": {
                "summary": "Report an application or lead that came through a tracked link",
                "operationId": "reportConversion", "security": [{"apiKey": []}],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("ConversionRequest")}}},
                "responses": {"201": {"description": "Recorded",
                                      "content": {"application/json": {"schema": _ref("Conversion")}}},
                              "200": {"description": "Already reported (same external_id and kind): "
                                                     "counted once",
                                      "content": {"application/json": {"schema": _ref("Conversion")}}},
                              "400": _error_response("A bad or incomplete body"),
                              "401": _error_response("No API key, or an unknown or revoked one"),
                              "404": _error_response("No tracked link with that code or utm_content")}}},
            "/api/v1/openapi.json": {"get": {
                "summary": "This document", "operationId": "getOpenApi", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": cookie,
                            "description": "The intranet session of the signed-in person."},
                "apiKey": {"type": "http", "scheme": "bearer",
                           "description": "An API key made by an admin: Authorization: Bearer <key>."}},
            "schemas": {"Totals": totals, "Period": period, "NetworkFigures": network, "WeekFigures": week,
                        "MeStats": me_stats, "ProgrammeStats": stats, "Item": item, "ConversionRequest": conversion_in,
                        "Conversion": conversion_out,
                        "Error": {"type": "object", "required": ["error"],
                                  "properties": {"error": {"type": "string"}}}},
        },
    }
