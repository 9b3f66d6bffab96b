"""The SMS backends: the Twilio adapter speaks Twilio's Messages API over real HTTP (to a
local server standing in for Twilio), and a refusal is an SmsError."""

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import sms


class FakeTwilio(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 201

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
    FakeTwilio.received, FakeTwilio.status = [], 201
    server = HTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PORTAL_SMS_BACKEND = "portal.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = "AC0123", "s3cret", "+15005550006"
    settings.TWILIO_API_URL = f"http://127.0.0.1:{server.server_port}"
    yield FakeTwilio
    server.shutdown()


def test_the_twilio_adapter_posts_the_message(twilio):
    sms.send_sms(to="+919845012345", body="Your code is 123456")
    (request,) = twilio.received
    assert request["path"] == "/2010-04-01/Accounts/AC0123/Messages.json"
    assert request["authorization"] == "Basic " + base64.b64encode(b"AC0123:s3cret").decode()
    assert request["form"] == {"To": ["+919845012345"], "From": ["+15005550006"], "Body": ["Your code is 123456"]}


def test_a_refusal_is_an_sms_error(twilio):
    twilio.status = 400
    with pytest.raises(sms.SmsError, match="400"):
        sms.send_sms(to="+919845012345", body="x")


def test_the_portal_sends_codes_through_it(client, twilio, mother):
    client.post("/api/v1/portal/auth/request-code", {"phone": "+919845012345"}, content_type="application/json")
    (request,) = twilio.received
    assert request["form"]["To"] == ["+919845012345"] and "login code is" in request["form"]["Body"][0]


def test_twilio_needs_its_settings(settings):
    settings.PORTAL_SMS_BACKEND = "portal.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ImproperlyConfigured):
        sms.get_sms_backend()


def test_the_console_backend_prints(capsys):
    sms.ConsoleSmsBackend().send(sms.TextMessage(to="+441539441234", body="hello"))
    assert "SMS to +441539441234: hello" in capsys.readouterr().out
