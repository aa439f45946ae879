"""The generic mail sender against a real SMTP server: plain, STARTTLS with a
login, implicit TLS, one connection for a batch, and the settings URL."""

import ssl

import pytest
from aiosmtpd.smtp import AuthResult

from helpers.slapd import make_tls_files
from helpers.smtpserver import SMTPServer, free_port
from intranet_plugin.config import ConfigError, load_config
from intranet_plugin.mail.message import flatten
from intranet_plugin.mail.smtp import (
    Mailer,
    MailNotConfigured,
    MailServerUnavailable,
    SMTPSettings,
    build_message,
    send_email,
)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def server_context(tls_files):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(f"{tls_files}/server.pem", f"{tls_files}/server.key")
    return context


def accept_ambassador(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"ambassador" and auth_data.password == b"s3cret@pass"
    return AuthResult(success=ok, handled=False)


def message(to="emma@example.com", subject="Hello"):
    return build_message("Ambassador <ambassador@example.com>", ("Emma de Vries", to), subject,
                         "Text part", "<p>HTML part</p>")


def test_settings_from_the_url():
    s = SMTPSettings.from_url("smtp://mail.example.com")
    assert (s.host, s.port, s.implicit_tls, s.starttls, s.username) == ("mail.example.com", 25, False, False, "")
    s = SMTPSettings.from_url("smtp://amb%40corp:p%40ss@mail.example.com:587?starttls=true&timeout=5")
    assert (s.port, s.starttls, s.username, s.password, s.timeout) == (587, True, "amb@corp", "p@ss", 5.0)
    s = SMTPSettings.from_url("smtps://mail.example.com?cafile=/etc/ssl/corp.pem")
    assert (s.port, s.implicit_tls, s.cafile) == (465, True, "/etc/ssl/corp.pem")
    with pytest.raises(MailNotConfigured):
        SMTPSettings.from_url("http://mail.example.com")


def test_config_checks_the_smtp_url_and_costs():
    with pytest.raises(ConfigError, match="AMBASSADOR_SMTP_URL"):
        load_config("/tmp", environ={"AMBASSADOR_SMTP_URL": "mail.example.com:25"})
    with pytest.raises(ConfigError, match="COST_PER_CLICK"):
        load_config("/tmp", environ={"AMBASSADOR_COST_PER_CLICK": "myspace=3"})
    with pytest.raises(ConfigError, match="COST_PER_CLICK"):
        load_config("/tmp", environ={"AMBASSADOR_COST_PER_CLICK": "linkedin=lots"})
    costs = load_config("/tmp", environ={"AMBASSADOR_COST_PER_CLICK": "linkedin=4.50"})["COST_PER_CLICK"]
    assert str(costs["linkedin"]) == "4.50" and str(costs["x"]) == "1.00"


def test_the_demo_outbox_is_on_only_for_the_demo_login_without_smtp():
    assert load_config("/srv", environ={})["MAIL_OUTBOX"] == "/srv/outbox"
    assert load_config("/srv", environ={"AMBASSADOR_SMTP_URL": "smtp://mail"})["MAIL_OUTBOX"] == ""
    assert load_config("/srv", environ={"AMBASSADOR_AUTH": "header"})["MAIL_OUTBOX"] == ""
    assert load_config("/srv", environ={"AMBASSADOR_MAIL_OUTBOX": "off"})["MAIL_OUTBOX"] == ""


def test_one_connection_for_a_batch():
    with SMTPServer() as smtp:
        connections = []
        original = Mailer._connect

        def counting(self):
            connections.append(1)
            return original(self)

        with Mailer(SMTPSettings("127.0.0.1", smtp.port), "ambassador@example.com") as mailer:
            mailer._connect = counting.__get__(mailer)
            for n in range(5):
                assert mailer.send(message(f"p{n}@example.com")) == 1
        assert len(smtp.messages) == 5 and len(connections) == 1


def test_starttls_and_login(tls_files):
    with SMTPServer(tls_context=server_context(tls_files), require_starttls=True,
                    authenticator=accept_ambassador, auth_required=True) as smtp:
        url = (f"smtp://ambassador:s3cret%40pass@127.0.0.1:{smtp.port}"
               f"?starttls=true&cafile={tls_files}/ca.pem")
        with Mailer(SMTPSettings.from_url(url), "ambassador@example.com") as mailer:
            mailer.send(message())
        [received] = smtp.messages
        assert received["Subject"] == "Hello"


def test_a_wrong_password_stops_at_once(tls_files):
    with SMTPServer(tls_context=server_context(tls_files), require_starttls=True,
                    authenticator=accept_ambassador, auth_required=True) as smtp:
        url = f"smtp://ambassador:wrong@127.0.0.1:{smtp.port}?starttls=true&cafile={tls_files}/ca.pem"
        waits = []
        with pytest.raises(MailServerUnavailable, match="535"):
            Mailer(SMTPSettings.from_url(url), "ambassador@example.com", sleep=waits.append).send(message())
        assert waits == [] and smtp.messages == []


def test_implicit_tls_checks_the_certificate(tls_files):
    with SMTPServer(ssl_context=server_context(tls_files)) as smtp:
        trusted = f"smtps://127.0.0.1:{smtp.port}?cafile={tls_files}/ca.pem"
        with Mailer(SMTPSettings.from_url(trusted), "ambassador@example.com") as mailer:
            mailer.send(message())
        assert len(smtp.messages) == 1
        foreign = f"smtps://127.0.0.1:{smtp.port}?cafile={tls_files}/other-ca.pem"
        with pytest.raises(MailServerUnavailable, match="certificate"):
            Mailer(SMTPSettings.from_url(foreign), "ambassador@example.com").send(message())
        assert len(smtp.messages) == 1


def test_nobody_listening_is_retried_then_unavailable():
    waits = []
    mailer = Mailer(SMTPSettings("127.0.0.1", free_port(), timeout=2), "a@example.com", sleep=waits.append)
    with pytest.raises(MailServerUnavailable):
        mailer.send(message())
    assert waits == [1, 2, 4]


def test_send_email(make_app):
    with SMTPServer() as smtp:
        app = make_app(SMTP_URL=smtp.url, MAIL_FROM="Ambassador <ambassador@example.com>")
        with app.app_context():
            message_id = send_email("lisa@example.com", "Report", "The monthly report", "<h1>Report</h1>",
                                    headers={"Reply-To": "comms@example.com"})
        [received] = smtp.messages
        assert received["Message-ID"] == message_id and message_id.endswith("@example.com>")
        assert received["Reply-To"] == "comms@example.com"
        assert received.get_body(("html",)).get_content().strip() == "<h1>Report</h1>"


def test_headers_cannot_be_injected():
    with pytest.raises(ValueError):
        build_message("a@example.com", "b@example.com", "Hi\r\nBcc: victim@example.com", "text")


def test_names_subjects_and_bodies_beyond_ascii_arrive_intact():
    html = "<p>Één klik: “delen” — ıİ</p>\n" * 400  # long enough for many encoded lines
    with SMTPServer() as smtp:
        with Mailer(SMTPSettings("127.0.0.1", smtp.port), "ambassador@example.com") as mailer:
            mailer.send(build_message('"Noordwind, Ambassador" <ambassador@example.com>',
                                      ("Fatma Yılmaz", "fatma@example.com"), "Jouw week van 2 maart — 3 nieuw",
                                      ".A line starting with a dot\nTekst met é\n", html))
        [received] = smtp.messages
    assert received["To"].addresses[0].display_name == "Fatma Yılmaz"
    assert received["From"].addresses[0].display_name == "Noordwind, Ambassador"
    assert received["Subject"] == "Jouw week van 2 maart — 3 nieuw"
    text = received.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == ".A line starting with a dot\nTekst met é\n"
    assert received.get_body(("html",)).get_content() == html


def test_send_all_keeps_the_order_and_reports_each_outcome():
    with SMTPServer() as smtp:
        smtp.handler.data_replies["b@example.com"] = ["552 5.3.4 Message too big"]
        jobs = ((n, message(f"{n}@example.com", subject=n)) for n in "abc")
        with Mailer(SMTPSettings("127.0.0.1", smtp.port), "ambassador@example.com") as mailer:
            outcomes = list(mailer.send_all(jobs))
        assert [key for key, _ in outcomes] == ["a", "b", "c"]
        assert outcomes[0][1] == 1 and outcomes[2][1] == 1
        assert str(outcomes[1][1]) == "552 5.3.4 Message too big"
        assert [m["Subject"] for m in smtp.messages] == ["a", "c"]


def test_a_long_unsubscribe_link_stays_a_link_on_the_wire():
    """A List-Unsubscribe URL is longer than a line should be and has no
    blank to fold at: it goes out as it is (RFC 5322 allows 998), not as
    RFC 2047 encoded words, which mail clients do not decode there."""
    url = "<https://intranet.example.com/ambassador/unsubscribe/" + "W" * 120 + ">"
    raw = flatten(build_message("Ambassador <ambassador@example.com>", "emma@example.com", "Digest", "text",
                                "<p>html</p>", headers={"List-Unsubscribe": url}))
    assert f"\r\nList-Unsubscribe: {url}\r\n".encode() in raw
    assert b"=?utf-8?" not in raw.split(b"\r\n\r\n")[0]
