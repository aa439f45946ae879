"""Labels shown for the programme's own words (networks, ...), translated
for the reader: one place, used by pages, e-mails and CSV."""

from flask_babel import gettext as _


def network_labels():
    return {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook", "xing": "XING",
            "whatsapp": "WhatsApp", "email": _("E-mail"), "link": _("Copied link")}
