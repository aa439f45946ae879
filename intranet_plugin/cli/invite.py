"""``ambassador invite``: the programme lead's invitations from the command
line, for a large department or group (the admin page sends within one
request). The same rules and ledger as the page."""

import click
from flask import current_app
from flask.cli import with_appcontext

from sso.directory import DirectoryUnavailable


@click.command("invite")
@click.option("--department", default="", help="Everyone in this department (as the directory names it).")
@click.option("--group", default="", help="The members of this directory group (its DN).")
@click.option("--user", "users", multiple=True, help="A user name; repeat for more.")
@click.option("--asked", is_flag=True, help="People named with --user who left the programme asked to be "
                                            "invited again.")
@click.option("--by", "lead", required=True, help="The user name of the programme lead who invites.")
@click.option("--dry-run", is_flag=True, help="Show who would be invited; send nothing.")
@with_appcontext
def invite_command(department, group, users, asked, lead, dry_run):
    """Invite people to join: a personal e-mail with a one-click join link.
    Nobody is invited twice in 30 days; people who left only if they asked."""
    from intranet_plugin.mail.smtp import MailError
    from intranet_plugin.models import Person
    from intranet_plugin.people import invitations
    from sso.sync import find_person, group_usernames

    inviter = find_person(lead)
    if inviter is None or not inviter.is_active or inviter.role != "admin":
        raise click.ClickException(f"{lead!r} is not an active programme lead (admin).")
    if not (department or group or users):
        raise click.ClickException("Name a --department, a --group or at least one --user.")
    if department and not Person.active().where(Person.department == department).exists():
        raise click.ClickException(f"Nobody is in the department {department!r}.")
    names = None
    if group:
        if current_app.config["AUTH"] not in ("ldap", "header"):
            raise click.ClickException("--group needs AMBASSADOR_AUTH=ldap or header.")
        try:
            names = group_usernames(group)
        except DirectoryUnavailable as exc:
            raise click.ClickException(f"The group could not be read: {exc}") from None
    round_id = invitations.new_round()
    selection = invitations.select(department, names, list(users), asked, round_id)
    labels = invitations.reason_labels()
    for person, reason in selection.left_out:
        click.echo(f"Not invited: {person.username} ({labels[reason]})")
    if selection.unknown:
        click.echo(f"Unknown user names: {', '.join(selection.unknown)}")
    if dry_run:
        click.echo(f"Dry run: would invite {len(selection.invite)}: "
                   f"{', '.join(p.username for p in selection.invite) or '-'}")
        return
    try:
        report = invitations.send(current_app._get_current_object(), selection.invite, inviter, round_id)
    except MailError as exc:
        raise click.ClickException(f"No invitation sent: {exc}") from None
    click.echo(f"Invitations: {report.sent} sent, {report.failed} failed, {report.deferred} deferred, "
               f"{report.left_out} no longer to be invited.")
    if report.error:
        raise click.ClickException(f"Sending stopped: {report.error}. Run again to continue; nobody gets two.")
