"""Reads of lead data: lookups, the board, the CRO queue, follow-ups and the dashboard."""

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinicos.models import Clinic
from clinicos.pagination import query_cache_key
from leads.models import OPEN_STATUSES, Lead, LeadApiKey, LeadStatus


def lead_get(*, clinic: Clinic, pk) -> Lead:
    """A lead of this clinic, or 404 (also for another clinic's id)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404
    lead = (
        Lead.objects.for_clinic(clinic)
        .select_related("assigned_to", "converted_patient", "duplicate_of_lead", "duplicate_of_patient", "created_by")
        .filter(pk=pk)
        .first()
    )
    if lead is None:
        raise Http404("No such lead.")
    return lead


def api_key_get(*, clinic: Clinic, pk) -> LeadApiKey:
    key = LeadApiKey.objects.for_clinic(clinic).filter(pk=pk).first()
    if key is None:
        raise Http404("No such key.")
    return key


def _clinic_day_bounds(clinic: Clinic, date_from, date_to):
    tz = clinic.tzinfo
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz) if date_from else None
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz) if date_to else None
    return start, end


def leads_filtered(*, clinic: Clinic, filters: dict) -> QuerySet[Lead]:
    leads = Lead.objects.for_clinic(clinic).select_related("assigned_to")
    if filters.get("status"):
        leads = leads.filter(status=filters["status"])
    if filters.get("source"):
        leads = leads.filter(source=filters["source"])
    if filters.get("inquiry"):
        leads = leads.filter(inquiry=filters["inquiry"])
    if filters.get("assignee"):
        leads = leads.filter(assigned_to=filters["assignee"])
    start, end = _clinic_day_bounds(clinic, filters.get("date_from"), filters.get("date_to"))
    if start:
        leads = leads.filter(date_added__gte=start)
    if end:
        leads = leads.filter(date_added__lt=end)
    text = (filters.get("q") or "").replace("\x00", "").strip()
    if text:
        digits = re.sub(r"\D", "", text)
        if digits and len(digits) >= 4 and len(digits) == len(re.sub(r"[\s+()-]", "", text)):
            leads = leads.filter(phone_digits_reversed__startswith=digits[::-1])
        else:
            leads = leads.filter(name__icontains=text)
    return leads


SORTS = {"newest": ("-date_added", "-id"), "oldest": ("date_added", "id"), "name": ("name", "id"), "status": ("status", "-date_added")}
BOARD_CARDS_PER_COLUMN = 30


BOARD_COUNTS_KEPT_FROM = 10_000  # leads on a board whose counts are kept a minute
BOARD_COUNTS_SECONDS = 60


def _status_counts(leads: QuerySet[Lead]) -> dict[str, int]:
    """Leads per status. A board of ten thousand leads or more keeps its counts a minute
    (counting 100,000 leads takes about 100 ms); a smaller board counts on every load, so
    a moved card shows in the columns' counts at once."""
    query = leads.order_by().values_list("status").annotate(n=Count("id"))
    key = query_cache_key("lead-board-counts", query)
    counts = cache.get(key) if key else None
    if counts is None:
        counts = dict(query)
        if key and sum(counts.values()) >= BOARD_COUNTS_KEPT_FROM:
            cache.set(key, counts, BOARD_COUNTS_SECONDS)
    return counts


def pipeline_board(*, clinic: Clinic, filters: dict) -> list[dict]:
    """A column per status with its count and its newest cards: the counts in one query,
    then each column's newest cards from the (clinic, status, date added) index, a short
    range read per column however many leads the clinic has (ranking every lead with a
    window function read all of them)."""
    leads = leads_filtered(clinic=clinic, filters={**filters, "status": None})
    counts = _status_counts(leads)
    cards: dict[str, list[Lead]] = {status: [] for status in LeadStatus.values}
    for status in LeadStatus.values:
        if counts.get(status):
            cards[status] = list(leads.filter(status=status).order_by("-date_added", "-id")[:BOARD_CARDS_PER_COLUMN])
    return [
        {"status": status, "label": label, "count": counts.get(status, 0), "cards": cards[status]} for status, label in LeadStatus.choices
    ]


def cro_queue(*, clinic: Clinic) -> list[dict]:
    """Each CRO's stalling leads, longest-waiting first, with how long they have waited."""
    from leads.services import active_cros

    now = timezone.now()
    stalling = (
        Lead.objects.for_clinic(clinic).filter(status=LeadStatus.STALLING).select_related("assigned_to").order_by("sent_to_cro_at", "id")
    )
    by_cro: dict = {cro.pk: {"cro": cro, "leads": []} for cro in active_cros(clinic=clinic)}
    unassigned: dict[str, Any] = {"cro": None, "leads": []}
    for lead in stalling:
        lead.waiting = now - (lead.sent_to_cro_at or lead.updated_at)
        (by_cro.get(lead.assigned_to_id) or unassigned)["leads"].append(lead)
    queues = list(by_cro.values())
    if unassigned["leads"]:
        queues.append(unassigned)
    return queues


def follow_ups_due(*, clinic: Clinic, day: datetime.date | None = None) -> QuerySet[Lead]:
    day = day or clinic.today()
    return (
        Lead.objects.for_clinic(clinic)
        .filter(status__in=OPEN_STATUSES, next_follow_up__lte=day)
        .select_related("assigned_to")
        .order_by("next_follow_up", "date_added")
    )


def percentage(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def dashboard_stats(*, clinic: Clinic, date_from=None, date_to=None) -> dict:
    """The spec's KPIs (janmasethu §3.1) for leads added in the date range:
    conversion rate = converted ÷ added × 100; the CRO queue is the current count of
    leads Stalling – Sent to CRO, whatever the range."""
    added = leads_filtered(clinic=clinic, filters={"date_from": date_from, "date_to": date_to})
    totals = added.aggregate(total=Count("id"), converted=Count("id", filter=Q(status=LeadStatus.CONVERTED)))
    queue = Lead.objects.for_clinic(clinic).filter(status=LeadStatus.STALLING).count()
    by_source = list(added.order_by().values("source").annotate(count=Count("id")).order_by("-count", "source"))
    return {
        "date_from": date_from,
        "date_to": date_to,
        "total_leads": totals["total"],
        "converted": totals["converted"],
        "conversion_rate": percentage(totals["converted"], totals["total"]),
        "cro_queue": queue,
        "by_source": by_source,
    }


def dashboard_funnel(*, clinic: Clinic, date_from=None, date_to=None) -> dict:
    """Leads added in the range, per current status and per stage reached (a lead that
    went New → Contacted → CRO → Converted counts in every stage it passed)."""
    added = leads_filtered(clinic=clinic, filters={"date_from": date_from, "date_to": date_to})
    current = dict(added.order_by().values_list("status").annotate(n=Count("id")))
    reached = added.aggregate(
        new=Count("id"),
        contacted=Count("id", filter=Q(contacted_at__isnull=False)),
        stalling=Count("id", filter=Q(reached_cro_at__isnull=False)),
        converted=Count("id", filter=Q(status=LeadStatus.CONVERTED)),
        lost=Count("id", filter=Q(status=LeadStatus.LOST)),
    )
    return {
        "date_from": date_from,
        "date_to": date_to,
        "by_status": [{"status": s, "label": label, "count": current.get(s, 0)} for s, label in LeadStatus.choices],
        "by_stage_reached": [{"stage": s, "label": label, "count": reached[s]} for s, label in LeadStatus.choices],
    }


def cro_day(*, clinic: Clinic, user) -> dict:
    """A CRO's dashboard: their queue (longest waiting first), the follow-ups due, and this
    month's conversions (leads added this month, as the leads dashboard counts them)."""
    today = clinic.today()
    month_start = today.replace(day=1)
    mine = Lead.objects.for_clinic(clinic).filter(status=LeadStatus.STALLING, assigned_to=user).order_by("sent_to_cro_at", "id")
    now = timezone.now()
    queue = list(mine[:5])
    for lead in queue:
        lead.waiting = now - (lead.sent_to_cro_at or lead.updated_at)
    due = follow_ups_due(clinic=clinic, day=today)
    month = dashboard_stats(clinic=clinic, date_from=month_start, date_to=today)
    return {
        "today": today,
        "month_start": month_start,
        "queue_count": mine.count(),
        "queue": queue,
        "follow_ups_count": due.count(),
        "follow_ups": list(due[:5]),
        "month": month,
    }
