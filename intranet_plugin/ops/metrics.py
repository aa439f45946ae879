"""Prometheus metrics: what each process counts, and what a scrape reads
from the database.

Two kinds, each where it is true:

- **Counted in the process** (``prometheus_client``): requests, the
  redirect's latency, clicks written to and moved out of the click journal,
  LDAP and SMTP errors, feed poll errors, scheduler job runs. Under
  gunicorn every worker counts in its own files in
  ``PROMETHEUS_MULTIPROC_DIR`` (set by deploy/gunicorn.conf.py and the
  systemd units, shared by the web workers and the scheduler) and a scrape
  adds them up, so one worker answers for all.
- **Read from the database and the disk at scrape time**: mail sent,
  failed and deferred per round (the mail ledger), failing feeds, the
  scheduler's lease and each job's last run, pending migrations, the click
  journal's backlog. These hold for every process and server alike,
  whichever one is scraped.

Labels are endpoint names, never raw paths: a path carries codes and
tokens, and one series per link would swamp Prometheus.
"""

import os
import time

# prometheus_client picks its storage when it is imported: the directory
# must exist by then.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (  # noqa: E402
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter("ambassador_requests", "HTTP requests answered by the application, by endpoint and status",
                   ["endpoint", "method", "status"])
REDIRECT_SECONDS = Histogram(
    "ambassador_redirect_duration_seconds",
    "Time to answer a tracked link (/s/) with its redirect, journal write included, measured on one "
    "redirect in 16 (ambassador_clicks_journaled_total counts them all)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
CLICKS_JOURNALED = Counter("ambassador_clicks_journaled", "Clicks written to the click journal")
CLICKS_STORED = Counter("ambassador_clicks_stored",
                        "Clicks moved from the click journal into the database (journaled minus stored: the lag)")
LDAP_ERRORS = Counter("ambassador_ldap_errors", "Failures to talk to the directory (sign-in, sync)")
SMTP_ERRORS = Counter("ambassador_smtp_errors", "SMTP failures, before any retry: refused (4xx/5xx) or connection",
                      ["kind"])
FEED_POLL_ERRORS = Counter("ambassador_feed_poll_errors", "Feed imports that failed")
JOB_RUNS = Counter("ambassador_scheduler_job_runs", "Scheduler job runs by job and outcome", ["job", "outcome"])

METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def count_request(endpoint, method, status):
    REQUESTS.labels(endpoint or "none", method if method in METHODS else "other", str(status)).inc()


def timer():
    return time.perf_counter()


def multiprocess_dir():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(*collectors):
    """The text a scrape gets: this process's metrics (or, under gunicorn,
    every process's), then those of ``collectors``."""
    directory = multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry = REGISTRY
    extra = CollectorRegistry()
    for collector in collectors:
        extra.register(collector)
    return generate_latest(registry) + generate_latest(extra)


def gauge(name, documentation, samples, labels=()):
    """A gauge family from ``[(label values, value), ...]``."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for values, value in samples:
        family.add_metric(list(values), value)
    return family

