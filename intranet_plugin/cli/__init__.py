"""The ``ambassador`` command line (also ``flask --app wsgi ...``): one
module per command or group, registered on the app by ``register``."""

import sys

import click
import peewee
from flask.cli import FlaskGroup

from intranet_plugin.config import ConfigError


def register(app):
    from intranet_plugin.cli.backup import backup_command, restore_command
    from intranet_plugin.cli.clicks import recover_clicks_command
    from intranet_plugin.cli.db import db_group
    from intranet_plugin.cli.demo import demo_command
    from intranet_plugin.cli.digest import digest_group, reminders_group
    from intranet_plugin.cli.feeds import feeds_group, import_feeds_command
    from intranet_plugin.cli.invite import invite_command
    from intranet_plugin.cli.mail import mail_group
    from intranet_plugin.cli.report import report_group
    from intranet_plugin.cli.scheduler import scheduler_command
    from intranet_plugin.cli.users import sync_users_command

    for command in (db_group, demo_command, recover_clicks_command, scheduler_command, sync_users_command,
                    feeds_group, import_feeds_command, digest_group, report_group, mail_group,
                    backup_command, restore_command, invite_command, reminders_group):
        app.cli.add_command(command)


def _create_app():
    from intranet_plugin import create_app

    return create_app()


class AmbassadorGroup(FlaskGroup):
    """The ``ambassador`` command: a database that cannot be reached (or
    used) ends any command with one clear line and exit code 1, not a
    traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except peewee.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise click.ClickException(f"The database cannot be used: {reason} "
                                       "(check AMBASSADOR_DATABASE_URL and that the database server runs).") from exc


cli = AmbassadorGroup(name="ambassador", create_app=_create_app, add_default_commands=True,
                 help="Ambassador: employee advocacy for the intranet.")


def main():
    try:
        cli.main(prog_name="ambassador")
    except ConfigError as exc:
        click.echo(f"Configuration error: {exc}", err=True)
        sys.exit(2)
