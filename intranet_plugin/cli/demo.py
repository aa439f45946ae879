"""``ambassador demo``: the demo's people and content."""

import click
from flask.cli import with_appcontext

from intranet_plugin import db as database


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete existing demo content first.")
@with_appcontext
def demo_command(reset):
    """Fill the database with realistic demo content and people."""
    from intranet_plugin.demo import build

    database.upgrade()
    counts = build(reset=reset)
    click.echo("Demo ready: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
