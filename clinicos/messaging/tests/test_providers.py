"""The providers: the Twilio adapter speaks Twilio's Messages API over real HTTP (to a local
server standing in for Twilio) for SMS and WhatsApp templates, and a refusal is a
ProviderError; email goes through Django's mailer with an unsubscribe header."""

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from clinicos.messaging.providers import ConsoleProvider, EmailProvider, Outgoing, ProviderError, TwilioProvider


class FakeTwilio(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 201

    listed: list[dict] = []

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"messages": FakeTwilio.listed}).encode())

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        FakeTwilio.received.append(
            {
                "path": self.path,
                "authorization": self.headers["Authorization"],
                "form": urllib.parse.parse_qs(self.rfile.read(length).decode()),
            }
        )
        self.send_response(FakeTwilio.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"sid": "SM123", "status": "queued"}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def twilio(settings):
    FakeTwilio.received, FakeTwilio.status, FakeTwilio.listed = [], 201, []
    server = HTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.MESSAGING_PROVIDERS = {**settings.MESSAGING_PROVIDERS, "sms": "clinicos.messaging.providers.TwilioProvider"}
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = "AC0123", "s3cret", "+15005550006"
    settings.TWILIO_WHATSAPP_FROM = "+14155238886"
    settings.MESSAGING_PUBLIC_URL = "https://clinics.example.com"
    settings.TWILIO_API_URL = f"http://127.0.0.1:{server.server_port}"
    yield FakeTwilio
    server.shutdown()


def sms(body="Your code is 123456", **kwargs):
    return Outgoing(message_id=7, channel="sms", to="+919845012345", body=body, **kwargs)


def test_the_twilio_adapter_posts_the_message(twilio):
    assert TwilioProvider().send(sms()) == "SM123"
    (request,) = twilio.received
    assert request["path"] == "/2010-04-01/Accounts/AC0123/Messages.json"
    assert request["authorization"] == "Basic " + base64.b64encode(b"AC0123:s3cret").decode()
    assert request["form"] == {
        "To": ["+919845012345"],
        "From": ["+15005550006"],
        "Body": ["Your code is 123456"],
        "StatusCallback": ["https://clinics.example.com/hooks/twilio/status"],
    }


def test_whatsapp_goes_as_an_approved_template(twilio):
    template = {"content_sid": "HX0123", "variables": {"1": "Meera", "2": "Mon 7 Dec 2026, 10:30 IST"}}
    TwilioProvider().send(Outgoing(message_id=8, channel="whatsapp", to="+919845012345", body="(text)", params=template))
    form = twilio.received[0]["form"]
    assert form["To"] == ["whatsapp:+919845012345"] and form["From"] == ["whatsapp:+14155238886"]
    assert form["ContentSid"] == ["HX0123"] and json.loads(form["ContentVariables"][0]) == template["variables"]
    assert "Body" not in form


def test_a_refusal_is_a_provider_error(twilio):
    twilio.status = 400
    with pytest.raises(ProviderError, match="400"):
        TwilioProvider().send(sms("x"))


def test_after_a_crash_twilio_tells_whether_it_has_the_message(twilio):
    assert TwilioProvider().find(sms("Reminder: …")) is None
    twilio.listed = [{"sid": "SM999", "body": "Reminder: …"}]
    assert TwilioProvider().find(sms("Reminder: …")) == "SM999"


def test_twilio_needs_its_settings(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ImproperlyConfigured):
        TwilioProvider()


def test_the_console_provider_prints(capsys):
    ConsoleProvider().send(Outgoing(message_id=1, channel="sms", to="+441539441234", body="hello"))
    assert "[sms] to +441539441234: hello" in capsys.readouterr().out


def test_email_carries_the_clinics_name_and_an_unsubscribe_header():
    provider_id = EmailProvider().send(
        Outgoing(
            message_id=9,
            channel="email",
            to="meera@example.com",
            body="Hello",
            subject="Your appointment",
            sender="Sunrise Fertility Centre",
            headers={"List-Unsubscribe": "<https://x/m/opt-out/t/>"},
        )
    )
    (email,) = mail.outbox
    assert email.from_email.startswith("Sunrise Fertility Centre <") and email.extra_headers["List-Unsubscribe"]
    assert provider_id == "<outbox-9@clinicos.local>"
