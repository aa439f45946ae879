"""The words shown for codes: kinds of content, item states, editor
actions and networks. One registry for pages, e-mails and exports.

The translations are lazy: each label is looked up in the reader's
language when it is shown, so these tables are built once, at import.
Templates reach them as globals (``KIND_LABELS``, ``STATE_LABELS``, …,
see ``init_app``); Python code imports them from here.
"""

from flask_babel import lazy_gettext as _l

# One item of a kind: a card's badge, the editor's choice.
KIND_LABELS = {"news": _l("News"), "vacancy": _l("Vacancy"), "blog": _l("Blog")}
# Items of a kind together: tabs, filters, followed kinds, figures.
KIND_PLURAL_LABELS = {"news": _l("News"), "vacancy": _l("Vacancies"), "blog": _l("Blogs")}

# What an item is for the people on the share page (see Item.state).
STATE_LABELS = {"draft": _l("Draft"), "review": _l("In review"), "scheduled": _l("Scheduled"),
                "published": _l("Published"), "expired": _l("Expired"), "archived": _l("Archived")}

# The editor's buttons (see content.items).
ACTION_LABELS = {"publish": _l("Publish now"), "expire": _l("Expire now"), "pin": _l("Pin"),
                 "unpin": _l("Unpin"), "archive": _l("Archive"), "restore": _l("Restore"),
                 "share-now": _l("Share now: send an instant alert")}

# What the audit log says was done.
AUDIT_LABELS = {"create": _l("Created"), "change": _l("Changed"), "publish": _l("Published"),
                "schedule": _l("Scheduled"), "pin": _l("Pinned"), "unpin": _l("Unpinned"),
                "archive": _l("Archived"), "restore": _l("Restored"), "expire": _l("Expired")}

# The networks by their own names; "link" is the copy-link button.
NETWORK_LABELS = {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook", "xing": "XING",
                  "bluesky": "Bluesky", "threads": "Threads", "mastodon": "Mastodon", "telegram": "Telegram",
                  "whatsapp": "WhatsApp", "email": _l("E-mail"), "link": _l("Copied link"),
                  "device": _l("Phone's share sheet"), "qr": _l("QR code")}


def translated(labels):
    """``labels`` in the current language as plain strings: for a message
    that repeats them many times."""
    return {code: str(label) for code, label in labels.items()}


def init_app(app):
    app.jinja_env.globals.update(KIND_LABELS=KIND_LABELS, KIND_PLURAL_LABELS=KIND_PLURAL_LABELS,
                                 STATE_LABELS=STATE_LABELS, ACTION_LABELS=ACTION_LABELS,
                                 AUDIT_LABELS=AUDIT_LABELS, NETWORK_LABELS=NETWORK_LABELS)
