"""People from the directory: one person on sign-in, everyone on sync.

``sync_users()`` (``ambassador sync-users``, and the nightly job) creates
and updates people and deactivates those who left. Leavers keep their rows:
their tracked links keep redirecting and their history stays in the
programme totals; they just get no digest and cannot sign in.
"""

from dataclasses import dataclass, field

from flask import current_app
from peewee import fn

from intranet_plugin.models import Person, db, utcnow
from sso.directory import Directory, IncompleteRead
from sso.roles import role_from_directory

# A read that would deactivate more people than this (and more than this
# share of the active ones) is taken for a directory or configuration
# accident, not a wave of leavers: refused unless forced.
MASS_LEAVERS = 10
MASS_SHARE = 0.25


def directory():
    """The directory of the current app."""
    return Directory(current_app.config)


def group_usernames(group_dn):
    """The user names of a directory group's members (to invite them);
    ``DirectoryUnavailable``/``IncompleteRead`` when it cannot be read."""
    return directory().group_usernames(group_dn)


def find_person(username):
    """The person with this user name (exact, else ignoring case)."""
    person = Person.get_or_none(Person.username == username)
    if person is None:
        person = (Person.select().where(fn.LOWER(Person.username) == username.lower())
                  .order_by(Person.id).first())
    return person


def _fields(entry, current_role, config):
    return {
        "display_name": (entry.display_name or entry.username)[:255],
        "email": entry.email[:255],
        "department": entry.department[:255],
        "role": role_from_directory(current_role, entry, config["LDAP_ADMIN_GROUP"].strip(),
                                    config["LDAP_EDITOR_GROUP"].strip()),
        "groups": list(entry.groups),
        "is_active": True,
        "eligible": entry.is_eligible,
    }


def upsert_person(entry, config=None, checked_at=None):
    """Create or update the person a directory entry describes; returns it.
    ``checked_at``: when the directory said whether they are in the member
    group (sign-in: now; the sync stamps everyone at once)."""
    config = config or current_app.config
    with db.atomic():
        person = find_person(entry.username)
        if person is None:
            fields = _fields(entry, "employee", config)
            return Person.create(username=entry.username[:255], eligible_checked_at=checked_at, **fields)
        fields = _fields(entry, person.role, config)
        if checked_at is not None:
            fields["eligible_checked_at"] = checked_at
        changed = {k: v for k, v in fields.items() if getattr(person, k) != v}
        if changed:
            for name, value in changed.items():
                setattr(person, name, value)
            person.save(only=list(changed))
        return person


@dataclass
class SyncReport:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    reactivated: list = field(default_factory=list)
    deactivated: list = field(default_factory=list)
    unchanged: int = 0

    def summary(self):
        return (f"{len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.reactivated)} reactivated, {len(self.deactivated)} deactivated, "
                f"{self.unchanged} unchanged")


class SyncRefused(Exception):
    """The directory's answer does not look like the whole company."""


def sync_users(dry_run=False, force=False):
    """Bring people in line with the directory. The directory is read
    completely first; any failure raises before anything is changed
    (``DirectoryUnavailable``, ``IncompleteRead``, ``SyncRefused``)."""
    config = current_app.config
    entries = directory().everyone()
    if not entries:
        raise IncompleteRead("the directory returned nobody for the user filter under "
                             f"{config['LDAP_USER_BASE']!r}")
    by_name = {}
    for entry in entries:
        by_name.setdefault(entry.username.lower(), entry)

    report = SyncReport()
    active = list(Person.active())
    leavers = [p for p in active if p.username.lower() not in by_name]
    if (not force and len(leavers) > MASS_LEAVERS and len(leavers) > MASS_SHARE * len(active)):
        raise SyncRefused(f"{len(leavers)} of {len(active)} active people are not in the directory; "
                          "that looks like a wrong LDAP setting rather than leavers. Nothing was "
                          "changed. Check the settings, or run with --force if it is right.")
    with db.atomic() as transaction:
        for entry in by_name.values():
            person = find_person(entry.username)
            if person is None:
                upsert_person(entry, config)
                report.created.append(entry.username)
                continue
            was_active = person.is_active
            before = {k: getattr(person, k)
                      for k in ("display_name", "email", "department", "role", "eligible", "groups")}
            person = upsert_person(entry, config)
            if not was_active:
                report.reactivated.append(person.username)
            elif before != {k: getattr(person, k) for k in before}:
                report.updated.append(person.username)
            else:
                report.unchanged += 1
        # Whether each is in the member group was read just now.
        Person.update(eligible_checked_at=utcnow()).where(Person.is_active == True).execute()  # noqa: E712
        if leavers:
            Person.update(is_active=False).where(Person.id.in_([p.id for p in leavers])).execute()
            report.deactivated = [p.username for p in leavers]
        if dry_run:
            transaction.rollback()
    return report
