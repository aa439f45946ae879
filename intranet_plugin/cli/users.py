"""``ambassador sync-users``: people from the directory."""

import click
from flask import current_app
from flask.cli import with_appcontext

from sso.directory import DirectoryUnavailable


@click.command("sync-users")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--force", is_flag=True,
              help="Deactivate even when an unusually large share of people seem to have left.")
@with_appcontext
def sync_users_command(dry_run, force):
    """Create and update people from the directory; deactivate leavers.

    The directory is read completely before anything changes: if the read
    fails or stops halfway, nobody is deactivated.
    """
    from sso.sync import SyncRefused, sync_users

    if current_app.config["AUTH"] not in ("ldap", "header"):
        raise click.ClickException("sync-users needs AMBASSADOR_AUTH=ldap or header and the "
                                   "AMBASSADOR_LDAP_* settings.")
    try:
        report = sync_users(dry_run=dry_run, force=force)
    except (DirectoryUnavailable, SyncRefused) as exc:
        raise click.ClickException(f"Directory sync stopped, nothing was changed: {exc}") from None
    for label, names in (("Created", report.created), ("Updated", report.updated),
                         ("Reactivated", report.reactivated), ("Deactivated", report.deactivated)):
        if names:
            click.echo(f"{label}: {', '.join(sorted(names))}")
    click.echo(("Dry run, nothing changed: " if dry_run else "Directory sync done: ") + report.summary())
