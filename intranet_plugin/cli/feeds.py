"""Feeds on the command line, for IT: ``ambassador import-feeds`` and
``ambassador feeds add|list|remove``."""

import click
from flask.cli import with_appcontext

from intranet_plugin.content.feeds import (
    FeedError,
    add_feed,
    import_all,
    import_feed,
    remove_feed,
)
from intranet_plugin.models import KINDS, Feed


@click.command("import-feeds")
@click.option("--feed", "feed_id", type=int, default=None, help="Import only the feed with this id.")
@with_appcontext
def import_feeds_command(feed_id):
    """Import new items from every active feed (or one). Exits with 1 if a
    feed failed; the others are imported all the same."""
    if feed_id is None:
        results = import_all()
    else:
        feed = Feed.get_or_none(Feed.id == feed_id)
        if feed is None:
            raise click.ClickException(f"There is no feed with id {feed_id}.")
        results = [import_feed(feed)]
    if not results:
        click.echo("There are no active feeds.")
    for result in results:
        line = f"Feed {result.feed.id} ({result.feed.url}): {result.summary}"
        click.echo(line, err=not result.ok)
    if any(not r.ok for r in results):
        raise SystemExit(1)


@click.group("feeds", help="RSS and Atom feeds that fill the library.")
def feeds_group():
    pass


@feeds_group.command("add")
@click.argument("url")
@click.option("--kind", required=True, type=click.Choice(KINDS), help="What the feed's items are.")
@click.option("--campaign", "campaign_slug", default=None, help="Slug of the campaign new items join.")
@click.option("--review", is_flag=True, help="New items wait for an editor instead of being published.")
@with_appcontext
def add_command(url, kind, campaign_slug, review):
    """Add a feed (it is imported on the next run of import-feeds)."""
    try:
        feed = add_feed(url, kind, campaign_slug, needs_review=review)
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
    mode = "needs review" if feed.needs_review else "publishes directly"
    campaign = f", campaign {campaign_slug}" if campaign_slug else ""
    click.echo(f"Added feed {feed.id}: {feed.url} ({feed.kind}{campaign}, {mode}).")


@feeds_group.command("list")
@with_appcontext
def list_command():
    """List the feeds with their state and last error."""
    feeds = list(Feed.select().order_by(Feed.id))
    if not feeds:
        click.echo("No feeds yet. Add one with: ambassador feeds add URL --kind news")
        return
    for feed in feeds:
        flags = [feed.kind, "review" if feed.needs_review else "direct"]
        if feed.campaign:
            flags.append("campaign " + feed.campaign.slug)
        if not feed.active:
            flags.append("paused")
        polled = f"{feed.last_polled_at:%Y-%m-%d %H:%M} UTC" if feed.last_polled_at else "never"
        click.echo(f"{feed.id:>4}  {feed.url}  [{', '.join(flags)}]  last polled: {polled}")
        if feed.last_error:
            click.echo(f"      error: {feed.last_error}")


@feeds_group.command("remove")
@click.argument("feed_id", type=int)
@with_appcontext
def remove_command(feed_id):
    """Remove a feed; the items it brought in stay."""
    try:
        feed = remove_feed(feed_id)
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Removed feed {feed_id}: {feed.url}.")
