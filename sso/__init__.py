"""Signing in: the login manager, the login and logout views, and the
directory behind them (LDAP, a trusted proxy header, or the demo picker)."""

from flask_login import LoginManager

from intranet_plugin.models import Person

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_person(person_id):
    try:
        return Person.get_or_none((Person.id == int(person_id)) & (Person.is_active == True))  # noqa: E712
    except ValueError:
        return None


def init_app(app):
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.init_app(app)

    from .views import bp

    app.register_blueprint(bp)
