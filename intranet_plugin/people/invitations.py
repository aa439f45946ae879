"""Personal invitations to join: the programme lead picks people (by
department, by directory group, or a pasted list of user names) and sends
each an e-mail with a one-click join link.

The rules, in one place:

- Only people who may take part (``membership.is_eligible``), have not
  joined, have an address, and were not invited in the last
  ``INVITE_AGAIN_AFTER`` days are invited.
- People who left the programme are never invited again, unless they asked
  for it (the lead names them in the pasted list and says so).
- Each sending is a round of the exactly-once mail ledger (kind
  "invitation", the round's id as its period): sending the same round twice
  (a double press, a rerun after a crash) sends nobody two.
- The join link is signed, personal (it names the person and the
  invitation) and expires after ``LINK_AGE``.
"""

import datetime
import functools
import logging
import re
import uuid
from dataclasses import dataclass, field

from flask import current_app, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from peewee import JOIN, fn

from digest.delivery import deliver
from digest.render import locale_of, templates
from intranet_plugin.mail.ledger import Ledger, SendLease
from intranet_plugin.mail.links import mail_context
from intranet_plugin.mail.message import build_message, sender_domain
from intranet_plugin.mail.smtp import Mailer, MailServerUnavailable, NoAddress  # noqa: F401 (NoAddress: what send_test raises)
from intranet_plugin.mail.smtp import send_test as mail_test
from intranet_plugin.models import AuditLog, Invitation, Person, utcnow
from intranet_plugin.people import membership

log = logging.getLogger(__name__)

INVITE_AGAIN_AFTER = datetime.timedelta(days=30)
LINK_AGE = 30 * 24 * 3600
MAX_NAMES = 2000
ROUND = re.compile(r"^[0-9a-f]{32}$")

LISTED = 500  # eligible people listed on the admin page; the rest are counted


def reason_labels():
    """Why someone picked is not invited, in words (the preview)."""
    return {
        "member": _("a member already"),
        "invited": ngettext("invited in the last %(num)d day", "invited in the last %(num)d days",
                            INVITE_AGAIN_AFTER.days),
        "left": _("left the programme (invited again only if they ask)"),
        "not_eligible": _("not in the pilot group"),
        "no_email": _("no e-mail address in the directory"),
        "inactive": _("no longer in the directory"),
    }


def departments():
    """The departments of the people who may take part, for the picker."""
    query = (membership.eligible_people().select(Person.department).distinct()
             .where(Person.department != "").order_by(Person.department))
    return [row.department for row in query]


@dataclass
class Overview:
    eligible: int
    members: int
    people: list  # the first LISTED eligible people, each with .invited_at (last invitation)


def eligibility_overview():
    """Who may take part (the whole company, or the pilot group): how many,
    how many joined, and the people with their last invitation."""
    eligible = membership.eligible_people()
    total = eligible.count()
    members = membership.sharing_members().count()
    people = list(eligible.select_extend(fn.MAX(Invitation.created_at).alias("invited_at"))
                  .join(Invitation, JOIN.LEFT_OUTER, on=(Invitation.person == Person.id))
                  .group_by(Person.id).order_by(Person.department, Person.display_name, Person.id).limit(LISTED))
    return Overview(total, members, people)


def new_round():
    """The id of one sending: the preview carries it to the send button."""
    return uuid.uuid4().hex


def valid_round(text):
    return bool(ROUND.match(text or ""))


# -- the join link ----------------------------------------------------------------

def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="ambassador.join")


def join_token(invitation):
    """The signed, personal part of an invitation's join link."""
    return _serializer().dumps([invitation.person_id, invitation.nonce])


class BadLink(Exception):
    """A join link that cannot be used: ``reason`` is "invalid" (tampered or
    unknown), "expired" or "foreign" (someone else's)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def read_join_token(token, person):
    """The Invitation a join link stands for, if it is ``person``'s and
    still valid; else ``BadLink``."""
    try:
        person_id, nonce = _serializer().loads(token, max_age=LINK_AGE)
    except SignatureExpired:
        raise BadLink("expired") from None
    except (BadSignature, ValueError, TypeError):
        raise BadLink("invalid") from None
    if not isinstance(person_id, int) or not isinstance(nonce, str):
        raise BadLink("invalid")
    if person_id != person.id:
        raise BadLink("foreign")
    invitation = Invitation.get_or_none((Invitation.person == person_id) & (Invitation.nonce == nonce))
    if invitation is None:
        raise BadLink("invalid")
    return invitation


# -- who is invited -----------------------------------------------------------------

@dataclass
class Selection:
    """The people a choice names, split into those to invite and those
    left out (with the reason), plus user names nobody has."""

    invite: list = field(default_factory=list)
    left_out: list = field(default_factory=list)  # (person, reason)
    unknown: list = field(default_factory=list)


def recently_invited(now=None, round_id=""):
    """Ids of people invited in the last INVITE_AGAIN_AFTER (by another
    round than ``round_id``)."""
    since = (now or utcnow()) - INVITE_AGAIN_AFTER
    query = Invitation.select(Invitation.person).where((Invitation.created_at > since)
                                                       & (Invitation.round != round_id))
    return {row.person_id for row in query}


def reason_left_out(person, invited, asked=False):
    """Why ``person`` is not invited now, or None."""
    if not person.is_active:
        return "inactive"
    if person.has_joined:
        return "member"
    if not membership.is_eligible(person):
        return "not_eligible"
    if person.left_at is not None and not asked:
        return "left"
    if person.id in invited:
        return "invited"
    if not person.email:
        return "no_email"
    return None


def parse_names(text):
    """User names from a pasted list: one per line, or separated by commas,
    semicolons or blanks."""
    seen, names = set(), []
    for name in re.split(r"[\s,;]+", text or ""):
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names[:MAX_NAMES]


def select(department="", group_usernames=None, usernames=(), asked=False, round_id="", now=None):
    """The Selection for a department, the user names of a directory group,
    and/or a pasted list of user names (``asked``: the people who left and
    are named in the list asked to be invited again)."""
    invited = recently_invited(now, round_id)
    picked, unknown, named = {}, [], set()
    if department:
        for person in Person.active().where(Person.department == department):
            picked[person.id] = person
    for source, names in (("group", group_usernames or ()), ("list", usernames)):
        if not names:
            continue
        folded = {n.casefold(): n for n in names}
        found = {p.username.casefold(): p for p in
                 Person.select().where(fn.LOWER(Person.username).in_([n.lower() for n in names]))}
        for key, name in folded.items():
            person = found.get(key)
            if person is None:
                if source == "list":
                    unknown.append(name)
                continue
            picked[person.id] = person
            if source == "list":
                named.add(person.id)
    selection = Selection(unknown=unknown)
    for person in sorted(picked.values(), key=lambda p: (p.display_name.casefold(), p.id)):
        reason = reason_left_out(person, invited, asked and person.id in named)
        if reason is None:
            selection.invite.append(person)
        else:
            selection.left_out.append((person, reason))
    return selection


# -- the message ----------------------------------------------------------------------

def message_id(invitation, config):
    return f"<invitation.{invitation.round}.{invitation.person_id}@{sender_domain(config['MAIL_FROM'])}>"


def render(person, inviter, link, app):
    """(subject, html, text) of an invitation, in the person's language."""
    locale = locale_of(person)
    with force_locale(locale):
        inviter_name = inviter.display_name if inviter is not None else _("The programme lead")
        subject = _("%(name)s invites you to Ambassador", name=inviter_name)
        context = {
            "lang": locale,
            "subject": subject,
            "preheader": _("Share our news with your own network, in your own words. Joining takes a minute."),
            "name": person.display_name,
            "inviter": inviter_name,
            "link": link,
            "days": LINK_AGE // (24 * 3600),
        }
        compiled = templates(app)[locale]
        return subject, compiled.invitation_html.render(context), compiled.invitation_text.render(context)


def _link(invitation):
    return url_for("programme.join_invited", token=join_token(invitation), _external=True)


def preview(app, person, inviter):
    """(subject, html, text) of the invitation ``person`` would get; its
    link is an example that opens nothing. Nothing is recorded."""
    with mail_context(app):
        example = url_for("programme.join_invited", token="example", _external=True)
        return render(person, inviter, example, app)


def send_test(app, inviter):
    """Send the invitation to the lead's own address, marked as a test
    (mail.smtp.send_test): its join link opens nothing, nothing is
    recorded. Returns the subject."""
    subject, html, text = preview(app, inviter, inviter)
    note = _l("This is a test: the invitation as it will be sent. Its join link opens nothing.")
    return mail_test(inviter, subject, text, html, note, config=app.config, language=locale_of(inviter))


# -- sending ----------------------------------------------------------------------------

@dataclass
class Report:
    sent: int = 0
    earlier: int = 0  # done by an earlier press of the same round
    busy: int = 0  # another sender has them right now
    failed: int = 0
    deferred: int = 0
    left_out: int = 0  # no longer to be invited when the round ran (joined, invited elsewhere ...)
    error: str = ""
    notes: list = field(default_factory=list)  # (username, why it failed)

    def note(self, username, text):
        self.notes.append((username, text))


def send(app, people, inviter, round_id, *, mailer=None, now=None):
    """Invite ``people`` (``select(...).invite``) in round ``round_id``:
    each is handed over in the mail ledger right before their message goes
    to the server, so a round sent twice invites nobody twice. Returns a
    Report."""
    report = Report()
    ledger = Ledger("invitation", period=round_id)
    config = app.config
    # One sender of invitations at a time, as for every kind of mail: its
    # rows between hand-over and verdict are then its work in progress, not
    # messages in doubt for the operator to settle.
    send_lease = SendLease("invitation", ledger.owner)
    if not send_lease.acquire():
        report.error = _("Another round of invitations is being sent right now; try again in a minute.")
        return report
    with mail_context(app):
        invited = recently_invited(now, round_id)
        own = mailer is None
        try:
            mailer = mailer or Mailer.from_config(config)
            for person in people:
                person = Person.get_by_id(person.id)  # as it is now
                row = ledger.rows([person.id]).get(person.id)
                state = ledger.state(row)
                if state == "done":
                    report.earlier += 1
                    continue
                if state == "doubt":  # handed over by a run that stopped: the operator decides
                    report.busy += 1
                    continue
                # Joined or invited elsewhere since the preview? (Leavers were
                # let through by ``select`` only if they asked.)
                if reason_left_out(person, invited, asked=True) is not None:
                    report.left_out += 1
                    continue
                invitation = Invitation.get_or_none((Invitation.person == person) & (Invitation.round == round_id))
                if invitation is None:
                    invitation = Invitation(person=person, invited_by=inviter, round=round_id,
                                            created_at=now or utcnow())
                # The person is claimed only as the message goes out (the
                # ledger's rule: nobody is claimed ahead of their message),
                # their Invitation saved with the claim.
                try:
                    verdict = deliver(mailer, ledger, person.id, state == "retry",
                                      functools.partial(_message, app, person, inviter, invitation),
                                      message_id(invitation, config), report, name=person.username,
                                      what="invitation", send_lease=send_lease, handed_over=invitation.save)
                except MailServerUnavailable as exc:
                    _forget(invitation)
                    report.error = str(exc)
                    break
                if verdict == "sent":
                    Invitation.update(sent_at=utcnow()).where(Invitation.id == invitation.id).execute()
                elif verdict in ("failed", "deferred"):
                    # Not invited: the next round may invite them (and this
                    # round, sent again, retries a temporary failure).
                    _forget(invitation)
        finally:
            send_lease.release()
            if own and mailer is not None:
                mailer.close()
    if report.sent:
        AuditLog.record(inviter, "invite", inviter, summary=f"{report.sent} invitation(s)", round=round_id,
                        sent=report.sent)
    return report


def _message(app, person, inviter, invitation):
    subject, html, text = render(person, inviter, _link(invitation), app)
    return build_message(app.config["MAIL_FROM"], (person.display_name, person.email), subject, text, html,
                         {"Auto-Submitted": "auto-generated"}, message_id(invitation, app.config),
                         language=locale_of(person))


def _forget(invitation):
    """An invitation whose message did not go out is not kept."""
    if invitation.id is not None:
        invitation.delete_instance()
