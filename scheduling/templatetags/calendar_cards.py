"""The calendar's appointment cards, written out in Python: a full day of a big clinic is a
thousand cards, and the template language spent most of the page's time on them (a dozen
variable lookups, escapes and localizations per card)."""

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def calendar_cards(cards: list[dict], can_move: bool) -> SafeString:
    """One link per card, placed by the shared ``t<top>`` and ``h<height>`` classes; a card
    that may still move is draggable (its length is read from its times when it is moved)."""
    html = []
    for card in cards:
        movable = ' draggable="true"' if can_move and card["movable"] else ""
        html.append(
            f'<a class="cal-appt t{card["top"]} h{card["height"]} status-{card["status"]}" href="{escape(card["url"])}"{movable}>'
            f"<i>{card['label']}</i> <strong>{escape(card['who'])}</strong>"
            f"<small>{escape(card['type'])} · {escape(card['status_label'])}</small></a>"
        )
    return mark_safe("".join(html))
