"""The pipeline board's cards, written out in Python: a board shows up to thirty cards a
column, each with its own "Move to…" form, and the template language spent most of the
page's time on them (four URL reversals, a CSRF token and a dozen lookups per card)."""

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince

from clinicos.navigation import url_with_id_slot
from leads.models import LeadStatus

register = template.Library()


@register.simple_tag(takes_context=True)
def lead_cards(context, cards: list, can_reopen: bool) -> SafeString:
    """One card per lead: its name (a link), what it asks and where it came from, its age
    and owner, and, while it may still move, the accessible "Move to…" form that posts to
    the board (the same as dragging it)."""
    request = context["request"]
    code = context["current_clinic"].code
    detail_url, move_url = url_with_id_slot("lead_detail", code), url_with_id_slot("lead_move", code)
    token = escape(str(context.get("csrf_token", "")))
    back = escape(request.get_full_path())
    now = context["now"]
    options: dict[str, str] = {}
    html = []
    for lead in cards:
        pk, name = lead.pk, escape(lead.name)
        move = move_url.format(pk)
        owner = f" · {escape(lead.assigned_to.get_short_name())}" if lead.assigned_to_id else ""
        card = (
            f'<li class="lead-card" draggable="true" data-lead="{pk}" data-move-url="{move}">'
            f'<a class="lead-card-name" href="{detail_url.format(pk)}">{name}</a>'
            f'<p class="lead-card-meta">{escape(lead.inquiry)} · {escape(lead.source)}</p>'
            f'<p class="lead-card-meta muted">{timesince(lead.date_added, now)} old{owner}</p>'
        )
        if lead.is_open or (lead.status == LeadStatus.LOST and can_reopen):
            if lead.status not in options:
                options[lead.status] = "".join(
                    f'<option value="{value}">{label}</option>'
                    for value, label in LeadStatus.choices
                    if value not in (lead.status, LeadStatus.CONVERTED)
                )
            card += (
                f'<form class="move-form" method="post" action="{move}" hx-post="{move}">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
                f'<input type="hidden" name="from" value="board"><input type="hidden" name="next" value="{back}">'
                f'<label class="visually-hidden" for="move-{pk}">Move {name} to</label>'
                f'<select id="move-{pk}" name="to_status" data-move-select><option value="">Move to…</option>{options[lead.status]}</select>'
                '<input type="text" name="lost_reason" placeholder="Reason if lost" class="lost-reason" aria-label="Reason if lost">'
                '<button type="submit" class="button button-small">Move</button></form>'
            )
        html.append(card + "</li>")
    return mark_safe("".join(html))
