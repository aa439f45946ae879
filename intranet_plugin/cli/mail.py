"""``ambassador mail doubts|resolve``: messages in doubt, settled by the
operator (see intranet_plugin.mail.ledger)."""

import click
from flask.cli import with_appcontext

from intranet_plugin.mail import ledger

KINDS = ("digest", "alert", "report")


@click.group("mail", help="Mail sent in rounds (digest, alerts, report): messages in doubt.")
def mail_group():
    pass


@mail_group.command("doubts")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Only this kind of mail.")
@with_appcontext
def doubts_command(kind):
    """List the messages whose sender stopped while handing them to the
    mail server: whether they went out is unknown, and no run sends them
    again until you say."""
    rows = ledger.doubts(kind)
    if not rows:
        click.echo("No message is in doubt.")
        return
    click.echo(f"{len(rows)} in doubt. Check the mail server's log for each (Message-ID given), then run "
               "`ambassador mail resolve --sent NAME` or `--resend NAME`:")
    for row in rows:
        click.echo(f"  {row.kind} {ledger.round_name(row)} {ledger.recipient_name(row)}: handed over "
                   f"{row.claimed_at:%Y-%m-%d %H:%M:%S} UTC by {row.claimed_by}, Message-ID {row.message_id or '?'}")


@mail_group.command("resolve")
@click.argument("name")
@click.option("--sent", "verdict", flag_value="sent", help="The mail server's log shows it went out.")
@click.option("--resend", "verdict", flag_value="resend", help="It did not go out: the next run sends it.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="The kind of mail, when NAME has several.")
@click.option("--round", "round_", default=None, metavar="ROUND",
              help="The week (2026-W05), item id or month (2026-04), when NAME has several.")
@with_appcontext
def resolve_command(name, verdict, kind, round_):
    """Settle the message in doubt to NAME (a user name, or the address of
    a report recipient)."""
    if verdict is None:
        raise click.UsageError("Say what the mail server's log shows: --sent or --resend.")
    rows = [row for row in ledger.doubts(kind) if ledger.recipient_name(row).lower() == name.lower()
            and (round_ is None or ledger.round_name(row) == round_)]
    if not rows:
        raise click.ClickException(f"No message to {name!r} is in doubt (see `ambassador mail doubts`).")
    if len(rows) > 1:
        rounds = ", ".join(f"--kind {row.kind} --round {ledger.round_name(row)}" for row in rows)
        raise click.ClickException(f"{len(rows)} messages to {name!r} are in doubt; name one: {rounds}.")
    row = rows[0]
    if not ledger.resolve(row, verdict == "sent"):
        raise click.ClickException("That message is no longer in doubt: nothing changed.")
    what = f"The {row.kind} {ledger.round_name(row)} to {name}"
    click.echo(f"{what} is recorded as sent." if verdict == "sent"
               else f"{what} will be sent by the next run.")
