"""The tracked redirect, /s/<code>: the only public route."""

import re

from flask import Blueprint, abort, current_app, redirect, request, session

from ..clicks import record
from ..sharing import resolve

bp = Blueprint("links", __name__)

CODE = re.compile(r"[A-Za-z0-9_-]{8,16}")


@bp.route("/s/<code>", methods=["GET"])
def follow(code):
    """Record the visit, then 302 to the item with our UTM parameters.

    Always 302, never 301: a cached permanent redirect would hide every
    later click. Nothing in the request influences the destination.
    """
    if not CODE.fullmatch(code):
        abort(404)
    target = current_app.extensions["ambassador.targets"].get(code, resolve)
    if target is None:
        abort(404)
    record(
        current_app.extensions["ambassador.journal"],
        target,
        request.method,
        request.headers.get("User-Agent", ""),
        request.remote_addr,
        request.headers.get("Referer", ""),
        # Reading the cookie, not loading the person: no query needed.
        session.get("_user_id") if request.cookies else None,
    )
    response = redirect(target.url, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
