"""Links in e-mails are built against AMBASSADOR_BASE_URL (the intranet
address people reach), never against whatever host a request came in on."""

from contextlib import contextmanager


@contextmanager
def mail_context(app):
    """A request context on BASE_URL, so ``url_for(..., _external=True)``
    gives the intranet's address (also inside another request)."""
    with app.test_request_context(base_url=app.config["BASE_URL"]):
        yield
