"""The weekly digest e-mail and instant alerts: building, rendering (MJML)
and sending, with the unsubscribe pages, the admin preview and the demo
outbox.

Entry points for the scheduler and the command line:
``digest.send.send_weekly(app, week=None, dry_run=False) -> Report`` and
``digest.alerts.send_pending_alerts(app) -> Report``.
"""
