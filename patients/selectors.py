"""Reads of patient data: the one way to fetch a patient for a user, and search."""

import re

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, FloatField, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, Collate
from django.http import Http404
from django.utils import timezone

from clinicos.models import Clinic, User
from clinicos.roles import Perm
from clinicos.tenancy import membership_of
from patients import identity
from patients.models import BreakGlassAccess, CareTeamGrant, Document, InsuranceProvider, Patient, PatientNameKey

SEARCH_LIMIT = 10
MIN_PHONE_DIGITS = 4
FUZZY_SIMILARITY = 0.3
FUZZY_NAMES = 20  # the closest distinct names whose patients the fuzzy search reads
UHID_PATTERN = re.compile(r"^[A-Z0-9]{2,8}-\d{4}-\d+$", re.I)


def patients_visible_to(*, user: User, clinic: Clinic) -> QuerySet[Patient]:
    """The patients this user may look up in this clinic: every one for the roles that see
    all (and for doctors when the clinic lets doctors see all patients); otherwise, for a
    doctor, those assigned to them or booked with them. A user without the right to look
    up patients at all is refused (403), whatever the page that asked."""
    membership = membership_of(user, clinic)
    if membership is None or not membership.has_perm_in_clinic(Perm.PATIENTS_VIEW):
        raise PermissionDenied("Your role in this clinic does not allow opening patients' records.")
    patients = Patient.objects.for_clinic(clinic)
    if membership.has_perm_in_clinic(Perm.PATIENTS_VIEW_ALL) or clinic.doctors_see_all_patients:
        return patients
    return patients.filter(Q(pk__in=care_team_patient_ids(user)) | Q(pk__in=emergency_access_patient_ids(user=user, clinic=clinic)))


def care_team_patient_ids(user: User) -> QuerySet:
    """The patients this user is in the care team of (django-guardian grants, kept in step
    by the services of patients, scheduling and clinical)."""
    return CareTeamGrant.objects.filter(user=user, permission__codename="care_for_patient").values("content_object_id")


def emergency_access_patient_ids(*, user: User, clinic: Clinic) -> QuerySet:
    """The charts this user broke the glass for in the last four hours."""
    return BreakGlassAccess.objects.for_clinic(clinic).filter(user=user, expires_at__gt=timezone.now()).values("patient_id")


def may_break_the_glass(*, user: User, clinic: Clinic) -> bool:
    """Only a clinician restricted to a care team needs (and may use) emergency access."""
    membership = membership_of(user, clinic)
    return bool(
        membership is not None
        and membership.has_perm_in_clinic(Perm.CLINICAL_VIEW)
        and not membership.has_perm_in_clinic(Perm.PATIENTS_VIEW_ALL)
        and not clinic.doctors_see_all_patients
    )


def patient_get_for_user(*, user: User, clinic: Clinic, pk) -> Patient:
    """A patient this user may open, or 404 (also for another clinic's id, and for a
    patient outside a doctor's care team when the clinic restricts doctors)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404
    patient = (
        patients_visible_to(user=user, clinic=clinic)
        # The clinic (its timezone) and the allergy statement are read by most chart pages.
        .select_related("clinic", "assigned_doctor__user", "insurance_provider", "created_by", "allergy_statement")
        .filter(pk=pk)
        .first()
    )
    if patient is None:
        raise Http404("No such patient.")
    return patient


def insurer_get(*, clinic: Clinic, pk) -> InsuranceProvider:
    insurer = InsuranceProvider.objects.for_clinic(clinic).filter(pk=pk).first() if str(pk).isdigit() else None
    if insurer is None:
        raise Http404("No such insurer.")
    return insurer


def document_get_for_patient(*, patient: Patient, pk, include_deleted: bool = False) -> Document:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404
    documents = Document.objects.for_clinic(patient.clinic).filter(patient=patient, pk=pk)
    if not include_deleted:
        documents = documents.filter(is_deleted=False)
    document = documents.select_related("uploaded_by").first()
    if document is None:
        raise Http404("No such document.")
    return document


def documents_of_patient(*, patient: Patient) -> QuerySet[Document]:
    return Document.objects.for_clinic(patient.clinic).filter(patient=patient, is_deleted=False).select_related("uploaded_by")


def patient_search(*, user: User, clinic: Clinic, query: str, include_archived: bool = False) -> QuerySet[Patient]:
    """Patients matching what a receptionist typed: a UHID, the last 4+ digits of a phone,
    an exact national ID, or a name (prefix of the first or last name, then fuzzy).

    Prefix searches run on indexed, pre-normalized columns (lower case, no accents), so
    they stay fast with a million patients; fuzzy matching uses pg_trgm on PostgreSQL and
    a substring match on SQLite.
    """
    patients = patients_visible_to(user=user, clinic=clinic)
    if not include_archived:
        patients = patients.filter(status=Patient.Status.ACTIVE)
    text = without_nul(query).strip()
    if not text:
        return patients.none()
    digits = re.sub(r"\D", "", text)
    if UHID_PATTERN.match(text) or text.upper().startswith(f"{clinic.uhid_prefix}-"):
        return patients.filter(uhid__startswith=text.upper()).order_by("uhid")
    if digits and len(digits) == len(re.sub(r"[\s+()-]", "", text)):
        if len(digits) < MIN_PHONE_DIGITS:
            return patients.none()
        by_phone = patients.filter(mobile_digits_reversed__startswith=digits[::-1])
        by_national_id = patients.filter(national_id_hash=identity.national_id_hash(digits))
        found = by_phone | by_national_id
        if len(digits) in (10, 14):  # an NHS number, an ABHA number: exactly, on their unique indexes
            found = found | patients.filter(Q(nhs_number=digits) | Q(abha_number=digits))
        return found.order_by("search_name", "id")
    if identity.ABHA_ADDRESS.match(text.lower()):
        return patients.filter(abha_address=text.lower()).order_by("search_name", "id")
    key = identity.search_key(text)
    prefix = patients.filter(Q(search_name__startswith=key) | Q(search_name_last_first__startswith=key))
    return prefix.order_by("search_name", "id")


def patient_search_fuzzy(*, user: User, clinic: Clinic, query: str, exclude_ids, include_archived: bool = False) -> list[Patient]:
    """Close spellings ('Kavia' for 'Kavya') when the prefix search found too little.

    On PostgreSQL this is two index reads, whatever the number of patients: the clinic's
    distinct names (``PatientNameKey``) closest to the query, by trigram word distance
    from the GiST index, then the patients of those names, a few per name, closest name
    first. SQLite has no trigrams: there it is a substring match."""
    key = identity.search_key(without_nul(query))
    if len(key) < 3:
        return []
    patients = patients_visible_to(user=user, clinic=clinic).exclude(pk__in=list(exclude_ids))
    if not include_archived:
        patients = patients.filter(status=Patient.Status.ACTIVE)
    if connection.vendor != "postgresql":
        return list(patients.filter(search_name__contains=key).order_by("search_name")[:SEARCH_LIMIT])
    names = closest_names(clinic=clinic, key=key)
    if not names:
        return []
    # Matched in byte order, as the C-collated name index is kept: the nearest name is an
    # index range read in id order (with the database collation PostgreSQL would walk the
    # primary key instead, filtering every patient until ten match). It usually fills the
    # list; if not, one more query reads the other near names' first patients.
    by_name = patients.alias(name_key=Collate("search_name", "C")).order_by("name_key", "id")
    found: list[Patient] = list(by_name.filter(name_key=names[0])[:SEARCH_LIMIT])
    if len(found) < SEARCH_LIMIT and len(names) > 1:
        rank = {name: index for index, name in enumerate(names)}
        more = by_name.filter(name_key__in=names[1:])[: SEARCH_LIMIT - len(found)]
        found += sorted(more, key=lambda patient: (rank[patient.search_name], patient.pk))
    return found


class _WordDistanceTo(Func):
    """``name <->> 'query'`` (1 - word similarity of the query within the name), written
    column first: the form PostgreSQL needs to walk a GiST index in distance order."""

    template = "(%(expressions)s)"
    arg_joiner = " <->> "
    output_field = FloatField()


def closest_names(*, clinic: Clinic, key: str, limit: int = FUZZY_NAMES) -> list[str]:
    """The clinic's distinct names nearest to ``key`` (a search key) by trigram word
    similarity, nearest first, none further than ``FUZZY_SIMILARITY`` allows. PostgreSQL
    walks the GiST index of migration 0007 in distance order and stops after ``limit``
    names; the cut-off is applied to those few here, since a cut-off in the query would
    make the walk go on through every name when nothing is close."""
    nearest = _names_by_distance(clinic=clinic, key=key)[:limit]
    return [name for name, distance in nearest if distance <= 1 - FUZZY_SIMILARITY]


def _names_by_distance(*, clinic: Clinic, key: str) -> QuerySet:
    return (
        PatientNameKey.objects.for_clinic(clinic)
        .annotate(distance=_WordDistanceTo(F("search_name"), Value(key)))
        .order_by("distance")
        .values_list("search_name", "distance")
    )


def _name_prefix(patients: QuerySet, field: str, key: str) -> QuerySet:
    """Names starting with ``key``, in name order, as a range scan an index can stop early
    on: ``key <= name < next(key)`` under byte ("C") ordering, which PostgreSQL serves
    from the C-collated indexes of migration 0003 (SQLite compares bytes already)."""
    upper = key[:-1] + chr(ord(key[-1]) + 1)
    expression = Collate(field, "C") if connection.vendor == "postgresql" else F(field)
    return patients.alias(name_key=expression).filter(name_key__gte=key, name_key__lt=upper).order_by("name_key", "id")


def name_prefix_search(*, user: User, clinic: Clinic, query: str, limit: int = SEARCH_LIMIT) -> list[Patient]:
    """The first ``limit`` patients whose first or last name starts with ``query``: two
    index range scans that each stop after ``limit`` rows, however many patients match."""
    key = identity.search_key(without_nul(query))
    if not key:
        return []
    patients = patients_visible_to(user=user, clinic=clinic).filter(status=Patient.Status.ACTIVE)
    by_first = list(_name_prefix(patients, "search_name", key)[:limit])
    by_last = list(_name_prefix(patients, "search_name_last_first", key)[:limit])
    merged = {patient.pk: patient for patient in by_first + by_last}
    return sorted(merged.values(), key=lambda patient: (patient.search_name, patient.pk))[:limit]


def quick_search(*, user: User, clinic: Clinic, query: str) -> list[Patient]:
    """The header search: the best few matches, prefix matches first."""
    query = without_nul(query)
    text = query.strip()
    if _is_exact_lookup(clinic, text):
        # A phone, a national ID or a UHID is looked up exactly, on its index, and never
        # reaches the fuzzy name search (a trigram scan of every name in the clinic).
        return list(patient_search(user=user, clinic=clinic, query=text)[:SEARCH_LIMIT])
    found = name_prefix_search(user=user, clinic=clinic, query=text)
    if len(found) < SEARCH_LIMIT:
        found += patient_search_fuzzy(user=user, clinic=clinic, query=query, exclude_ids=[p.pk for p in found])[: SEARCH_LIMIT - len(found)]
    return found


def without_nul(text: str) -> str:
    """Search boxes: a NUL character can match nothing, and PostgreSQL refuses it."""
    return text.replace("\x00", "")


def patient_list(*, user: User, clinic: Clinic, filters: dict) -> "QuerySet[Patient] | PatientsByName":
    """The patients list (the page, the API, the invoice's patient picker): filtered,
    sorted, and sliceable page by page. In name order on PostgreSQL (the default) it is a
    ``PatientsByName``, which reads each page's ids from the name indexes alone."""
    from patients.forms import PatientFilterForm

    status = filters.get("status") or "active"
    include_archived = status in ("archived", "all")
    text = without_nul(filters.get("q") or "").strip()
    by_name = (filters.get("sort") or "name") == "name" and connection.vendor == "postgresql"
    if by_name and (not text or _is_a_name(clinic, text)):
        visible = _filtered(patients_visible_to(user=user, clinic=clinic), filters)
        return PatientsByName(patients=visible, key=identity.search_key(text) if text else None)
    if filters.get("q"):
        patients = patient_search(user=user, clinic=clinic, query=filters["q"], include_archived=include_archived)
    else:
        patients = patients_visible_to(user=user, clinic=clinic)
    patients = _filtered(patients, filters)
    order = PatientFilterForm.SORTS.get(filters.get("sort") or "name", PatientFilterForm.SORTS["name"])
    return patients.select_related("assigned_doctor__user").order_by(*order)


def _filtered(patients: QuerySet[Patient], filters: dict) -> QuerySet[Patient]:
    status = filters.get("status") or "active"
    if status in (Patient.Status.ACTIVE, Patient.Status.ARCHIVED):
        patients = patients.filter(status=status)
    if filters.get("doctor"):
        patients = patients.filter(assigned_doctor=filters["doctor"])
    if filters.get("registered_from"):
        patients = patients.filter(registration_date__gte=filters["registered_from"])
    if filters.get("registered_to"):
        patients = patients.filter(registration_date__lte=filters["registered_to"])
    return patients


def _is_exact_lookup(clinic: Clinic, text: str) -> bool:
    """A phone, a national ID or a UHID: looked up exactly on its index, never by name."""
    digits_only = bool(re.sub(r"[\s+()-]", "", text).isdigit())
    abha_address = bool(identity.ABHA_ADDRESS.match(text.lower()))
    return digits_only or abha_address or bool(UHID_PATTERN.match(text)) or text.upper().startswith(f"{clinic.uhid_prefix}-")


def _is_a_name(clinic: Clinic, text: str) -> bool:
    return not _is_exact_lookup(clinic, text) and bool(identity.search_key(text))


class PatientsByName:
    """Patients in name order as a sliceable list (what Django's paginator takes) that
    reads one page at a time: the page's ids from the C-collated name indexes of migrations
    0003 and 0008 alone (they carry the id and the status), then those rows.

    Without it, a deep page (page 500: 12,475 rows to skip) visited every skipped patient's
    row for its status, and a name search ("first name OR last name starts with 'ana'")
    made PostgreSQL fetch and sort all 40,000 matches (130 ms). With ``key``, each page is
    a ``UNION ALL`` of the first-name and the last-name range, each read in index order and
    stopped at the page's end, merged (a Merge Append). The count is kept a minute, as the
    lists' counts are."""

    ordered = True

    def __init__(self, *, patients: QuerySet[Patient], key: str | None = None):
        self.patients = patients
        named = patients.alias(
            name_key=Collate(Cast("search_name", TextField()), "C"), last_key=Collate(Cast("search_name_last_first", TextField()), "C")
        )
        if key is None:
            self.branches = [named]
            return
        upper = key[:-1] + chr(ord(key[-1]) + 1)
        by_first = Q(name_key__gte=key, name_key__lt=upper)
        self.branches = [named.filter(by_first), named.filter(last_key__gte=key, last_key__lt=upper).exclude(by_first)]

    def count(self) -> int:
        from clinicos.pagination import COUNT_SECONDS, query_cache_key

        key = "|".join(str(query_cache_key("patients-by-name", branch)) for branch in self.branches)
        count = cache.get(key)
        if count is None:
            count = sum(branch.count() for branch in self.branches)
            cache.set(key, count, COUNT_SECONDS)
        return count

    def __len__(self) -> int:
        return self.count()

    def __iter__(self):
        return iter(self[: self.count()])

    def page_ids(self, start: int, stop: int) -> QuerySet:
        """(id, name) of the rows ``start`` to ``stop``: each branch read in index order up
        to ``stop``, merged."""
        branches = [
            branch.annotate(sort_key=F("name_key")).values_list("pk", "sort_key").order_by("sort_key", "pk") for branch in self.branches
        ]
        if len(branches) == 1:
            return branches[0][start:stop]
        return branches[0][:stop].union(*(branch[:stop] for branch in branches[1:]), all=True).order_by("sort_key", "pk")[start:stop]

    def __getitem__(self, index):
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop = index.start or 0, index.stop if index.stop is not None else self.count()
        if stop <= start:
            return []
        ids = [pk for pk, _ in self.page_ids(start, stop)]
        rows = self.patients.select_related("assigned_doctor__user").in_bulk(ids)
        return [rows[pk] for pk in ids if pk in rows]
