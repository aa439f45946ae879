"""``ambassador scheduler``: the timed jobs."""

import click
from flask import current_app
from flask.cli import with_appcontext


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
