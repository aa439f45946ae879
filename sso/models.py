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
    """

    account = CharField(max_length=40, index=True)
    address = CharField(max_length=40, index=True)
    at = DateTimeField(index=True)

    @classmethod
    def begin(cls, secret, username, address, limits, now=None):
        """Record an attempt, or raise ``Throttled`` if one more is too many.

        ``limits`` is (per account, per address, window in minutes).
        """
        per_account, per_address, minutes = limits
        now = now or utcnow()
        window = datetime.timedelta(minutes=minutes)
        cls.delete().where(cls.at <= now - window).execute()
        attempt = cls.create(account=_key(secret, "account", username.casefold()),
                             address=_key(secret, "address", address or ""), at=now)
        recent = cls.select().where(cls.at > now - window)
        for field, value, limit in ((cls.account, attempt.account, per_account),
                                    (cls.address, attempt.address, per_address)):
            rows = recent.where(field == value)
            if rows.count() > limit:
                attempt.delete_instance()
                oldest = rows.order_by(cls.at).first()
                wait = (oldest.at + window - now).total_seconds() if oldest else window.total_seconds()
                raise Throttled(max(1, int(wait) + 1))
        return attempt

    def succeeded(self):
        """The sign-in worked: the account starts again with a clean slate."""
        LoginAttempt.delete().where((LoginAttempt.account == self.account)
                                    | (LoginAttempt.id == self.id)).execute()

    def abandoned(self):
        """Nothing was tried (the directory did not answer): not a failure."""
        self.delete_instance()
