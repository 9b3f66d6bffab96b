"""Text messages (the portal's login codes), through a small pluggable backend chosen by
``PORTAL_SMS_BACKEND``, like Django's email backends: the console in development, an
in-memory outbox in tests, Twilio's REST API in production."""

import base64
import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# What the tests read, like django.core.mail.outbox.
outbox: list["TextMessage"] = []


@dataclass(frozen=True)
class TextMessage:
    to: str
    body: str


class SmsError(Exception):
    """The provider refused the message or could not be reached."""


class BaseSmsBackend:
    def send(self, message: TextMessage) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Development: the message is printed where the server runs."""

    def send(self, message: TextMessage) -> None:
        sys.stdout.write(f"SMS to {message.to}: {message.body}\n")
        sys.stdout.flush()


class LocmemSmsBackend(BaseSmsBackend):
    """Tests: the message is appended to ``portal.sms.outbox``."""

    def send(self, message: TextMessage) -> None:
        outbox.append(message)


class TwilioSmsBackend(BaseSmsBackend):
    """Twilio's Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``), with the
    account SID, auth token and sending number from the environment."""

    timeout_seconds = 10

    def __init__(self) -> None:
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.from_number = settings.TWILIO_FROM_NUMBER
        if not (self.account_sid and self.auth_token and self.from_number):
            raise ImproperlyConfigured("TwilioSmsBackend needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER.")
        self.url = f"{settings.TWILIO_API_URL.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(self.account_sid)}/Messages.json"

    def send(self, message: TextMessage) -> None:
        body = urllib.parse.urlencode({"To": message.to, "From": self.from_number, "Body": message.body}).encode()
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise SmsError(f"The SMS provider answered {error.code}.") from error
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise SmsError(f"The SMS provider could not be reached: {error}") from error


def get_sms_backend() -> BaseSmsBackend:
    return import_string(settings.PORTAL_SMS_BACKEND)()


def send_sms(*, to: str, body: str) -> None:
    get_sms_backend().send(TextMessage(to=to, body=body))
