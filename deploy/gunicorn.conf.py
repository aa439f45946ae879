"""gunicorn settings for Ambassador's web process (deploy/ambassador-web.service
runs ``gunicorn -c /etc/ambassador/gunicorn.conf.py``).

Every value can be changed without editing this file, through the
environment (``/etc/ambassador/env``):

  AMBASSADOR_BIND             where gunicorn listens; default 127.0.0.1:8000
                              (only the reverse proxy on this host reaches it)
  AMBASSADOR_WORKERS          worker processes; default 2 x cores + 1, at most 8
  AMBASSADOR_PROXY_ADDRESSES  the reverse proxy's addresses, whose X-Forwarded-*
                              gunicorn honours; default 127.0.0.1 (nginx on
                              this host). Keep it equal to
                              AMBASSADOR_TRUSTED_PROXIES.
  PROMETHEUS_MULTIPROC_DIR    where the workers keep their metrics, so that
                              /metrics adds up all of them; default
                              /run/ambassador (the units' RuntimeDirectory)

A graceful reload (new code or settings, no request dropped) is
``systemctl reload ambassador-web`` (SIGHUP): new workers start, old ones
finish their requests within ``graceful_timeout``.
"""

import multiprocessing
import os

# The application factory of the installed package: no source checkout
# (wsgi.py) is needed on the server.
wsgi_app = "intranet_plugin:create_app()"
bind = [os.environ.get("AMBASSADOR_BIND", "127.0.0.1:8000")]

# Sync workers: a request is short (the tracked redirect, a page of the
# share page) and the database is local; 2 x cores + 1 as gunicorn advises,
# capped so a big machine does not hold more SQLite connections than it
# needs.
workers = int(os.environ.get("AMBASSADOR_WORKERS") or min(2 * multiprocessing.cpu_count() + 1, 8))
worker_class = "sync"

# A worker silent for 30 s is killed and replaced; the slowest request (a
# feed import started from the editor) is bounded by AMBASSADOR_FETCH_TIMEOUT.
timeout = 30
# On reload or stop, workers get this long to finish what they serve and
# to move their last clicks from the journal into the database.
graceful_timeout = 30
keepalive = 5

# Only the reverse proxy may say which scheme and client a request came
# with. gunicorn's default trusts 127.0.0.1; here it is named, so that a
# proxy on another host is a decision written in /etc/ambassador/env.
forwarded_allow_ips = os.environ.get("AMBASSADOR_PROXY_ADDRESSES", "127.0.0.1")

# Logs to stderr, which journald keeps (journalctl -u ambassador-web).
# Ambassador writes its own line per request (JSON, with a request id and
# without the client address), so gunicorn's access log stays off.
errorlog = "-"
accesslog = None
loglevel = "info"

# Never preload: each worker opens its own database connection and click
# journal after the fork.
preload_app = False

# Requests from the proxy carry at most this much header data.
limit_request_field_size = 8190

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/run/ambassador")


def _metrics_dir():
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    """Before the first worker: an empty metrics directory, except for the
    files of processes still running (the scheduler shares it)."""
    directory = _metrics_dir()
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if not name.endswith(".db"):
            continue
        pid = name.rsplit("_", 1)[-1][:-3]
        if pid.isdigit() and _running(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def child_exit(server, worker):
    """A worker is gone: its live gauges go with it (its counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir())
