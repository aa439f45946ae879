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
@click.option("--force", is_flag=True, help="Upgrade even while a scheduler or mail sender is at work.")
@with_appcontext
def upgrade_command(target, force):
    """Apply pending schema migrations (keeps every row). Safe on every
    deploy: nothing pending, nothing done. With migrations pending it
    refuses while a scheduler or a mail sender (of the version being
    replaced) holds a live lease: stop them first."""
    from intranet_plugin.models import JobLease, utcnow

    unknown = database.unknown_applied()
    if unknown:
        raise click.ClickException("The database was upgraded by a newer version (it has " + ", ".join(unknown)
                                   + "): deploy that version.")
    if database.pending() and not force and JobLease.table_exists():
        live = list(JobLease.select().where((JobLease.holder != "") & (JobLease.expires_at > utcnow())))
        if live:
            raise click.ClickException(
                "Still at work on this database: " + ", ".join(f"{row.name} ({row.holder}, lease until "
                                                               f"{row.expires_at:%H:%M:%S} UTC)" for row in live)
                + ". Stop the old version's schedulers first (a lease runs out within 90 s of its holder "
                "stopping), or use --force: an old scheduler stops running jobs once it sees the upgrade.")
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
