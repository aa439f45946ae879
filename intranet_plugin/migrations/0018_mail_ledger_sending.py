"""The mail ledger writes a recipient's row only when their message is
handed to the mail server, with status "sending" (intranet_plugin.mail.ledger).
A row an earlier version left "claimed" had the same meaning or less (it
claimed people ahead of their message), and nothing tells which: it is in
doubt, named by every run until the operator settles it.
"""


def up(migrator, db):
    db.execute_sql("UPDATE mail_ledger SET status = 'sending' WHERE status = 'claimed'")


def down(migrator, db):
    db.execute_sql("UPDATE mail_ledger SET status = 'claimed' WHERE status = 'sending'")
