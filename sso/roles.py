"""Roles: who may do what, enforced on the server.

``role_required("editor")`` guards an editor view (admins pass too);
``role_required("admin")`` an admin view. Signed-out visitors go to the
login page, signed-in people without the role get 403.
"""

from functools import wraps

from flask import abort
from flask_login import current_user

from intranet_plugin.models import ROLES

RANK = {role: rank for rank, role in enumerate(ROLES)}  # employee < editor < admin


def has_role(person, role):
    return RANK.get(getattr(person, "role", None), -1) >= RANK[role]


def role_required(role):
    """Decorator for views open only to ``role`` and above."""
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                from sso import login_manager

                return login_manager.unauthorized()
            if not has_role(current_user, role):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorator


def role_from_directory(current, person, admin_group, editor_group):
    """The role a person gets from the directory's groups.

    A role whose group is configured is granted and taken away by the
    directory; a role whose group is not configured is left as it is in
    Ambassador (so an installation without groups keeps its own roles).
    """
    if admin_group and person.is_admin:
        return "admin"
    if current == "admin" and not admin_group:
        return "admin"
    if editor_group and person.is_editor:
        return "editor"
    if current == "editor" and not editor_group:
        return "editor"
    return "employee"
