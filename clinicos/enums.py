"""Every choice set the app uses, published by ``GET …/metadata/enums``.

Apps register theirs in ``AppConfig.ready()``; a form or client can then validate
against the same values the server does.
"""

from django.db.models import Choices

_enums: dict[str, type[Choices]] = {}


def register(name: str, choices: type[Choices]) -> None:
    _enums[name] = choices


def all_enums() -> dict[str, list[dict]]:
    return {
        name: [{"value": str(value), "label": str(label)} for value, label in choices.choices] for name, choices in sorted(_enums.items())
    }
