"""The patient's timeline: one list, newest first, of what happened to them — merged from
the apps that own each kind (documents here; appointments from scheduling; visits and
vitals from clinical; later prescriptions, lab results and invoices), which register a
``TimelineSource`` in their ``AppConfig.ready()``.

However long the history, a page costs a bounded number of queries: one to count, one
UNION of (date, kind, id) sorted and sliced in the database, and one per kind on the page
to load its rows.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import CharField, F, QuerySet, Value

from clinicos.roles import Perm
from patients.models import Patient

PAGE_SIZE = 25


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    kind: str
    title: str
    detail: str = ""
    url: str = ""


@dataclass(frozen=True)
class TimelineSource:
    kind: str
    label: str
    perm: Perm
    # The patient's rows of this kind, unordered; ``date_field`` places them in time.
    rows: Callable[[Patient], QuerySet]
    date_field: str
    # Loads the rows of one page (``pks``) and describes each: {pk: (title, detail, url)}.
    describe: Callable[[Patient, list[int]], dict[int, tuple[str, str, str]]]
    order: int = 50


_sources: dict[str, TimelineSource] = {}


def register_source(source: TimelineSource) -> None:
    _sources[source.kind] = source


def register_rows_of(
    model,
    kind: str,
    label: str,
    perm: Perm,
    date_field: str,
    describe: Callable[[Patient, list[int]], dict[int, tuple[str, str, str]]],
    order: int,
    **only,
) -> None:
    """A source (``kind``, shown as ``label`` to members with ``perm``) of the patient's rows
    of ``model`` (those matching ``only``, e.g. ``is_deleted=False``), placed in time by
    ``date_field``, described by ``describe``, in the filter's place ``order``."""

    def rows(patient: Patient) -> QuerySet:
        return model.objects.filter(clinic_id=patient.clinic_id, patient=patient, **only)

    register_source(TimelineSource(kind, label, perm, rows, date_field, describe, order))


def sources_for(membership) -> list[TimelineSource]:
    return sorted((s for s in _sources.values() if membership.has_perm_in_clinic(s.perm)), key=lambda s: s.order)


def kinds_for(membership) -> list[tuple[str, str]]:
    return [(source.kind, source.label) for source in sources_for(membership)]


class UnknownKind(ValueError):
    pass


def timeline_page(*, patient: Patient, membership, kind: str = "", page=1):
    """One page of the timeline (a ``Page`` of ``TimelineEntry``), of every kind the
    membership may see or of one ``kind``."""
    sources = sources_for(membership)
    if kind:
        sources = [source for source in sources if source.kind == kind]
        if not sources:
            raise UnknownKind(f"Unknown kind “{kind}”: use one of {', '.join(k for k, _ in kinds_for(membership))}.")
    parts = [
        source.rows(patient)
        .order_by()
        .annotate(timeline_at=F(source.date_field), timeline_kind=Value(source.kind, output_field=CharField()))
        .values_list("timeline_at", "timeline_kind", "pk")
        for source in sources
    ]
    merged = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    paginator = Paginator(merged.order_by("-timeline_at", "-pk"), PAGE_SIZE)
    current = paginator.get_page(page)
    rows = list(current.object_list)
    by_kind: dict[str, list[int]] = {}
    for _at, row_kind, pk in rows:
        by_kind.setdefault(row_kind, []).append(pk)
    described = {k: _sources[k].describe(patient, pks) for k, pks in by_kind.items()}
    current.object_list = [TimelineEntry(at, row_kind, *described[row_kind].get(pk, ("", "", ""))) for at, row_kind, pk in rows]
    return current
