"""``ambassador recover-clicks``: the click journals of stopped workers."""

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("recover-clicks")
@with_appcontext
def recover_clicks_command():
    """Move clicks left in the journals of stopped workers into the database."""
    from intranet_plugin.tracking.clicks import recover

    moved = recover(current_app.config["CLICK_JOURNAL_DIR"])
    click.echo(f"Recovered {moved} clicks.")
