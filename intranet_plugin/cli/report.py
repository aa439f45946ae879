"""`ambassador report`: the monthly management report."""

import click
from flask import current_app
from flask.cli import with_appcontext

from intranet_plugin.analytics.report import BadMonth, local_today, parse_month, previous_month, send_monthly


@click.group("report", help="The monthly management report e-mail.")
def report_group():
    pass


@report_group.command("send")
@click.option("--month", default=None, metavar="YYYY-MM", help="A finished month (default: last month).")
@click.option("--dry-run", is_flag=True, help="Build the report and print it; record and send nothing.")
@with_appcontext
def send_command(month, dry_run):
    """Send a month's report to AMBASSADOR_REPORT_RECIPIENTS. A recipient who
    already had that month's report is not sent it again: with nobody left,
    the command refuses (exit status 1)."""
    app = current_app._get_current_object()
    today = local_today(app.config)
    try:
        first = parse_month(month, today) if month else previous_month(today)
    except BadMonth as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    result = send_monthly(app, first, dry_run)
    if dry_run and result.text:
        click.echo(f"Subject: {result.subject}\n\n{result.text}")
    click.echo(result.summary(), err=not result.ok or result.nothing_to_do)
    if result.nothing_to_do:
        click.echo(f"The report of {result.month} was sent before: nothing sent.", err=True)
    if not result.ok or result.nothing_to_do:
        raise SystemExit(1)
