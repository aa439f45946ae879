"""Mail, for the weekly digest, the instant alerts and the monthly report:
``message`` builds an e-mail (``email.message.EmailMessage``), ``smtp``
sends it (``send_email``, or a ``Mailer`` for a batch), ``ledger`` keeps
mail sent in rounds to exactly once, ``links`` makes URLs for e-mails, and
``outbox`` is the demo's SMTP server that keeps what it receives."""
