"""Exactly one digest per person through a real crash: ``ambassador digest
send`` killed with SIGKILL while a slow real SMTP server (aiosmtpd) holds
one message, then run again."""

import signal

from helpers import make_item, make_person
from helpers.processes import run, start
from intranet_plugin.models import MailLedger

PEOPLE = [f"p{n}" for n in range(10)]


def test_a_sender_killed_mid_digest_loses_nobody_and_names_the_message_in_doubt(mail_app, smtp):
    for name in PEOPLE:
        make_person(name)
    make_item("Windpark open")
    smtp.handler.delay = 0.05  # a slow server: the next message is built while it works
    smtp.handler.hold_at = 3  # the server holds its reply to the third message...

    sender = start(mail_app, "digest", "send")
    try:
        assert smtp.handler.holding.wait(60), sender.communicate(timeout=5)[0]
        sender.send_signal(signal.SIGKILL)  # ...when its sender is killed
        assert sender.wait(30) == -signal.SIGKILL
    finally:
        sender.kill()
    smtp.handler.released.set()
    assert len(smtp.messages) == 3  # the server has the third: it goes out

    # What the killed run recorded: two sent, the third in doubt, nobody
    # else (the fourth, built ahead, was never claimed).
    rows = {row.person.username: row.status for row in MailLedger.select()}
    assert rows == {"p0": "sent", "p1": "sent", "p2": "sending"}

    status, output = run(mail_app, "digest", "send")
    assert status == 0, output
    assert "7 sent" in output and "1 in doubt" in output
    assert "p2: handed over" in output and "mail resolve --sent NAME" in output
    assert "busy" not in output and "another sender" not in output  # nobody else holds the lease
    assert smtp.recipients() == {f"{name}@example.com": 1 for name in PEOPLE}

    # Every later run names it again and sends nothing, until the operator,
    # whose mail server's log shows it went out, says so.
    cli = mail_app.test_cli_runner()
    output = cli.invoke(args=["digest", "send"]).output
    assert "0 sent" in output and "9 done earlier" in output and "p2: handed over" in output
    output = cli.invoke(args=["mail", "doubts"]).output
    assert "1 in doubt" in output and "digest 2026-W" in output and " p2: handed over" in output
    output = cli.invoke(args=["mail", "resolve", "--sent", "p2"]).output
    assert "recorded as sent" in output
    output = cli.invoke(args=["digest", "send"]).output
    assert "0 sent" in output and "10 done earlier" in output and "0 in doubt" in output
    assert smtp.recipients() == {f"{name}@example.com": 1 for name in PEOPLE}
