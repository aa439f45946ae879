"""``ambassador backup PATH`` and ``ambassador restore PATH``."""

import shlex
import shutil
import subprocess

import click
from flask import current_app
from flask.cli import with_appcontext

from intranet_plugin import backup


def _shown(command):
    """The command for the operator's eyes, its password masked."""
    return shlex.join(backup.masked(part) for part in command)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@with_appcontext
def backup_command(path, force):
    """Write a consistent copy of the database to PATH while the app serves.

    SQLite: SQLite's online backup, checked, then moved into place.
    PostgreSQL: runs pg_dump (custom format; restore with pg_restore).
    """
    url = current_app.config["DATABASE_URL"]
    database = backup.sqlite_path(url)
    if database is None:
        command = backup.pg_dump_command(url, path)
        schema = backup.schema_of(url)
        if schema:
            command.insert(-1, f"--schema={schema}")
        if shutil.which("pg_dump") is None:
            raise click.ClickException("pg_dump is not installed here. Run on a machine with the PostgreSQL "
                                       f"client tools: {_shown(command)}")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise click.ClickException(f"pg_dump failed: {done.stderr.strip()}")
        click.echo(f"Backed up to {path} with pg_dump. Restore with: "
                   f"{_shown(backup.pg_restore_command(url, path))}")
        return
    try:
        size = backup.backup_sqlite(database, path, force)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up {database} to {path} ({size / 1e6:.1f} MB, integrity checked).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace the configured database (stop the app and scheduler first).")
@with_appcontext
def restore_command(path, force):
    """Replace the SQLite database with the backup at PATH (checked first).

    PostgreSQL: use pg_restore (the command is printed).
    """
    url = current_app.config["DATABASE_URL"]
    database = backup.sqlite_path(url)
    if database is None:
        raise click.ClickException("For PostgreSQL, restore with pg_restore: "
                                   f"{_shown(backup.pg_restore_command(url, path))}")
    try:
        backup.restore_sqlite(path, database, force)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {database} from {path} (integrity checked). Run `ambassador db upgrade` if the backup "
               "is from an older version.")
