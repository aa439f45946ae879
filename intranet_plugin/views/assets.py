"""Third-party browser assets, served from their installed, pinned packages.

Intranets are firewalled, so nothing comes from a CDN, and no third-party
file is copied into this repository.
"""

from importlib.resources import files

from flask import Blueprint, abort, current_app, send_file

bp = Blueprint("assets", __name__, url_prefix="/vendor")

# name -> (package, path inside it)
VENDORED = {
    "htmx.min.js": ("js_lib_htmx", "static/htmx/htmx.min.js"),
}


@bp.route("/<name>")
def vendor(name):
    """A pinned third-party asset, cached for a year (the URL carries no
    version, so the cache is busted by the package version query string)."""
    if name not in VENDORED:
        abort(404)
    package, path = VENDORED[name]
    resource = files(package).joinpath(path)
    return send_file(resource.open("rb"), mimetype="text/javascript", download_name=name,
                     max_age=current_app.get_send_file_max_age(name) or 3600)
