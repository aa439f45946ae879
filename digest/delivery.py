"""One message of a round sent under the exactly-once mail ledger (see
intranet_plugin.mail.ledger): built first, handed over (the recipient's row
written) right before it goes to the server, settled with its outcome.
Reminders, instant alerts and invitations send each of their messages so.
"""

import logging

from intranet_plugin.mail.ledger import TEMPORARY
from intranet_plugin.mail.smtp import MailServerUnavailable, PermanentFailure, Taken, TemporaryFailure
from intranet_plugin.models import db

log = logging.getLogger(__name__)


def deliver(mailer, ledger, recipient, retry, build, message_id, report, *, name, what,
            send_lease=None, handed_over=None):
    """Build the message (``build()``), hand it to ``mailer`` and settle
    ``recipient``'s row in ``ledger``; ``retry``: the row is a temporary
    failure taken again. ``message_id`` is recorded on the row at hand-over;
    ``send_lease`` (a SendLease) is renewed right before; ``handed_over()``,
    if given, runs in the hand-over's transaction (it records what goes
    with the message).

    The verdict, "sent", "busy" (another sender has the recipient), "failed"
    (refused for good, or the message could not be built) or "deferred" (a
    temporary failure: the next run tries again), is counted on ``report``
    (its attribute of that name; a failure's reason goes to
    ``report.note(name, text)``) and returned. MailServerUnavailable is
    raised after the recipient's claim is released (nothing went out).
    ``what`` names the message in the log ("reminder 2026-04")."""
    try:
        message = build()
    except Exception as exc:  # one broken message must not stop the others
        log.exception("%s to %s could not be built", what, name)
        ledger.settle(recipient, f"could not be built: {exc}", retry)
        return _count(report, name, "failed", f"could not be built: {exc}")

    def hand_over():
        if send_lease is not None:
            send_lease.keep()
        if handed_over is None:
            return ledger.hand_over(recipient, retry, message_id=message_id)
        with db.atomic():
            if not ledger.hand_over(recipient, retry, message_id=message_id):
                return False
            handed_over()
        return True

    try:
        outcome = mailer.send(message, hand_over)
    except Taken:
        return _count(report, name, "busy")
    except PermanentFailure as exc:
        outcome, verdict, note = exc, "failed", str(exc)
    except TemporaryFailure as exc:
        outcome, verdict, note = exc, "deferred", TEMPORARY + str(exc)
    except MailServerUnavailable:
        ledger.release([recipient])
        raise
    else:
        verdict, note = "sent", ""
    ledger.settle(recipient, outcome, retry)
    return _count(report, name, verdict, note)


def _count(report, name, verdict, note=""):
    setattr(report, verdict, getattr(report, verdict) + 1)
    if note:
        report.note(name, note)
    return verdict
