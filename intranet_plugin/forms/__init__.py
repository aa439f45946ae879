"""Every form of Ambassador, as WTForms ``FlaskForm`` classes, one module
per area: ``content`` (items, campaigns, suggestions' review, feeds, the
library's filters), ``programme`` (guidelines, joining, preferences,
suggesting, the admins' switches), ``analytics`` (periods, the calculator,
prize draws), ``teams`` (the team page, naming team leads) and ``auth``
(sign-in). ``base`` holds what they share.

Views build a form, validate it, call a service and render; rules that
need the database stay in the services and are called from the forms'
``validate_<field>`` or from the view.
"""

from intranet_plugin.forms import analytics, auth, content, programme, teams
from intranet_plugin.forms.base import Form


def every_form():
    """Every form class (for the tests that send hostile values to every
    field)."""
    found, todo = [], [Form]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


__all__ = ["analytics", "auth", "content", "every_form", "programme", "teams"]
