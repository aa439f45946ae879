"""``ambassador digest send|preview|alerts``."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup

digest_group = AppGroup("digest", help="The weekly digest e-mail and instant alerts.")


def _finish(report):
    click.echo(report.summary())
    if report.error:
        sys.exit(1)


@digest_group.command("send")
@click.option("--dry-run", is_flag=True, help="Build every digest and report, but claim and send nothing.")
@click.option("--week", default=None, metavar="YYYY-Www", help="The ISO week (default: this week).")
def send_command(dry_run, week):
    """Send this week's digest to every member who has not had it yet."""
    from digest.send import send_weekly

    _finish(send_weekly(current_app._get_current_object(), week=week, dry_run=dry_run))


@digest_group.command("preview")
@click.option("--user", "username", required=True,
              help="The person: their user name, or (part of) their name, as on the admin's digest page.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the HTML here (default: the standard output).")
@click.option("--text", "as_text", is_flag=True, help="The plain-text part instead of the HTML.")
def preview_command(username, out, as_text):
    """Write the digest a person would get now; nothing is recorded or sent."""
    from digest.send import preview
    from intranet_plugin.people.search import find_person

    found = find_person(username)
    person = found.person
    if person is None and found.matches:
        names = "\n".join(f"  {p.username}: {p.display_name}" for p in found.matches)
        raise click.ClickException(f"Several people match {username!r}; give one user name:\n{names}")
    if person is None:
        raise click.ClickException(f"Nobody matches {username!r}.")
    subject, html, text, digest = preview(current_app._get_current_object(), person)
    body = text if as_text else html
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(body)
        note = " (nothing new and nothing to report: it would not be sent)" if digest.empty else ""
        click.echo(f"{subject}: {len(digest.items)} items{note}. Written to {out}.")
    else:
        click.echo(body)


reminders_group = AppGroup("reminders", help="The monthly reminders to members who have not shared for 30 days.")


@reminders_group.command("send")
@click.option("--dry-run", is_flag=True, help="Build every reminder and report, but claim and send nothing.")
@click.option("--month", default=None, metavar="YYYY-MM", help="The month (default: this month).")
def reminders_send_command(dry_run, month):
    """Send this month's reminder to every member due who has not had it yet."""
    from digest.reminders import send_reminders

    _finish(send_reminders(current_app._get_current_object(), month=month, dry_run=dry_run))


@digest_group.command("alerts")
def alerts_command():
    """Send the instant alerts that are due."""
    from digest.alerts import send_pending_alerts

    _finish(send_pending_alerts(current_app._get_current_object()))
