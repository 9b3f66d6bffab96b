import datetime

import pytest
from django.db import connection
from django.db.models import Q

from patients import selectors, services
from patients.models import Patient, PatientNameKey
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(clinic, other_clinic):
    return {
        "kavya": PatientFactory(clinic=clinic, first_name="Kavya", last_name="Raghunathan", mobile="+919845012345"),
        "kavita": PatientFactory(clinic=clinic, first_name="Kavita", last_name="Shah", mobile="+919845067890"),
        "jose": PatientFactory(clinic=clinic, first_name="José", last_name="Ñúñez", mobile="+919800011122"),
        "archived": PatientFactory(clinic=clinic, first_name="Kavyashree", last_name="Old", status="archived"),
        "elsewhere": PatientFactory(clinic=other_clinic, first_name="Kavya", last_name="Elsewhere", mobile="+447700900123"),
    }


def names(patients):
    return [p.first_name for p in patients]


def test_name_prefix_is_case_and_accent_insensitive(clinic, front_desk, people):
    assert names(selectors.patient_search(user=front_desk, clinic=clinic, query="kav")) == ["Kavita", "Kavya"]
    assert names(selectors.patient_search(user=front_desk, clinic=clinic, query="JOSE")) == ["José"]
    assert names(selectors.patient_search(user=front_desk, clinic=clinic, query="nunez")) == ["José"]  # last name first


def test_search_never_crosses_clinics_and_skips_archived_by_default(clinic, front_desk, people):
    found = selectors.patient_search(user=front_desk, clinic=clinic, query="Kavya")
    assert people["elsewhere"] not in found and people["archived"] not in found
    assert people["archived"] in selectors.patient_search(user=front_desk, clinic=clinic, query="Kavya", include_archived=True)


def test_uhid_search(clinic, front_desk, people):
    assert list(selectors.patient_search(user=front_desk, clinic=clinic, query=people["jose"].uhid.lower())) == [people["jose"]]


def test_trailing_phone_digits_need_at_least_four(clinic, front_desk, people):
    assert list(selectors.patient_search(user=front_desk, clinic=clinic, query="2345")) == [people["kavya"]]
    assert list(selectors.patient_search(user=front_desk, clinic=clinic, query="98450")) == []  # not a trailing match
    assert list(selectors.patient_search(user=front_desk, clinic=clinic, query="345")) == []
    assert list(selectors.patient_search(user=front_desk, clinic=clinic, query="+91 98450 12345")) == [people["kavya"]]


def test_exact_national_id_finds_the_patient(clinic, front_desk, people):
    patient = services.patient_update(patient=people["kavita"], changes={}, national_id="5555 6666 7777")
    assert list(selectors.patient_search(user=front_desk, clinic=clinic, query="555566667777")) == [patient]


def test_fuzzy_search_finds_near_spellings(clinic, front_desk, people):
    found = selectors.quick_search(user=front_desk, clinic=clinic, query="Raghunatan" if connection.vendor == "postgresql" else "aghuna")
    assert people["kavya"] in found


def test_empty_query_finds_nothing(clinic, front_desk, people):
    assert list(selectors.patient_search(user=front_desk, clinic=clinic, query="   ")) == []


def test_list_filters_by_status_doctor_and_registration_date(clinic, front_desk, people, clinician):
    import datetime

    doctor = clinician.doctor_profiles.get()
    people["kavita"].assigned_doctor = doctor
    people["kavita"].registration_date = datetime.date(2025, 1, 10)
    people["kavita"].save()
    assert names(selectors.patient_list(user=front_desk, clinic=clinic, filters={"doctor": doctor})) == ["Kavita"]
    by_date = selectors.patient_list(user=front_desk, clinic=clinic, filters={"registered_to": datetime.date(2025, 12, 31)})
    assert names(by_date) == ["Kavita"]
    assert names(selectors.patient_list(user=front_desk, clinic=clinic, filters={"status": "archived"})) == ["Kavyashree"]
    newest = selectors.patient_list(user=front_desk, clinic=clinic, filters={"sort": "-registered"})
    assert names(newest)[-1] == "Kavita"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are a PostgreSQL matter")
def test_name_searches_read_their_indexes_in_order(clinic, front_desk, people):
    """With sequential scans priced out, the header's name search reads its first rows
    straight from the C-collated indexes (no sort), so it stops early however many of a
    million patients match; fuzzy matching has its trigram index."""
    from patients.selectors import _name_prefix

    # Enough rows for the planner's choice to mean something, then fresh statistics.
    Patient.objects.bulk_create(
        PatientFactory.build(clinic=clinic, first_name=f"Name{n:04d}", last_name=f"Family{n % 97}", uhid=f"BULK-{n}") for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
    patients = Patient.objects.filter(clinic=clinic, status="active")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            plans = {
                "patient_name_c": _name_prefix(patients, "search_name", "kav")[:10].explain(),
                "patient_lastname_c": _name_prefix(patients, "search_name_last_first", "nun")[:10].explain(),
            }
            for index, plan in plans.items():
                assert index in plan, f"{index} is not used:\n{plan}"
            assert "Sort" not in plans["patient_name_c"], "the name search must read in index order, not sort"
        finally:
            cursor.execute("SET enable_seqscan = on")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are a PostgreSQL matter")
def test_the_fuzzy_search_walks_the_trigram_index_of_distinct_names(clinic, other_clinic, front_desk, people):
    """A typo is matched against the clinic's distinct names, nearest first straight from
    the GiST index (no sort of every name, no scan of the patients), then reads only the
    patients of the few nearest names."""
    PatientNameKey.objects.bulk_create(
        [PatientNameKey(clinic=clinic, search_name=f"name{n:04d} family{n % 97}") for n in range(3000)]
        + [PatientNameKey(clinic=other_clinic, search_name=f"kavya other{n}") for n in range(3000)]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patientnamekey")
    plan = selectors._names_by_distance(clinic=clinic, key="kavia")[: selectors.FUZZY_NAMES].explain()
    assert "patient_name_key_trgm" in plan and "Order By" in plan and "Sort" not in plan and "Seq Scan" not in plan, plan
    # Nearest first, this clinic's names only, and the patients behind them.
    closest = selectors.closest_names(clinic=clinic, key="kavia")
    assert closest[0] == "kavita shah" and set(closest[1:3]) == {"kavya raghunathan", "kavyashree old"}, closest
    found = selectors.patient_search_fuzzy(user=front_desk, clinic=clinic, query="Kavia", exclude_ids=[])
    assert found == [people["kavita"], people["kavya"]]
    assert selectors.patient_search_fuzzy(user=front_desk, clinic=clinic, query="Zzyzx", exclude_ids=[]) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the paged name search is PostgreSQL's")
def test_a_name_search_is_paged_from_the_two_name_indexes(clinic, front_desk, people, api_client):
    """First-name and last-name matches in one name order, a page at a time, each page a
    merge of the two indexes read in order (not a sort of every match)."""
    Patient.objects.bulk_create(
        [PatientFactory.build(clinic=clinic, first_name=f"Ana{n:02d}", last_name="Ex", uhid=f"ANA-{n}") for n in range(30)]
        + [PatientFactory.build(clinic=clinic, first_name="Zed", last_name=f"Anand{n}", uhid=f"ZED-{n}") for n in range(5)]
        + [PatientFactory.build(clinic=clinic, first_name="Ana", last_name="Gone", uhid="OLD-1", status="archived")]
        # Enough other patients for the planner's choice to mean something.
        + [
            PatientFactory.build(clinic=clinic, first_name=f"Name{n:04d}", last_name=f"Family{n % 97}", uhid=f"FILL-{n}")
            for n in range(3000)
        ]
    )
    results = selectors.patient_list(user=front_desk, clinic=clinic, filters={"q": "ana"})
    assert isinstance(results, selectors.PatientsByName) and results.count() == 35
    expected = sorted(
        Patient.objects.filter(clinic=clinic, status="active").filter(
            Q(search_name__startswith="ana") | Q(search_name_last_first__startswith="ana")
        ),
        key=lambda patient: (patient.search_name.encode(), patient.pk),
    )
    assert [p.pk for p in results[0:25]] + [p.pk for p in results[25:50]] == [p.pk for p in expected]
    assert [p.first_name for p in results[30:35]] == ["Zed"] * 5
    assert selectors.patient_list(user=front_desk, clinic=clinic, filters={"q": "ana", "status": "all"}).count() == 36
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_bitmapscan = off")
        try:
            plan = results.page_ids(25, 50).explain()
        finally:
            cursor.execute("SET enable_seqscan = on")
            cursor.execute("SET enable_bitmapscan = on")
    assert "Merge Append" in plan and "patient_name_c" in plan and "patient_lastname_c" in plan, plan
    # The API pages the same way, with the count of every match.
    page = api_client(front_desk).get(f"/api/v1/clinics/{clinic.code}/patients?search=ana&page=2").json()
    assert page["count"] == 35 and [r["first_name"] for r in page["results"]][-5:] == ["Zed"] * 5
    # A UHID, a phone or another order is not a name search.
    assert not isinstance(selectors.patient_list(user=front_desk, clinic=clinic, filters={"q": "9845012345"}), selectors.PatientsByName)
    assert not isinstance(
        selectors.patient_list(user=front_desk, clinic=clinic, filters={"q": "ana", "sort": "uhid"}), selectors.PatientsByName
    )


def test_registering_and_renaming_remember_the_name_once(clinic, front_desk):
    data = {"first_name": "Meera", "last_name": "Pillai", "gender": "female", "mobile": "+919812300001"}
    first = services.patient_register(clinic=clinic, user=front_desk, data=data)
    services.patient_register(clinic=clinic, user=front_desk, data={**data, "mobile": "+919812300002"}, allow_duplicate=True)
    services.patient_update(patient=first, changes={"last_name": "Nair"})
    names = PatientNameKey.objects.filter(clinic=clinic, search_name__startswith="meera").values_list("search_name", flat=True)
    assert sorted(names) == ["meera nair", "meera pillai"]


def test_a_uhid_or_a_phone_never_reaches_the_fuzzy_search(clinic, front_desk, people, monkeypatch):
    def fuzzy(**kwargs):
        raise AssertionError("the fuzzy search ran")

    monkeypatch.setattr(selectors, "patient_search_fuzzy", fuzzy)
    kavya = people["kavya"]
    assert selectors.quick_search(user=front_desk, clinic=clinic, query=kavya.uhid) == [kavya]
    assert selectors.quick_search(user=front_desk, clinic=clinic, query=kavya.uhid.lower()) == [kavya]
    assert selectors.quick_search(user=front_desk, clinic=clinic, query="2345") == [kavya]
    assert selectors.quick_search(user=front_desk, clinic=clinic, query="+91 98450 12345") == [kavya]
    assert selectors.quick_search(user=front_desk, clinic=clinic, query=f"{clinic.uhid_prefix}-1999-") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are a PostgreSQL matter")
def test_the_duplicate_check_reads_indexes(clinic, front_desk, people):
    """Registering a patient or adding a lead looks the mobile (and the name with the birth
    date) up on indexes, not by reading every patient."""
    Patient.objects.bulk_create(
        PatientFactory.build(clinic=clinic, first_name=f"Name{n:04d}", mobile=f"+91900000{n:04d}", uhid=f"DUP-{n}") for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
        cursor.execute("SET enable_seqscan = off")
        try:
            query = Patient.objects.filter(clinic=clinic).filter(
                Q(mobile="+919000001234") | Q(search_name="name1234 patient", date_of_birth=datetime.date(1990, 1, 1))
            )
            plan = query.explain()
            assert "patient_mobile" in plan and "Seq Scan" not in plan, plan
        finally:
            cursor.execute("SET enable_seqscan = on")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans are a PostgreSQL matter")
def test_the_patients_list_reads_its_first_page_from_the_name_index(clinic, front_desk, people):
    Patient.objects.bulk_create(PatientFactory.build(clinic=clinic, first_name=f"Name{n:04d}", uhid=f"LIST-{n}") for n in range(3000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
    listing = selectors.patient_list(user=front_desk, clinic=clinic, filters={})
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # 3,000 rows: a scan would still be cheap
        try:
            plans = {"first page": listing.page_ids(0, 25).explain(), "a later page": listing.page_ids(200, 225).explain()}
        finally:
            cursor.execute("SET enable_seqscan = on")
    for page, plan in plans.items():
        # Read in index order, the status from the index too (migration 0008): no sort, and
        # the skipped rows are index entries, not patients' rows.
        assert "patient_name_c" in plan and "Sort" not in plan and "Filter" in plan, (page, plan)
    names = [patient.search_name for patient in listing[2000:2025]]
    everyone = sorted(
        Patient.objects.filter(clinic=clinic, status="active").values_list("search_name", "pk"), key=lambda row: (row[0].encode(), row[1])
    )
    assert names == [name for name, _ in everyone[2000:2025]]


def test_the_list_count_is_kept_a_minute(clinic, front_desk, people, django_assert_num_queries):
    from django.core.cache import cache

    from clinicos.pagination import CachedCountPaginator

    cache.clear()
    patients = selectors.patient_list(user=front_desk, clinic=clinic, filters={})
    expected = patients.count()
    assert CachedCountPaginator(patients, 25).count == expected
    again = selectors.patient_list(user=front_desk, clinic=clinic, filters={})
    with django_assert_num_queries(0):
        assert CachedCountPaginator(again, 25).count == expected
    other = selectors.patient_list(user=front_desk, clinic=clinic, filters={"status": "archived"})
    assert CachedCountPaginator(other, 25).count == other.count()  # another filter, another count
