"""Conversions reported by the careers site or applicant tracking system,
and the API keys it reports with.

``POST /api/v1/conversions`` with ``Authorization: Bearer <key>`` and a JSON
body. The tracked link is found by:

- ``code``: the code of the tracked link (``/s/<code>``), the primary way; or
- ``utm_content`` (the ambassador's pseudonymous reference), with
  ``utm_source`` (the network; ``copy`` for a copied link) and
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

import datetime
import hashlib
import hmac
import secrets

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from peewee import JOIN, IntegrityError, Ordering, fn

from intranet_plugin.content.sharing import COPY
from intranet_plugin.content.urls import normalize_url
from intranet_plugin.models import (
    ApiKey,
    AuditLog,
    Campaign,
    Click,
    Conversion,
    Item,
    Person,
    TrackedLink,
    db,
    utcnow,
)
from intranet_plugin.security import csrf
from sso import role_required

bp = Blueprint("conversions", __name__)

CONVERSION_KINDS = ("application", "lead")
SCOPE = "conversions"
KEY_PREFIX = "amb_"
MAX_FIELD = 255
MAX_NAME = 100


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key():
    """A fresh key (shown once) and the hash that is stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_key(key)


def authenticate(header, scope=SCOPE):
    """The unrevoked key of an ``Authorization: Bearer`` header, or None."""
    kind, _sep, key = (header or "").partition(" ")
    key = key.strip()
    if kind.lower() != "bearer" or not key or len(key) > 200:
        return None
    digest = hash_key(key)
    row = ApiKey.get_or_none((ApiKey.key_hash == digest) & (ApiKey.scope == scope))
    # The lookup is by hash, which tells nothing about the key; the compare
    # in constant time is belt and braces.
    if row is None or not hmac.compare_digest(row.key_hash, digest) or row.revoked_at is not None:
        return None
    return row


class BadRequest(Exception):
    pass


def _error(status, message, **headers):
    response = jsonify(error=message)
    response.status_code = status
    response.headers.update(headers)
    return response


def _text(body, name, required=False):
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(_("“%(field)s” is required.", field=name))
        return None
    if not isinstance(value, str) or len(value) > MAX_FIELD or not value.strip():
        raise BadRequest(_("“%(field)s” must be a text of at most %(max)d characters.", field=name, max=MAX_FIELD))
    return value.strip()


def _parse_at(value):
    if value is None:
        return utcnow()
    if not isinstance(value, str):
        raise BadRequest(_("“at” must be a date and time in ISO 8601, e.g. 2026-05-04T10:30:00Z."))
    try:
        at = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(_("“at” must be a date and time in ISO 8601, e.g. 2026-05-04T10:30:00Z.")) from None
    if at.tzinfo is not None:
        at = at.astimezone(datetime.UTC).replace(tzinfo=None)
    if not 2000 <= at.year <= 2100:
        raise BadRequest(_("“at” must be a date between the years 2000 and 2100."))
    return at


def find_link(body):
    """The tracked link a report names, or None."""
    code = _text(body, "code")
    if code:
        return TrackedLink.get_or_none(TrackedLink.code == code)
    ref = _text(body, "utm_content")
    if not ref:
        raise BadRequest(_("Give the tracked link's “code”, or “utm_content” with “utm_source” and "
                           "“utm_campaign” or “item_url”."))
    source, campaign, item_url = _text(body, "utm_source"), _text(body, "utm_campaign"), _text(body, "item_url")
    last_click = (Click.select(fn.MAX(Click.at)).where(Click.link == TrackedLink.id))
    query = (TrackedLink.select(TrackedLink)
             .join(Person).switch(TrackedLink).join(Item).join(Campaign, JOIN.LEFT_OUTER)
             .where(Person.ref == ref))
    if source:
        # The copy-link button's links carry utm_source=copy.
        query = query.where(TrackedLink.network == (COPY if source == "copy" else source))
    if item_url:
        query = query.where(Item.normalized_url == normalize_url(item_url))
    if campaign:
        query = query.where((Item.slug == campaign) | (Campaign.slug == campaign))
    return query.order_by(Ordering(last_click, "DESC", nulls="LAST"), TrackedLink.id.desc()).first()


@bp.route("/api/v1/conversions", methods=["POST"])
@csrf.exempt
def report():
    """The careers site reports an application or lead that came through a
    tracked link (see the module docstring for the fields)."""
    key = authenticate(request.headers.get("Authorization"))
    if key is None:
        return _error(401, _("A valid API key is required: send “Authorization: Bearer <key>”."),
                      **{"WWW-Authenticate": 'Bearer realm="ambassador"'})
    ApiKey.update(last_used_at=utcnow()).where(ApiKey.id == key.id).execute()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, _("The body must be a JSON object."))
    try:
        external_id = _text(body, "external_id", required=True)
        kind = body.get("kind") or "application"
        if kind not in CONVERSION_KINDS:
            raise BadRequest(_("“kind” must be “application” or “lead”."))
        at = _parse_at(body.get("at"))
        link = find_link(body)
    except BadRequest as exc:
        return _error(400, str(exc))
    if link is None:
        return _error(404, _("No tracked link fits this report."))
    try:
        with db.atomic():
            conversion = Conversion.create(link=link, kind=kind, external_id=external_id, at=at,
                                           created_at=utcnow())
    except IntegrityError:
        # The unique (external_id, kind) decides, also between two reports
        # of the same conversion at the same moment.
        conversion = Conversion.get_or_none((Conversion.external_id == external_id) & (Conversion.kind == kind))
        if conversion is None:
            raise
        return jsonify(duplicate=True, **_conversion_json(conversion, conversion.link)), 200
    return jsonify(_conversion_json(conversion, link)), 201


def _conversion_json(conversion, link):
    return {"id": conversion.id, "code": link.code, "kind": conversion.kind,
            "external_id": conversion.external_id, "at": conversion.at.isoformat() + "Z"}


# -- the admin page of the keys ---------------------------------------------

@bp.route("/admin/api-keys")
@role_required("admin")
def api_keys():
    """The API keys: who created them, when each was last used; create and
    revoke."""
    return _keys_page()


def _keys_page(new=None, error=None, name="", status=200):
    keys = list(ApiKey.select(ApiKey, Person).join(Person, JOIN.LEFT_OUTER)
            .order_by(ApiKey.revoked_at.is_null(False), ApiKey.created_at.desc()))
    return render_template("conversions/api_keys.html", keys=keys, new=new, error=error, name=name,
                           endpoint=url_for("conversions.report", _external=True)), status


@bp.route("/admin/api-keys", methods=["POST"])
@role_required("admin")
def create_api_key():
    """Create a key; the page shows it once, only its hash is kept."""
    name = " ".join(request.form.get("name", "").split())
    if not name or len(name) > MAX_NAME:
        return _keys_page(error=_("Enter a name of at most %(max)d characters, e.g. “Careers site”.",
                                  max=MAX_NAME), name=name, status=400)
    key, digest = new_key()
    me = current_user._get_current_object()
    with db.atomic():
        row = ApiKey.create(name=name, key_hash=digest, scope=SCOPE, created_by=me)
        AuditLog.record(me, "create", row, summary=name)
    # Shown in this answer only: not in a flash message, which would keep it
    # in the session cookie.
    return _keys_page(new={"name": name, "key": key})


@bp.route("/admin/api-keys/<int:key_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke_api_key(key_id):
    """Revoke a key: requests with it are refused from now on."""
    row = ApiKey.get_or_none(ApiKey.id == key_id)
    if row is None:
        abort(404)
    if row.revoked_at is None:
        me = current_user._get_current_object()
        with db.atomic():
            ApiKey.update(revoked_at=utcnow()).where(ApiKey.id == row.id).execute()
            AuditLog.record(me, "revoke", row, summary=row.name)
    return redirect(url_for("conversions.api_keys"))
