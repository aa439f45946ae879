"""The links in the digest and the alerts (made inside
``intranet_plugin.mail.links.mail_context``), and the signed unsubscribe
tokens."""

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from intranet_plugin.content.sharing import item_token

LISTS = ("digest", "alerts", "reminders")
_PLACEHOLDER = "__TOKEN__"
_NETWORK = "__NETWORK__"


def _unsubscribe_serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="ambassador.unsubscribe")


def unsubscribe_token(person_id, list_name="digest"):
    """A signed token that turns off one kind of mail for one person.

    It does not expire: RFC 8058 asks that the link in a message keep
    working, and the worst a leaked token can do is stop that person's mail.
    """
    return _unsubscribe_serializer().dumps([person_id, list_name])


def read_unsubscribe_token(token):
    """(person_id, list_name), or None for a tampered or foreign token."""
    try:
        person_id, list_name = _unsubscribe_serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if list_name not in LISTS or not isinstance(person_id, int):
        return None
    return person_id, list_name


class MailLinks:
    """The URLs a message needs, made inside ``mail_context``.

    Routing is done once per run: a digest has some fifty share buttons,
    and each differs from the next only by its item's signed token, which
    is URL-safe, so it is put into the routed URL as it is, and by the
    network at the end.
    """

    def __init__(self, source="digest"):
        # Where the share buttons are handed out (``content.sharing.LIFETIMES``):
        # "digest", "alert", "reminder", or "preview", whose buttons record nothing.
        self.source = source
        self._share = self._split(url_for("share.share", token=_PLACEHOLDER, network=_NETWORK, _external=True))
        if not self._share[1].endswith(_NETWORK) or _NETWORK in self._share[0]:
            raise RuntimeError("a share button's URL must end with its network")
        self._share = (self._share[0], self._share[1][:-len(_NETWORK)])
        self._unsubscribe = self._split(url_for("mail.unsubscribe", token=_PLACEHOLDER, _external=True))
        self.share_page = url_for("share.index", _external=True)
        self.preferences = url_for("programme.preferences", _external=True)

    @staticmethod
    def _split(url):
        before, found, after = url.partition(_PLACEHOLDER)
        if not found or _PLACEHOLDER in after:
            raise RuntimeError(f"cannot template {url!r}")
        return before, after

    def share(self, person_id, item_id):
        """The one-click share buttons of an item: each button's URL is this
        and its network. Signed once (``content.sharing.item_token``),
        expiring, bound to the person and the item; each button records one
        share at most."""
        before, after = self._share
        return before + item_token(person_id, item_id, self.source) + after

    def unsubscribe(self, person_id, list_name="digest"):
        before, after = self._unsubscribe
        return before + unsubscribe_token(person_id, list_name) + after
