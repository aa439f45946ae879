"""The ``ambassador`` command line (also ``flask --app wsgi ...``)."""

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from intranet_plugin import db as database
from intranet_plugin.config import ConfigError


@click.group("db", help="Database schema.")
def db_group():
    pass


@db_group.command("upgrade")
@click.option("--to", "target", default=None, help="Stop after this migration.")
@with_appcontext
def upgrade_command(target):
    """Apply pending schema migrations (keeps every row)."""
    applied = database.upgrade(target)
    click.echo("Applied: " + ", ".join(applied) if applied else "The database is up to date.")


@db_group.command("status")
@with_appcontext
def status_command():
    """List migrations not yet applied."""
    waiting = database.pending()
    click.echo("Pending: " + ", ".join(waiting) if waiting else "The database is up to date.")


@db_group.command("rebuild-totals")
@with_appcontext
def rebuild_totals_command():
    """Recompute the running click totals from the stored clicks (after
    clicks were imported into the database directly)."""
    from intranet_plugin.tracking.totals import rebuild

    links = rebuild()
    click.echo(f"Click totals rebuilt for {links} links.")


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete existing demo content first.")
@with_appcontext
def demo_command(reset):
    """Fill the database with realistic demo content and people."""
    from intranet_plugin.demo import build

    database.upgrade()
    counts = build(reset=reset)
    click.echo("Demo ready: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


@click.command("recover-clicks")
@with_appcontext
def recover_clicks_command():
    """Move clicks left in the journals of stopped workers into the database."""
    from intranet_plugin.tracking.clicks import recover

    moved = recover(current_app.config["CLICK_JOURNAL_DIR"])
    click.echo(f"Recovered {moved} clicks.")


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the timed jobs (digest, alerts, feeds, directory sync, retention).

    Run one per installation (a second one waits as a stand-by).
    """
    from intranet_plugin.scheduler import Scheduler

    app = current_app._get_current_object()
    scheduler = Scheduler(app)
    click.echo(f"Scheduler {scheduler.holder} started; jobs: "
               + ", ".join(job.id for job in scheduler.aps.get_jobs()))
    scheduler.start()


def register(app):
    from intranet_plugin.cli.digest import digest_group
    from intranet_plugin.cli.feeds import feeds_group, import_feeds_command
    from intranet_plugin.cli.report import report_group
    from intranet_plugin.cli.users import sync_users_command

    for command in (db_group, demo_command, recover_clicks_command, scheduler_command, sync_users_command,
                    feeds_group, import_feeds_command, digest_group, report_group):
        app.cli.add_command(command)


def _create_app():
    from intranet_plugin import create_app

    return create_app()


cli = FlaskGroup(name="ambassador", create_app=_create_app, add_default_commands=True,
                 help="Ambassador: employee advocacy for the intranet.")


def main():
    try:
        cli.main(prog_name="ambassador")
    except ConfigError as exc:
        click.echo(f"Configuration error: {exc}", err=True)
        sys.exit(2)
