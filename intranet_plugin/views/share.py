"""The share page, its fragments, the share action and the intranet widget."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from intranet_plugin.content.audiences import audience_of, content_languages, is_meant_for, viewer
from intranet_plugin.content.guidelines import text_rules
from intranet_plugin.content.sharing import (
    CAPTION_RULES,
    COPY,
    DEVICE,
    MAIL_SOURCES,
    MAX_CAPTION,
    NETWORKS,
    PREVIEW,
    SPACES,
    caption_length,
    networks_of,
    post_text,
    read_share_token,
    record_share,
    share_token,
    share_url,
    text_groups,
    text_warnings,
    too_long,
)
from intranet_plugin.content.suggestions import suggester_names, suggestion_outcomes
from intranet_plugin.forms.content import LanguageFilterForm, SharePageFilterForm
from intranet_plugin.forms.programme import LanguageForm
from intranet_plugin.labels import NETWORK_LABELS
from intranet_plugin.models import (
    Campaign,
    Item,
    Person,
    utcnow,
)
from intranet_plugin.people import membership
from intranet_plugin.security import csrf
from intranet_plugin.tracking.clicks import classify, visitors
from intranet_plugin.tracking.links import tracked_url
from intranet_plugin.tracking.qr import qr_link, qr_svg
from intranet_plugin.views import pilot_page

bp = Blueprint("share", __name__)


def _filters():
    form = SharePageFilterForm(request.args)
    return form.value("kind"), form.value("q"), form.value("campaign"), form.page_number(), _languages(form)


def _languages(form):
    """(languages to list or None for all, the ``lang`` value to keep in
    links); a value that is no content language: 400."""
    if form.lang.errors:
        abort(400, form.lang.errors[0])
    return form.languages(current_user), form.lang._value()


def _cards(items):
    """Template data for item cards: shared-state and suggesters in one query
    each for the page; people who have not joined get a join prompt instead
    of share buttons."""
    shared = current_user.shared_item_ids([i.id for i in items])
    suggesters = suggester_names(items)
    join_first = not membership.may_share(current_user)
    # Editors see whom each item is meant for.
    audiences = audience_of([i.id for i in items]) if current_user.is_editor else {}
    return [{"item": i, "shared": i.id in shared, "suggested_by": suggesters.get(i.suggested_by_id),
             "join_first": join_first, "audience": audiences.get(i.id)} for i in items]


def _networks(person):
    """The specs of the networks whose buttons the person sees."""
    return {n: NETWORKS[n] for n in networks_of(person)}


@bp.route("/")
@login_required
def index():
    """Shareable content: tabs, live search, paging; htmx gets fragments.
    Outside a pilot's group: the pilot page."""
    if not membership.is_eligible(current_user):
        return pilot_page()
    kind, q, campaign, page, (languages, lang) = _filters()
    size = current_app.config["PAGE_SIZE"]
    query = Item.for_share_page(kind or None, q or None, campaign or None, viewer=viewer(current_user),
                                languages=languages)
    # One row more than a page tells whether there is a next page without a
    # COUNT(*) over the whole table.
    rows = list(query.offset((page - 1) * size).limit(size + 1))
    has_more = len(rows) > size
    context = {
        "cards": _cards(rows[:size]),
        "kind": kind, "q": q, "campaign": campaign, "page": page, "has_more": has_more,
        "lang": lang, "my_languages": content_languages(current_user),
        "campaigns": _campaigns(),
        "networks": _networks(current_user),
    }
    template = "share/index.html"
    if request.htmx and not request.htmx.boosted:
        # Same URL, same template: only the region htmx swaps is rendered.
        if request.htmx.target and request.htmx.target.startswith("more"):
            body = render_block(template, "more", **context)
        else:
            # A new search or campaign: the results, the tabs (their links
            # keep the search) and the count the status region announces.
            found = query.count()
            context.update(oob=True, found=ngettext("%(num)d item found.", "%(num)d items found.", found))
            body = "".join(render_block(template, block, **context) for block in ("results", "tabs", "status"))
        response = current_app.make_response(body)
    else:
        # Only a whole page shows the outcomes of suggestions, so only it
        # marks them as seen.
        context["outcomes"] = suggestion_outcomes(current_user)
        response = current_app.make_response(render_template(template, **context))
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _campaigns():
    """The campaign filter's choices: campaigns with something to share now."""
    live = Item.select(Item.campaign).where(Item.in_state("published") & Item.campaign.is_null(False))
    return list(Campaign.select(Campaign.slug, Campaign.name).where(Campaign.id.in_(live))
                .order_by(Campaign.name))


@bp.route("/items/<int:item_id>/card")
@login_required
def card(item_id):
    """One item card (htmx refreshes it after a share)."""
    item = Item.shareable(viewer=viewer(current_user)).where(Item.id == item_id).first()
    if item is None:
        abort(404)
    return render_template("share/_card.html", c=_cards([item])[0], networks=_networks(current_user))


def _qr_item(item_id):
    """The item of a QR code, for a member: 404 when it cannot be shared."""
    item = Item.shareable().where(Item.id == item_id).first()
    if item is None:
        abort(404)
    if not current_user.has_joined:
        abort(403, _("Sharing is for members of the ambassador programme."))
    return item


@bp.route("/items/<int:item_id>/qr.svg")
@login_required
def qr_code(item_id):
    """The signed-in person's own QR code for the item: their tracked link
    with utm_source=qr (tracking.qr)."""
    response = current_app.response_class(qr_svg(qr_link(current_user, _qr_item(item_id))),
                                          mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/items/<int:item_id>/qr")
@login_required
def qr_page(item_id):
    """A printable page: the item's title, the person's QR code and link."""
    item = _qr_item(item_id)
    return render_template("share/qr.html", item=item, url=qr_link(current_user, item))


@bp.route("/share/<token>", methods=["GET", "POST"])
@bp.route("/share/<token>/<network>", methods=["GET", "POST"])
@csrf.exempt  # the signed, personal token is this action's CSRF guard
def share(token, network=None):
    """Record a share and open the network's share dialog with the person's
    tracked link.

    The signed token names the person, item, network and where it was
    handed out (an e-mail's token names person, item and source, and each
    button's URL its network: ``content.sharing.item_token``): it is the
    CSRF guard of this GET, and lets a button in the digest e-mail work
    without signing in first. Tampered, expired or
    foreign tokens record nothing; a token records one share at most (a
    second use opens the network and records nothing), and of a person's
    presses on an item and network in a day only the first counts
    (``content.sharing.record_share``).
    """
    if request.method == "HEAD":
        return "", 204  # link checkers and scanners: nothing is recorded
    data = read_share_token(token, network)
    if data is None:
        return _refused(_("This share link is invalid or has expired. Open the share page to get a fresh one."))
    if data.source == PREVIEW:
        # An admin's preview of someone else's digest: the button must not
        # record a share in that person's name, nor hand out their link.
        return _refused(_("This button is from a digest preview: previews do not share or record anything."), 403)
    if data.source == "web" and (not current_user.is_authenticated or current_user.id != data.person_id):
        # A web token is only good in its owner's signed-in browser.
        return _refused(_("This share link belongs to someone else. Open the share page to share it yourself."))
    person = Person.get_or_none((Person.id == data.person_id) & (Person.is_active == True))  # noqa: E712
    item = Item.shareable().where(Item.id == data.item_id).first()
    if person is None or item is None:
        return _refused(_("This item can no longer be shared."), 410)
    if not membership.is_eligible(person):
        return pilot_page()  # outside a pilot's group: nothing recorded
    if not is_meant_for(item, person):
        # Hidden from the share page, and refused here too: a token made
        # before the audience changed records nothing.
        return _refused(_("This item is meant for another part of the company, so it cannot be shared "
                          "from your account."), 403)
    if not person.has_joined:
        return _refused(_("Sharing is for members of the ambassador programme. Joining takes a minute, "
                          "and you can leave at any time."), 403, join=True)
    network = data.network
    if (data.source in MAIL_SOURCES and request.method == "GET"
            and classify("GET", request.headers.get("User-Agent", "")) != "human"):
        # A mail-security scanner or link previewer opening every link of the
        # e-mail: record nothing; a person presses the button.
        response = current_app.make_response(render_template(
            "share/confirm.html", item=item, network=network,
            label=NETWORK_LABELS.get(network, network), action=request.url))
        response.headers["Cache-Control"] = "no-store"
        return response

    if network == "mastodon" and not person.mastodon_server:
        return _refused(_("Mastodon needs your server first: give its name on your preferences page, "
                          "then share again."), 409, preferences=True)
    caption = ""
    if network not in (COPY, DEVICE):
        # The text the network receives: the one the card showed (sent as
        # ``text`` when the person edited it or chose another suggestion),
        # else the first suggestion, as the digest's buttons have it.
        own = request.args.get("text", "")
        caption = post_text(item, network, own)
        # The person's own text is warned about, never refused for it.
        warnings = text_warnings(caption) if own.strip(SPACES) else []
        over = too_long(network, caption)
        if over or len(own) > MAX_CAPTION:
            used, limit = over or (len(own), MAX_CAPTION)
            return _refused(ngettext("This text is too long for %(network)s: %(num)d character, at most "
                                     "%(limit)d allowed. Shorten it on the share page and share again.",
                                     "This text is too long for %(network)s: %(num)d characters, at most "
                                     "%(limit)d allowed. Shorten it on the share page and share again.",
                                     used, network=NETWORK_LABELS[network], limit=limit))

    now = utcnow()
    link, _outcome = record_share(data, person, item, visitors.hash(now.date(), request.remote_addr,
                                                                    request.headers.get("User-Agent", "")), now)
    url = tracked_url(link.code)
    if network in (COPY, DEVICE):
        # The copy-link button and the phone's share sheet take the link
        # itself (the card's script hands it on).
        if request.htmx:
            return current_app.response_class(url, mimetype="text/plain")
        return render_template("share/copy.html", url=url, item=item)
    dialog = share_url(network, url, caption, item.title, server=person.mastodon_server)
    if not NETWORKS[network]["takes_text"] and not request.args.get("copied"):
        # Facebook and XING open with an empty post: first the text to
        # copy, then the way to the network (the card's script has done
        # the first step already and says so with ``copied``).
        response = current_app.make_response(render_template(
            "share/paste.html", item=item, text=caption, dialog=dialog,
            label=NETWORK_LABELS[network], network=network))
    else:
        for kind, term in warnings:
            flash(warning_message(kind, term), "warning")
        response = redirect(dialog, code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(message, status=400, join=False, preferences=False):
    return render_template("share/refused.html", message=message, join=join, preferences=preferences), status


@bp.route("/widget/latest")
@login_required
def widget_latest():
    """A small list of the newest shareable items for an intranet home page
    (``<div hx-get=".../widget/latest" hx-trigger="load">``)."""
    languages, _lang = _languages(LanguageFilterForm(request.args))
    items = list(Item.for_share_page(viewer=viewer(current_user), languages=languages).limit(5))
    return render_template("share/widget.html", items=items)


@bp.route("/language", methods=["POST"])
@login_required
def set_language():
    """Remember the person's language."""
    form = LanguageForm()
    if not form.validate():
        abort(400, form.messages["language"])
    Person.update(locale=form.language.data).where(Person.id == current_user.id).execute()
    return redirect(request.referrer if _same_origin(request.referrer) else url_for("share.index"))


def _same_origin(url):
    return bool(url) and url.startswith(request.host_url)


@bp.app_template_global()
def share_href(item, network):
    """The URL behind a share button (signed, personal)."""
    return url_for("share.share", token=share_token(current_user.id, item.id, network))


@bp.app_template_global()
def share_page_url(kind="", q="", campaign="", page=1, lang=""):
    """The share page with these filters (empty ones left out)."""
    return url_for("share.index", kind=kind or None, q=q or None, campaign=campaign or None,
                   lang=lang or None, page=page if page > 1 else None)


@bp.app_template_global()
def share_texts(item, networks):
    """The card's text boxes: networks, their names, and the suggested
    texts as they are sent."""
    return [{"networks": nets, "texts": texts, "names": ", ".join(str(NETWORK_LABELS[n]) for n in nets)}
            for nets, texts in text_groups(item, networks)]


@bp.app_template_global("text_warnings")
def text_warnings_of(text):
    """[(kind, term)] to warn about in a post's text."""
    return text_warnings(text)


@bp.app_template_global()
def warning_message(kind, term):
    """What a warning of ``text_warnings`` says."""
    if kind == "disclosure":
        return _("Your text leaves out %(disclosure)s: keep it, so readers know you work here.", disclosure=term)
    return _("Your text uses “%(word)s”, one of the words to avoid.", word=term)


@bp.app_template_global("text_rules")
def text_rules_of():
    """The disclosure and the words to avoid, for the script's live warnings."""
    return text_rules()


@bp.app_template_global()
def too_long_message(network, used, limit):
    """The card's note on a text too long for ``network``; ``used`` may be
    the placeholder the script fills in as the person types."""
    return ngettext("Too long for %(network)s: %(used)s of %(num)d character. Shorten the text to share it there.",
                    "Too long for %(network)s: %(used)s of %(num)d characters. Shorten the text to share it there.",
                    limit, network=NETWORK_LABELS[network], used=used)


@bp.app_template_global()
def post_length(network, caption):
    return caption_length(network, caption)


# What the browser needs to count a caption as the server does (base.html).
bp.add_app_template_global(CAPTION_RULES, "CAPTION_RULES")
bp.add_app_template_global(MAX_CAPTION, "MAX_CAPTION")
