"""The login throttle's table: sign-in attempts of the last minutes.

It lives in the database, so every worker process and every app server
sees the same counts. Neither the user name nor the address is stored:
both are keyed hashes (a password typed into the user-name field must not
end up in a table, and no raw IP address is ever stored).
"""

import datetime
import hashlib
import hmac

from peewee import CharField, DateTimeField

from intranet_plugin.models import BaseModel, utcnow
from sso.directory import username_key

# The address of a row that counts an attempt for a second account only:
# no address key (a hash) is ever empty.
NO_ADDRESS = ""


class Throttled(Exception):
    """Too many failed sign-ins for this account or from this address."""

    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after  # seconds


def _key(secret, kind, value):
    return hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:40]


class LoginAttempt(BaseModel):
    """One sign-in attempt that is under way or failed.

    An attempt is written *before* the directory is asked, and counted with
    the others: two workers racing with the last allowed attempt cannot both
    get through. A successful sign-in removes the account's rows; a failed
    one stays until it ages out of the window.

    The account is the typed name's ``username_key`` ("ＺＯＥ.devries" and
    "zoe.devries" are one account), and, once the directory has found the
    person, also the user name the directory gives (``also_as``): a name it
    finds by another spelling or attribute (an e-mail address, say) shares
    that person's attempts.
    """

    account = CharField(max_length=40, index=True)
    address = CharField(max_length=40, index=True)
    at = DateTimeField(index=True)
    _identity = None  # the row counting the attempt for the directory's user name

    @classmethod
    def begin(cls, secret, username, address, limits, now=None):
        """Record an attempt, or raise ``Throttled`` if one more is too many.

        ``limits`` is (per account, per address, window in minutes).
        """
        per_account, per_address, minutes = limits
        now = now or utcnow()
        cls.delete().where(cls.at <= now - datetime.timedelta(minutes=minutes)).execute()
        attempt = cls.create(account=_key(secret, "account", username_key(username)),
                             address=_key(secret, "address", address or ""), at=now)
        attempt._secret, attempt._limits = secret, limits
        attempt._refuse_beyond(cls.account, attempt.account, per_account)
        attempt._refuse_beyond(cls.address, attempt.address, per_address)
        return attempt

    def also_as(self, username):
        """The directory took the typed name for ``username``: count this
        attempt on that person's account as well, or raise ``Throttled``
        (before the password is tried) if that is one too many."""
        identity = _key(self._secret, "account", username_key(username))
        if identity == self.account:
            return
        # The address is counted once, on the attempt itself.
        self._identity = LoginAttempt.create(account=identity, address=NO_ADDRESS, at=self.at)
        self._refuse_beyond(LoginAttempt.account, identity, self._limits[0])

    def _refuse_beyond(self, field, value, limit):
        window = datetime.timedelta(minutes=self._limits[2])
        rows = LoginAttempt.select().where((LoginAttempt.at > self.at - window) & (field == value))
        if rows.count() > limit:
            self.abandoned()
            oldest = rows.order_by(LoginAttempt.at).first()
            wait = (oldest.at + window - self.at).total_seconds() if oldest else window.total_seconds()
            raise Throttled(max(1, int(wait) + 1))

    def succeeded(self):
        """The sign-in worked: the account starts again with a clean slate."""
        accounts = [self.account] + ([self._identity.account] if self._identity else [])
        LoginAttempt.delete().where(LoginAttempt.account.in_(accounts) | (LoginAttempt.id == self.id)).execute()

    def abandoned(self):
        """Nothing was tried (the directory did not answer): not a failure."""
        ids = [self.id] + ([self._identity.id] if self._identity else [])
        LoginAttempt.delete().where(LoginAttempt.id.in_(ids)).execute()
