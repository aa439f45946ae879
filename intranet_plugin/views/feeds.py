"""Admin pages for feeds: list them with their state, add, remove, import now."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from peewee import JOIN

from intranet_plugin.content.feeds import (
    FeedError,
    add_feed,
    import_all,
    import_feed,
    remove_feed,
)
from intranet_plugin.forms.content import FeedForm
from intranet_plugin.models import KINDS, Audience, Campaign, Feed
from sso.roles import role_required

bp = Blueprint("feeds", __name__, url_prefix="/admin/feeds")


def _page(form=None, error=None, status=200, audience_form=None):
    feeds = list(Feed.select(Feed, Campaign).join(Campaign, JOIN.LEFT_OUTER).order_by(Feed.id))
    campaigns = list(Campaign.select(Campaign.id, Campaign.slug, Campaign.name).order_by(Campaign.name))
    form = form or {"url": "", "kind": "news", "campaign": "", "needs_review": False}
    return render_template("feeds/index.html", feeds=feeds, campaigns=campaigns, kinds=KINDS,
                           form=form, error=error, audience_form=audience_form or FeedForm(formdata=None),
                           audiences={f.id: Audience.of(f.audience or {}) for f in feeds}), status


def _flash_result(result):
    name = result.feed.title or result.feed.url
    if result.ok:
        flash(_("%(feed)s: %(summary)s", feed=name, summary=result.summary))
    else:
        flash(_("%(feed)s could not be imported: %(error)s", feed=name, error=result.error), "error")


@bp.get("/")
@role_required("admin")
def index():
    """Every feed with its kind, campaign, review mode and last import,
    errors first in sight; the form to add one."""
    return _page()


@bp.post("/")
@role_required("admin")
def add():
    """Add a feed and import it straight away, so its first items (or its
    error) show at once."""
    form = FeedForm()
    if not form.validate():
        return _page(form.as_dict(), error=next(iter(form.messages.values())), status=400, audience_form=form)
    values = form.as_dict()
    try:
        feed = add_feed(values["url"], values["kind"], values["campaign"] or None, values["needs_review"],
                        actor=current_user._get_current_object(), audience=values["audience"])
    except FeedError as exc:
        return _page(values, error=str(exc), status=400, audience_form=form)
    # A feed whose first import fails is kept, as feed readers do: the
    # source may be down for a moment, and the scheduler tries again. One
    # message says both, with the reason (which names the host if it is
    # about the host).
    result = import_feed(feed)
    if result.ok:
        flash(_("Feed added: %(feed)s. %(summary)s", feed=result.feed.title or result.feed.url,
                summary=result.summary))
    else:
        flash(ngettext("Feed added, but its first import failed: %(error)s It is tried again with every "
                       "import, every minute; correct or remove the feed if the problem stays.",
                       "Feed added, but its first import failed: %(error)s It is tried again with every "
                       "import, every %(num)d minutes; correct or remove the feed if the problem stays.",
                       current_app.config["FEED_POLL_MINUTES"], error=result.error), "error")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:feed_id>/remove")
@role_required("admin")
def remove(feed_id):
    """Remove a feed; the items it brought in stay in the library."""
    try:
        feed = remove_feed(feed_id, actor=current_user._get_current_object())
    except FeedError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Feed removed: %(url)s. Its items stay in the library.", url=feed.url))
    return redirect(url_for(".index"), 303)


@bp.post("/<int:feed_id>/import")
@role_required("admin")
def import_one(feed_id):
    """Import one feed now."""
    feed = Feed.get_or_none(Feed.id == feed_id)
    if feed is None:
        flash(_("There is no feed with id %(id)s.", id=feed_id), "error")
    else:
        _flash_result(import_feed(feed))
    return redirect(url_for(".index"), 303)


@bp.post("/import")
@role_required("admin")
def import_every():
    """Import every active feed now."""
    results = import_all()
    if not results:
        flash(_("There are no active feeds to import."))
        return redirect(url_for(".index"), 303)
    flash(ngettext("%(num)d feed imported: %(new)d new, %(updated)d updated, %(expired)d expired.",
                   "%(num)d feeds imported: %(new)d new, %(updated)d updated, %(expired)d expired.",
                   len(results), new=sum(r.new for r in results),
                   updated=sum(r.updated for r in results), expired=sum(r.expired for r in results)))
    failed = sum(not r.ok for r in results)
    if failed:
        flash(ngettext("%(num)d feed could not be imported: see its error below.",
                       "%(num)d feeds could not be imported: see their errors below.", failed), "error")
    return redirect(url_for(".index"), 303)
