"""Links in e-mails: built against AMBASSADOR_BASE_URL (the intranet address
people reach), never against whatever host a request came in on, and the
signed unsubscribe tokens."""

import hashlib
import hmac
import json
import time
from contextlib import contextmanager

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes

LISTS = ("digest", "alerts")
_PLACEHOLDER = "__TOKEN__"


@contextmanager
def mail_context(app):
    """A request context on BASE_URL, so ``url_for(..., _external=True)``
    gives the intranet's address (also inside another request)."""
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        yield


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


class ShareTokens:
    """``share_token(person, item, network, "email")``, fast, for a whole run.

    The tokens are byte for byte those of intranet_plugin.sharing (its
    itsdangerous URL-safe timed serializer with the default key derivation:
    base64 JSON, a base64 timestamp, HMAC-SHA1 under sha1(salt + "signer" +
    secret)); the tests check them against share_token and read_share_token.
    Made here with the key derived once, rather than a serializer, a signer
    and a key per token, they cost a third: a digest has some fifty of them,
    and they were a quarter of the time it took to build one.
    """

    SALT = b"ambassador.share"

    def __init__(self, secret_key):
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self._key = hashlib.sha1(self.SALT + b"signer" + secret).digest()

    def __call__(self, person_id, item_id, network):
        payload = json.dumps([person_id, item_id, network, "email"], separators=(",", ":")).encode()
        value = base64_encode(payload) + b"." + base64_encode(int_to_bytes(int(time.time())))
        return (value + b"." + base64_encode(hmac.new(self._key, value, "sha1").digest())).decode("ascii")


class MailLinks:
    """The URLs a message needs, made inside ``mail_context``.

    Routing is done once per run: a digest has some fifty share buttons,
    and each differs from the next only by its signed token, which is
    URL-safe, so it is put into the routed URL as it is.
    """

    def __init__(self):
        self._token = ShareTokens(current_app.config["SECRET_KEY"])
        self._share = self._split(url_for("share.share", token=_PLACEHOLDER, via="email", _external=True))
        self._unsubscribe = self._split(url_for("mail.unsubscribe", token=_PLACEHOLDER, _external=True))
        self.share_page = url_for("share.index", _external=True)
        self.preferences = url_for("programme.preferences", _external=True)

    @staticmethod
    def _split(url):
        before, found, after = url.partition(_PLACEHOLDER)
        if not found or _PLACEHOLDER in after:
            raise RuntimeError(f"cannot template {url!r}")
        return before, after

    def share(self, person_id, item_id, network):
        """The one-click share button: signed, expiring, bound to the person,
        the item and the network."""
        before, after = self._share
        return before + self._token(person_id, item_id, network) + after

    def unsubscribe(self, person_id, list_name="digest"):
        before, after = self._unsubscribe
        return before + unsubscribe_token(person_id, list_name) + after
