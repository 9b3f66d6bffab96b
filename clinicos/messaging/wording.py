"""What messages say: the shipped wording per kind and language (English and Hindi), a
clinic's own wording from its rules, and times written in the clinic's zone with its name."""

import datetime
import string
from collections.abc import Mapping

from django.core.exceptions import ValidationError

from clinicos.messaging.choices import Language, MessageKind

# The placeholders each kind may use; a clinic's wording is checked against them.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    MessageKind.CONFIRMATION: frozenset({"patient", "clinic", "doctor", "when", "reference", "link"}),
    MessageKind.REMINDER: frozenset({"patient", "clinic", "doctor", "when", "reference", "link"}),
    MessageKind.CHANGE: frozenset({"patient", "clinic", "doctor", "when", "reference", "link"}),
    MessageKind.CANCELLATION: frozenset({"patient", "clinic", "doctor", "when", "reference"}),
    MessageKind.RECALL: frozenset({"patient", "clinic", "doctor", "due", "reason", "phone"}),
    MessageKind.WAITLIST_OFFER: frozenset({"patient", "clinic", "doctor", "when", "link", "minutes"}),
    MessageKind.LOGIN_CODE: frozenset({"clinic", "code", "minutes"}),
}

# Kinds a clinic words itself (a login code's wording is fixed: it is a security message).
EDITABLE_KINDS = tuple(kind for kind in MessageKind if kind != MessageKind.LOGIN_CODE)

SHIPPED: dict[str, dict[str, str]] = {
    MessageKind.CONFIRMATION: {
        Language.ENGLISH: "Hello {patient}, your appointment with {doctor} at {clinic} is booked for {when} (ref. {reference}).",
        Language.HINDI: "नमस्ते {patient}, {clinic} में {doctor} के साथ आपकी अपॉइंटमेंट {when} के लिए बुक हो गई है (संदर्भ {reference})।",
    },
    MessageKind.REMINDER: {
        Language.ENGLISH: "Reminder: {patient}, you see {doctor} at {clinic} on {when}. Confirm or cancel: {link}",
        Language.HINDI: "याद दिलाना: {patient}, {when} को {clinic} में {doctor} से आपकी अपॉइंटमेंट है। पुष्टि करें या रद्द करें: {link}",
    },
    MessageKind.CHANGE: {
        Language.ENGLISH: "{patient}, your appointment with {doctor} at {clinic} has moved to {when} (ref. {reference}).",
        Language.HINDI: "{patient}, {clinic} में {doctor} के साथ आपकी अपॉइंटमेंट का समय बदलकर {when} हो गया है (संदर्भ {reference})।",
    },
    MessageKind.CANCELLATION: {
        Language.ENGLISH: "{patient}, your appointment with {doctor} at {clinic} on {when} is cancelled (ref. {reference}).",
        Language.HINDI: "{patient}, {when} को {clinic} में {doctor} के साथ आपकी अपॉइंटमेंट रद्द कर दी गई है (संदर्भ {reference})।",
    },
    MessageKind.RECALL: {
        Language.ENGLISH: "{patient}, {doctor} at {clinic} would like to see you again by {due} ({reason}). Call {phone} to book.",
        Language.HINDI: "{patient}, {clinic} के {doctor} आपको {due} तक फिर से देखना चाहते हैं ({reason})। बुक करने के लिए {phone} पर कॉल करें।",
    },
    MessageKind.WAITLIST_OFFER: {
        Language.ENGLISH: "{patient}, a time with {doctor} at {clinic} is free: {when}. It is yours if you claim it within {minutes} minutes: {link}",
        Language.HINDI: "{patient}, {clinic} में {doctor} के साथ {when} का समय खाली है। {minutes} मिनट के भीतर यहाँ लें: {link}",
    },
    MessageKind.LOGIN_CODE: {
        Language.ENGLISH: "Your {clinic} login code is {code}. It works for {minutes} minutes. Never share it: the clinic will not ask for it.",
        Language.HINDI: "आपका {clinic} लॉगिन कोड {code} है। यह {minutes} मिनट तक काम करेगा। इसे किसी को न बताएँ: क्लिनिक इसे कभी नहीं माँगेगा।",
    },
}

SUBJECTS: dict[str, dict[str, str]] = {
    MessageKind.CONFIRMATION: {Language.ENGLISH: "Your appointment at {clinic}", Language.HINDI: "{clinic} में आपकी अपॉइंटमेंट"},
    MessageKind.REMINDER: {Language.ENGLISH: "Reminder: your appointment at {clinic}", Language.HINDI: "याद दिलाना: {clinic} में अपॉइंटमेंट"},
    MessageKind.CHANGE: {Language.ENGLISH: "Your appointment at {clinic} has moved", Language.HINDI: "{clinic} में अपॉइंटमेंट का नया समय"},
    MessageKind.CANCELLATION: {Language.ENGLISH: "Your appointment at {clinic} is cancelled", Language.HINDI: "{clinic} में अपॉइंटमेंट रद्द"},
    MessageKind.RECALL: {Language.ENGLISH: "Time for your follow-up at {clinic}", Language.HINDI: "{clinic} में फ़ॉलो-अप का समय"},
    MessageKind.WAITLIST_OFFER: {Language.ENGLISH: "A time is free at {clinic}", Language.HINDI: "{clinic} में एक समय खाली है"},
    MessageKind.LOGIN_CODE: {Language.ENGLISH: "Your {clinic} login code", Language.HINDI: "आपका {clinic} लॉगिन कोड"},
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def placeholders_in(text: str) -> set[str]:
    """The ``{names}`` a text uses; ValueError when its braces do not pair up."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def check_wording(kind: str, text: str) -> None:
    """A clinic's wording may use only its kind's placeholders, spelt ``{like_this}``."""
    try:
        used = placeholders_in(text)
    except ValueError:
        raise ValidationError("A “{” or “}” does not pair up: write placeholders as {patient}.") from None
    unknown = sorted(name for name in used if name not in PLACEHOLDERS[kind])
    if unknown or any(not name for name in used):
        allowed = ", ".join("{" + name + "}" for name in sorted(PLACEHOLDERS[kind]))
        raise ValidationError(f"Unknown placeholder {', '.join('{' + n + '}' for n in unknown) or '{}'}: use {allowed}.")


def render(kind: str, language: str, values: Mapping[str, object], own: Mapping[str, Mapping[str, str]] | None = None) -> tuple[str, str]:
    """The subject and text of a message: the clinic's own wording for the kind and language
    when it has one, else the shipped one (English when a language has none)."""
    language = language if language in Language.values else Language.ENGLISH
    clinic_words = (own or {}).get(kind, {}) if kind != MessageKind.LOGIN_CODE else {}
    text = clinic_words.get(language) or SHIPPED[kind].get(language) or SHIPPED[kind][Language.ENGLISH]
    subject = SUBJECTS[kind].get(language) or SUBJECTS[kind][Language.ENGLISH]
    filled = _Blank({key: str(value) for key, value in values.items()})
    return subject.format_map(filled), text.format_map(filled)


def clinic_time(moment: datetime.datetime, tz: datetime.tzinfo) -> str:
    """``Mon 7 Dec 2026, 10:30 IST``: the clinic's wall clock, and which clock it is."""
    local = moment.astimezone(tz)
    zone = local.tzname() or str(tz)
    if zone.startswith(("+", "-")):  # a zone without an abbreviation reads as its offset
        zone = f"UTC{zone}"
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M} {zone}"
