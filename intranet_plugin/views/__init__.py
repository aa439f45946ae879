"""One module per user-facing area, each defining ``bp``."""

from flask import current_app, render_template, request
from jinja2_fragments.flask import render_block


def fragment_or_page(template, block, **context):
    """The whole page, or for htmx (not boosted) only the block it swaps;
    either way the response varies with HX-Request."""
    if request.htmx and not request.htmx.boosted:
        response = current_app.make_response(render_block(template, block, **context))
    else:
        response = current_app.make_response(render_template(template, **context))
    response.headers["Vary"] = "HX-Request"
    return response
