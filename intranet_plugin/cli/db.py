"""``ambassador db upgrade|status|rebuild-totals``: the database schema and
the running click totals."""

import click
from flask.cli import with_appcontext

from intranet_plugin import db as database


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
