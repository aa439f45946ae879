"""One module per user-facing area, each defining ``bp``."""

import datetime

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


def pilot_page(status=200):
    """The friendly page for people outside a pilot's group: never an
    error page, and it names whom to ask."""
    from intranet_plugin.people.membership import programme_leads

    response = current_app.make_response(
        (render_template("programme/pilot.html", leads=programme_leads()), status))
    response.headers["Cache-Control"] = "no-store"
    return response


def chart(series, width=880, height=240):
    """Geometry of a bar chart of weekly clicks, for an inline SVG. Each
    bar's week is named by the date it starts on; ``labelled`` says which
    bars carry that date under them (the latest week always does)."""
    top, bottom, left, right = 24, 34, 36, 8
    peak = max([w["clicks"] for w in series] + [0])
    step = max(1, -(-peak // 4))  # four grid lines, whole numbers
    scale_max = step * 4
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(series)
    # A date label ("22 Nov") needs about 44 units: every week's date when
    # there is room, else every second or fourth week's.
    every = next(n for n in (1, 2, 4, 8, len(series)) if slot * n >= 44)
    bars = []
    for i, week in enumerate(series):
        h = plot_h * week["clicks"] / scale_max
        start = datetime.date.fromisoformat(week["start"])
        bars.append({"x": round(left + i * slot + slot * 0.15, 1), "w": round(slot * 0.7, 1),
                     "y": round(top + plot_h - h, 1), "h": round(h, 1),
                     "cx": round(left + i * slot + slot / 2, 1), "week": week,
                     "start": start, "labelled": (len(series) - 1 - i) % every == 0})
    grid = [{"y": round(top + plot_h - plot_h * k / 4, 1), "value": step * k} for k in range(5)]
    return {"width": width, "height": height, "bars": bars, "grid": grid, "left": left,
            "right": width - right, "base": top + plot_h, "total": sum(w["clicks"] for w in series)}
