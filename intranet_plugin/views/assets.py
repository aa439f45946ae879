"""Third-party browser assets, served from their installed, pinned packages.

Intranets are firewalled, so nothing comes from a CDN, and no third-party
file is copied into this repository. Each URL carries the package's
version, so a browser may keep the file for a year: an upgrade changes the
URL, never the file behind one.
"""

from functools import cache
from importlib.metadata import version
from importlib.resources import files

from flask import Blueprint, abort, redirect, send_file, url_for

bp = Blueprint("assets", __name__, url_prefix="/vendor")

ONE_YEAR = 365 * 24 * 3600

# name -> (distribution, import package, path inside it)
VENDORED = {
    "htmx.min.js": ("django-js-lib-htmx", "js_lib_htmx", "static/htmx/htmx.min.js"),
}


@cache
def asset_version(name):
    """The installed version of the package that ships ``name``."""
    return version(VENDORED[name][0])


@bp.app_template_global()
def vendor_url(name):
    """The versioned URL of a vendored asset, for templates."""
    return url_for("assets.vendor", version=asset_version(name), name=name)


@bp.route("/<version>/<name>")
def vendor(version, name):
    """A pinned third-party asset, cached for a year under its versioned
    URL; a page cached before an upgrade is sent on to the current file."""
    if name not in VENDORED:
        abort(404)
    if version != asset_version(name):
        return redirect(vendor_url(name))
    _, package, path = VENDORED[name]
    response = send_file(files(package).joinpath(path).open("rb"), mimetype="text/javascript",
                         download_name=name, max_age=ONE_YEAR)
    response.cache_control.immutable = True
    return response
