from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def duration_words(value: timedelta) -> str:
    """3 days 4 h, 5 h 20 min, 12 min."""
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
