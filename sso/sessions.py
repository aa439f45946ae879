"""The rules of a signed-in session, in one place.

- A session starts fresh at sign-in (nothing planted before it survives)
  and carries the person's session generation and its start time.
- It is honoured while the person's generation is unchanged and for at most
  ``SESSION_HOURS`` from sign-in, whatever happens in between: signing out
  (``end_everywhere``) raises the generation, so every cookie issued before,
  copied or not, on any device, stops working at its next request.
- Session protection binds it to the client address as the trusted-proxy
  handling fixed it (``request.remote_addr``) and to the browser.
- No response for a signed-in person may be stored by a browser or proxy.
"""

import time
from hashlib import sha512

from flask import current_app, request, session
from flask_login import current_user, login_user, logout_user

from intranet_plugin.models import Person

GENERATION = "ambassador_generation"
SIGNED_IN_AT = "ambassador_signed_in_at"

# Same for everyone, cached by URL: versioned third-party files and our own
# static files.
PUBLIC_ENDPOINTS = {"static", "system.favicon"}
PUBLIC_BLUEPRINTS = {"assets"}


def start(person):
    """Sign ``person`` in with a new session."""
    session.clear()
    login_user(person)
    session[GENERATION] = person.session_generation
    session[SIGNED_IN_AT] = int(time.time())


def is_current(person, data=None):
    """Is the session of this request (or ``data``, a session read from its
    cookie) still ``person``'s: of their current generation and younger than
    the session lifetime (``SESSION_HOURS`` from sign-in, not from the last
    request)? A session from before these rules (without a generation) is
    not."""
    data = session if data is None else data
    signed_in_at = data.get(SIGNED_IN_AT)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return (data.get(GENERATION) == person.session_generation
            and isinstance(signed_in_at, int)
            and 0 <= time.time() - signed_in_at < lifetime)


def person_of(person_id, data=None):
    """The active person whose id a session carries, while that session
    (this request's, or ``data``) is current by ``is_current``; else None.
    Flask-Login's user loader and the tracked redirect (which reads the
    cookie itself, outside Flask) both ask this."""
    try:
        person_id = int(person_id)
    except (TypeError, ValueError):
        return None
    person = Person.get_or_none((Person.id == person_id) & (Person.is_active == True))  # noqa: E712
    return person if person is not None and is_current(person, data) else None


def end_everywhere(person):
    """Sign ``person`` out of every session, this one included."""
    Person.update(session_generation=Person.session_generation + 1).where(Person.id == person.id).execute()
    logout_user()
    session.clear()


def identifier():
    """What flask-login's "strong" protection binds a session to: the
    client's address and browser. Its own version reads X-Forwarded-For
    from any client; ``request.remote_addr`` is the address the trusted-proxy
    handling (``intranet_plugin.security``) fixed, the direct peer unless
    that is a trusted proxy."""
    return sha512(f"{request.remote_addr}|{request.user_agent.string}".encode()).hexdigest()


def no_store(response):
    """``Cache-Control: no-store`` on every response for a signed-in person
    or an API key (after every request), so that nothing of theirs stays in a browser's
    cache or a proxy after they sign out."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.blueprint in PUBLIC_BLUEPRINTS:
        return response
    if current_user.is_authenticated or "Authorization" in request.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
