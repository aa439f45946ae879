"""Signing in: the login manager, the login and logout views, and the
directory behind them (LDAP, a trusted proxy header, or the demo picker).

For other blueprints: ``from sso import role_required`` guards editor and
admin views on the server (403 for people without the role).
"""

from flask_login import LoginManager

from sso import sessions
from sso.roles import has_role, role_required

__all__ = ["init_app", "login_manager", "role_required", "has_role"]

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"


# flask-login has no public hook for the identifier of "strong" session
# protection: login_user() and the check on every request both call this
# attribute (flask-login 0.6).
login_manager._session_identifier_generator = sessions.identifier


@login_manager.user_loader
def load_person(person_id):
    """The person of this request's session, if it is still theirs (see
    ``sso.sessions``); checked on every request."""
    return sessions.person_of(person_id)


def init_app(app):
    from flask_babel import lazy_gettext as _l

    from sso.directory import check_config

    check_config(app.config)
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.init_app(app)
    app.after_request(sessions.no_store)

    from sso.views import bp, sign_in_from_header

    if app.config["AUTH"] == "header":
        app.before_request(sign_in_from_header)
    app.register_blueprint(bp)
