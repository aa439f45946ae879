"""The admin page of the API keys the careers site reports conversions
with: create (shown once), see when each was last used, revoke."""

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from intranet_plugin.analytics import conversions
from intranet_plugin.forms.programme import ApiKeyForm
from intranet_plugin.models import ApiKey
from sso import role_required

bp = Blueprint("api_keys", __name__, url_prefix="/admin/api-keys")



@bp.route("")
@role_required("admin")
def index():
    """The API keys: who created them, when each was last used; create and
    revoke."""
    return _keys_page()


def _keys_page(new=None, error=None, name="", status=200):
    response = render_template("api_keys/index.html", keys=conversions.keys(), new=new, error=error, name=name,
                               endpoint=url_for("api.report_conversion", _external=True))
    return response, status


@bp.route("", methods=["POST"])
@role_required("admin")
def create():
    """Create a key; the page shows it once, only its hash is kept."""
    form = ApiKeyForm()
    name = form.name.data or ""
    if not form.validate():
        return _keys_page(error=form.messages["name"], name=name, status=400)
    key, _row = conversions.create_key(name, by=current_user._get_current_object())
    # Shown in this answer only: not in a flash message, which would keep it
    # in the session cookie.
    return _keys_page(new={"name": name, "key": key})


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke(key_id):
    """Revoke a key: requests with it are refused from now on."""
    row = ApiKey.get_or_none(ApiKey.id == key_id) or abort(404)
    conversions.revoke_key(row, by=current_user._get_current_object())
    return redirect(url_for("api_keys.index"))
