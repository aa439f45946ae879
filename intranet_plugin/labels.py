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

# What the audit log says was done: every action AuditLog.record is given
# (tests/test_labels.py finds them in the code and checks they are here).
AUDIT_LABELS = {"create": _l("Created"), "change": _l("Changed"), "publish": _l("Published"),
                "schedule": _l("Scheduled"), "pin": _l("Pinned"), "unpin": _l("Unpinned"),
                "archive": _l("Archived"), "restore": _l("Restored"), "expire": _l("Expired"),
                "update": _l("Updated"), "delete": _l("Deleted"), "import": _l("Imported"),
                "suggest": _l("Suggested"), "approve": _l("Approved"), "reject": _l("Rejected"),
                "draw": _l("Prize draw"), "revoke": _l("Revoked"), "erase": _l("Data deleted"),
                "join": _l("Joined"), "leave": _l("Left"), "preferences": _l("Preferences changed"),
                "unsubscribe": _l("Unsubscribed"), "share-now": _l("Instant alert sent"),
                "invite": _l("Invitations sent"), "name-lead": _l("Team lead named"),
                "remove-lead": _l("Team lead removed"), "resolve-mail": _l("Message in doubt settled")}
# What an audit entry is about (AuditLog.target_type, a model's name).
AUDIT_TARGET_LABELS = {"item": _l("item"), "campaign": _l("campaign"), "feed": _l("feed"),
                       "setting": _l("setting"), "person": _l("person"), "suggestion": _l("suggestion"),
                       "apikey": _l("API key"), "prizedraw": _l("prize draw"), "mailledger": _l("e-mail")}
# Codes an audit entry keeps as its summary: a setting's key, a mailing list.
AUDIT_SUMMARY_LABELS = {"guidelines": _l("Guidelines"), "leaderboard_people_enabled": _l("People leaderboards"),
                        "digest": _l("the weekly digest"), "alerts": _l("instant alerts")}

# The kinds of mail sent in rounds (MailLedger.kind).
MAIL_KIND_LABELS = {"digest": _l("Weekly digest"), "alert": _l("Instant alert"), "reminder": _l("Monthly reminder"),
                    "report": _l("Monthly report"), "invitation": _l("Invitation")}

# The networks by their own names; "link" is the copy-link button.
NETWORK_LABELS = {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook", "xing": "XING",
                  "bluesky": "Bluesky", "threads": "Threads", "mastodon": "Mastodon", "telegram": "Telegram",
                  "whatsapp": "WhatsApp", "email": _l("E-mail"), "link": _l("Copied link"),
                  "device": _l("Phone's share sheet"), "qr": _l("QR code")}


def translated(labels):
    """``labels`` in the current language as plain strings: for a message
    that repeats them many times."""
    return {code: str(label) for code, label in labels.items()}


# Milestones a person reached (see analytics.milestones).
MILESTONE_LABELS = {
    "first_share": _l("First share"),
    "first_click": _l("First click on a link you shared"),
    "points_10": _l("10 points"),
    "points_100": _l("100 points"),
    "points_1000": _l("1,000 points"),
    "first_applicant": _l("First applicant through your link"),
    "streak_4": _l("4 weeks in a row with visitors"),
    "streak_12": _l("12 weeks in a row with visitors"),
}


def init_app(app):
    app.jinja_env.globals.update(KIND_LABELS=KIND_LABELS, KIND_PLURAL_LABELS=KIND_PLURAL_LABELS,
                                 STATE_LABELS=STATE_LABELS, ACTION_LABELS=ACTION_LABELS,
                                 AUDIT_LABELS=AUDIT_LABELS, AUDIT_TARGET_LABELS=AUDIT_TARGET_LABELS,
                                 AUDIT_SUMMARY_LABELS=AUDIT_SUMMARY_LABELS, NETWORK_LABELS=NETWORK_LABELS,
                                 MILESTONE_LABELS=MILESTONE_LABELS)
