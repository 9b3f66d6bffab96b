"""Who carries a message: one provider per channel, chosen in settings
(``MESSAGING_PROVIDERS``) like Django's email backends — the console in development, memory
in tests, Twilio (SMS and WhatsApp) and Django's mailer in production, a file for the
crash tests. A provider answers the id it gave the message; ``find`` tells, after a worker
died mid-send, whether the provider already has it (so it is never sent twice)."""

import base64
import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from email.utils import formataddr, parseaddr
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """A message as a provider sees it."""

    message_id: int
    channel: str
    to: str
    body: str
    subject: str = ""
    sender: str = ""
    params: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


class ProviderError(Exception):
    """The provider refused the message or could not be reached: try again later."""


class CannotTell(Exception):
    """The provider keeps no record we can ask (SMTP, the console)."""


class Provider:
    def send(self, message: Outgoing) -> str:
        raise NotImplementedError

    def find(self, message: Outgoing) -> str | None:
        """The provider's id of this message if it accepted it, None if it did not."""
        raise CannotTell


class ConsoleProvider(Provider):
    """Development: the message is printed where the worker runs."""

    def send(self, message: Outgoing) -> str:
        extra = f" {message.params}" if message.params else ""
        sys.stdout.write(f"[{message.channel}] to {message.to}: {message.body}{extra}\n")
        sys.stdout.flush()
        return f"console-{message.message_id}"


# What the tests read, like django.core.mail.outbox; ``failures`` makes the next sends fail.
sent: list[Outgoing] = []
failures: list[str] = []


class MemoryProvider(Provider):
    def send(self, message: Outgoing) -> str:
        if failures:
            raise ProviderError(failures.pop(0))
        sent.append(message)
        return f"mem-{message.message_id}-{len(sent)}"

    def find(self, message: Outgoing) -> str | None:
        return next((f"mem-{m.message_id}" for m in sent if m.message_id == message.message_id), None)


class FileProvider(Provider):
    """One JSON line per accepted message in ``MESSAGING_FILE_PATH``: a provider that
    survives its process, for the crash tests and for demos without a phone."""

    def __init__(self) -> None:
        self.path = Path(settings.MESSAGING_FILE_PATH)

    def send(self, message: Outgoing) -> str:
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(message), ensure_ascii=False) + "\n")
        return f"file-{message.message_id}"

    def find(self, message: Outgoing) -> str | None:
        if not self.path.exists():
            return None
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line)["message_id"] == message.message_id:
                return f"file-{message.message_id}"
        return None


class EmailProvider(Provider):
    """Django's mailer (SMTP or whatever ``MAILERS`` says), with an unsubscribe header."""

    def send(self, message: Outgoing) -> str:
        message_id = f"<outbox-{message.message_id}@{settings.MESSAGING_MESSAGE_ID_DOMAIN}>"
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=formataddr((message.sender, parseaddr(settings.DEFAULT_FROM_EMAIL)[1])) if message.sender else None,
            to=[message.to],
            headers={"Message-ID": message_id, **message.headers},
        )
        try:
            email.send()
        except Exception as error:  # SMTP errors, refused connections, timeouts
            raise ProviderError(f"The mail server refused or could not be reached: {error}") from error
        return message_id


class TwilioProvider(Provider):
    """Twilio's Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``): SMS from
    ``TWILIO_FROM_NUMBER``; WhatsApp from ``TWILIO_WHATSAPP_FROM`` with an approved content
    template (``ContentSid`` and its variables). Delivery reports come back to
    ``/hooks/twilio/status`` when ``MESSAGING_PUBLIC_URL`` is set."""

    timeout_seconds = 10

    def __init__(self) -> None:
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        if not (self.account_sid and self.auth_token):
            raise ImproperlyConfigured("TwilioProvider needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
        base = f"{settings.TWILIO_API_URL.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(self.account_sid)}"
        self.url = f"{base}/Messages.json"

    def _form(self, message: Outgoing) -> dict[str, str]:
        if message.channel == "whatsapp":
            form = {
                "To": f"whatsapp:{message.to}",
                "From": f"whatsapp:{settings.TWILIO_WHATSAPP_FROM}",
                "ContentSid": message.params["content_sid"],
                "ContentVariables": json.dumps(message.params.get("variables", {})),
            }
        else:
            form = {"To": message.to, "From": settings.TWILIO_FROM_NUMBER, "Body": message.body}
        if settings.MESSAGING_PUBLIC_URL:
            form["StatusCallback"] = f"{settings.MESSAGING_PUBLIC_URL.rstrip('/')}/hooks/twilio/status"
        return form

    def _call(self, url: str, data: dict[str, str] | None = None) -> dict:
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(data).encode() if data is not None else None,
            method="POST" if data is not None else "GET",
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise ProviderError(f"Twilio answered {error.code}.") from error
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise ProviderError(f"Twilio could not be reached: {error}") from error

    def send(self, message: Outgoing) -> str:
        answer = self._call(self.url, self._form(message))
        return str(answer.get("sid", ""))

    def find(self, message: Outgoing) -> str | None:
        if message.channel == "whatsapp":
            raise CannotTell  # a template message's text is Twilio's, not ours: nothing to match on
        try:
            answer = self._call(f"{self.url}?{urllib.parse.urlencode({'To': message.to, 'PageSize': 50})}")
        except ProviderError as error:
            raise CannotTell(str(error)) from error
        for sent_message in answer.get("messages", []):
            if sent_message.get("body") == message.body:
                return str(sent_message.get("sid"))
        return None


def provider_for(channel: str) -> Provider:
    return import_string(settings.MESSAGING_PROVIDERS[channel])()
