"""The demo outbox: mail goes to an SMTP server inside the process and is
browsable by admins at /admin/outbox."""

import os

from digest.send import send_weekly
from helpers import login, make_item, make_person


def test_the_digest_lands_in_the_outbox_and_admins_can_read_it(make_app, tmp_path):
    outbox = tmp_path / "outbox"
    app = make_app(MAIL_OUTBOX=str(outbox))
    make_person("anouk", role="admin")
    make_item("Windpark open")

    report = send_weekly(app)

    assert report.sent == 1 and report.error == ""
    [name] = [n for n in os.listdir(outbox) if n.endswith(".eml")]
    client = app.test_client()
    login(client, "anouk")
    listing = client.get("/admin/outbox").get_data(as_text=True)
    assert "Your Ambassador week, " in listing and name in listing
    # Written for a programme lead: no server path, no command line.
    assert str(outbox) not in listing and "ambassador digest" not in listing
    page = client.get(f"/admin/outbox/{name}")
    assert page.status_code == 200
    assert "List-Unsubscribe-Post" in page.get_data(as_text=True)
    assert "Windpark open" in page.get_data(as_text=True)  # the text part
    frame = client.get(f"/admin/outbox/{name}/html")
    assert frame.headers["Content-Security-Policy"].startswith("sandbox")
    assert "Windpark open" in frame.get_data(as_text=True)
    assert client.get("/admin/outbox/..%2Fambassador.db").status_code == 404
    assert client.get("/admin/outbox/nothing.eml").status_code == 404


def test_the_outbox_is_for_admins_and_only_when_it_is_on(make_app, tmp_path):
    app = make_app(MAIL_OUTBOX=str(tmp_path))
    make_person("emma")
    client = app.test_client()
    login(client, "emma")
    assert client.get("/admin/outbox").status_code == 403

    app = make_app(MAIL_OUTBOX="off")
    make_person("anouk", role="admin")
    client = app.test_client()
    login(client, "anouk")
    assert client.get("/admin/outbox").status_code == 404
