"""Operations: request ids and logs (``logs``), Prometheus metrics
(``metrics``), readiness (``health``). ``init_app`` wires the first two
into every request; the routes are in ``views/system.py``.
"""

import logging

from flask import g, request
from flask.logging import default_handler

from intranet_plugin.ops import logs, metrics

request_log = logging.getLogger("intranet_plugin.request")


def init_app(app):
    logs.configure(app.config["LOG_FORMAT"])
    # Flask's own handler would print our lines a second time.
    app.logger.removeHandler(default_handler)

    @app.before_request
    def begin():
        g.request_started = metrics.timer()
        logs.start_request()

    @app.after_request
    def finish(response):
        response.headers["X-Request-Id"] = g.get("request_id") or logs.start_request()
        _account(response.status_code)
        return response


def _account(status):
    """The request's line in the log and its count in the metrics. A path
    is never logged (it may hold a code or a token), only the endpoint."""
    endpoint = request.endpoint or "none"
    metrics.count_request(endpoint, request.method, status)
    started = g.get("request_started")
    duration = round((metrics.timer() - started) * 1000, 1) if started is not None else None
    request_log.info("%s %s %s %s ms", request.method, endpoint, status, duration,
                     extra={"method": request.method, "endpoint": endpoint, "status": status,
                            "duration_ms": duration})
