import datetime
import itertools
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clinicos.roles import Role
from conftest import in_clinic_scope
from leads import selectors, services
from leads.models import Lead, LeadActivity, LeadStatus
from leads.tests.factories import LeadFactory
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
S = LeadStatus
EXPECTED_MOVES = {
    (S.NEW, S.CONTACTED),
    (S.NEW, S.CONVERTED),
    (S.NEW, S.LOST),
    (S.CONTACTED, S.STALLING),
    (S.CONTACTED, S.CONVERTED),
    (S.CONTACTED, S.LOST),
    (S.STALLING, S.CONTACTED),
    (S.STALLING, S.CONVERTED),
    (S.STALLING, S.LOST),
    (S.LOST, S.CONTACTED),  # reopen, by an admin or a CRO
}


@pytest.fixture
def cros(make_member):
    return [make_member(Role.CRO) for _ in range(3)]


@pytest.fixture
def admin_membership(clinic_admin):
    return clinic_admin.memberships.get()


def lead_in(clinic, status, **extra):
    return LeadFactory(clinic=clinic, status=status, **extra)


@pytest.mark.parametrize("from_status, to_status", list(itertools.product(S.values, S.values)))
def test_every_pair_of_statuses_follows_the_flow(clinic, clinic_admin, admin_membership, cros, from_status, to_status):
    lead = lead_in(clinic, from_status)
    allowed = (from_status, to_status) in EXPECTED_MOVES
    assert services.can_move(from_status, to_status) == allowed
    if not allowed:
        with pytest.raises(services.TransitionNotAllowed):
            services.lead_move(lead=lead, to_status=to_status, user=clinic_admin, membership=admin_membership, lost_reason="Price")
        assert Lead.objects.get(pk=lead.pk).status == from_status
        return
    moved = services.lead_move(lead=lead, to_status=to_status, user=clinic_admin, membership=admin_membership, lost_reason="Price")
    assert moved.status == to_status
    assert LeadActivity.objects.filter(lead=lead, kind="status", from_status=from_status, to_status=to_status).exists()


def test_lost_needs_a_reason(clinic, front_desk):
    lead = lead_in(clinic, S.CONTACTED)
    with pytest.raises(ValidationError):
        services.lead_move(lead=lead, to_status=S.LOST, user=front_desk, lost_reason="  ")
    assert Lead.objects.get(pk=lead.pk).status == S.CONTACTED


def test_only_an_admin_or_a_cro_may_reopen_a_lost_lead(clinic, front_desk, cros):
    lead = lead_in(clinic, S.LOST, lost_reason="Too far")
    with pytest.raises(PermissionDenied):
        services.lead_move(lead=lead, to_status=S.CONTACTED, user=front_desk, membership=front_desk.memberships.get())
    reopened = services.lead_move(lead=lead, to_status=S.CONTACTED, user=cros[0], membership=cros[0].memberships.get())
    assert reopened.status == S.CONTACTED


def test_sending_to_cro_is_round_robin_and_fair(clinic, front_desk, cros):
    assigned = []
    for _ in range(7):
        lead = lead_in(clinic, S.CONTACTED)
        assigned.append(services.lead_move(lead=lead, to_status=S.STALLING, user=front_desk).assigned_to)
    assert assigned == [cros[0], cros[1], cros[2], cros[0], cros[1], cros[2], cros[0]]


def test_a_chosen_cro_is_respected_and_inactive_cros_are_skipped(clinic, front_desk, cros):
    lead = lead_in(clinic, S.CONTACTED)
    assert services.lead_move(lead=lead, to_status=S.STALLING, user=front_desk, cro=cros[2]).assigned_to == cros[2]
    cros[0].memberships.update(is_active=False)
    other = lead_in(clinic, S.CONTACTED)
    assert services.lead_move(lead=other, to_status=S.STALLING, user=front_desk).assigned_to != cros[0]


@given(st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=20))
@hypothesis_settings(max_examples=15, deadline=None)
def test_round_robin_never_gives_a_cro_two_more_than_another(cro_count, lead_count):
    from clinicos.tests.factories import ClinicFactory, MembershipFactory, UserFactory

    clinic = ClinicFactory()
    desk = UserFactory()
    team = [UserFactory() for _ in range(cro_count)]
    for cro in team:
        MembershipFactory(clinic=clinic, user=cro, roles=["cro"])
    for _ in range(lead_count):
        services.lead_move(lead=lead_in(clinic, S.CONTACTED), to_status=S.STALLING, user=desk)
    loads = [Lead.objects.filter(clinic=clinic, assigned_to=cro).count() for cro in team]
    assert max(loads) - min(loads) <= 1 and sum(loads) == lead_count


def test_a_phone_matching_an_open_lead_or_a_patient_is_flagged_and_linked(clinic, front_desk):
    data = {"name": "Hema", "phone": "+919900000001", "source": "Website", "inquiry": "IVF"}
    first = services.lead_create(clinic=clinic, user=front_desk, data=data)
    second = services.lead_create(clinic=clinic, user=front_desk, data=data)
    assert second.duplicate_of_lead == first
    patient = PatientFactory(clinic=clinic, mobile="+919900000002")
    third = services.lead_create(clinic=clinic, user=front_desk, data={**data, "phone": "+919900000002"})
    assert third.duplicate_of_patient == patient and third.duplicate_of_lead is None


def test_unknown_source_is_refused(clinic, front_desk):
    with pytest.raises(ValidationError):
        services.lead_create(
            clinic=clinic, user=front_desk, data={"name": "X", "phone": "+919900000003", "source": "Billboard", "inquiry": "IVF"}
        )
    services.lead_option_add(clinic=clinic, kind="source", label="Billboard")
    assert services.lead_create(
        clinic=clinic, user=front_desk, data={"name": "X", "phone": "+919900000003", "source": "Billboard", "inquiry": "IVF"}
    )


def test_conversion_creates_the_patient_and_marks_the_lead_in_one_go(clinic, front_desk):
    lead = lead_in(clinic, S.CONTACTED, name="Usha Rani", phone="+919900000010", age=29)
    result = services.lead_convert(lead=lead, user=front_desk, registration={})
    lead.refresh_from_db()
    assert lead.status == S.CONVERTED and lead.converted_patient == result.patient
    assert (result.patient.first_name, result.patient.last_name, result.patient.mobile) == ("Usha", "Rani", "+919900000010")
    assert result.patient.uhid.startswith("JAN-") and result.patient.date_of_birth_is_estimated
    with pytest.raises(services.AlreadyConverted):
        services.lead_convert(lead=lead, user=front_desk, registration={})
    assert Patient.objects.count() == 1


def test_a_failed_conversion_changes_nothing(clinic, front_desk):
    lead = lead_in(clinic, S.NEW, gender="", age=None)  # not enough to register a patient
    with pytest.raises(ValidationError) as refused:
        services.lead_convert(lead=lead, user=front_desk, registration={})
    assert "gender" in refused.value.message_dict
    assert Lead.objects.get(pk=lead.pk).status == S.NEW and not Patient.objects.exists()


def test_lost_leads_cannot_be_converted(clinic, front_desk):
    with pytest.raises(services.TransitionNotAllowed):
        services.lead_convert(lead=lead_in(clinic, S.LOST), user=front_desk, registration={})


def test_follow_ups_due_today_and_overdue(clinic, front_desk):
    today = timezone.localdate(timezone.now(), clinic.tzinfo)
    due = lead_in(clinic, S.CONTACTED, next_follow_up=today)
    overdue = lead_in(clinic, S.NEW, next_follow_up=today - datetime.timedelta(days=2))
    lead_in(clinic, S.NEW, next_follow_up=today + datetime.timedelta(days=1))
    lead_in(clinic, S.LOST, next_follow_up=today)
    assert list(selectors.follow_ups_due(clinic=clinic)) == [overdue, due]


def test_cro_queue_is_longest_waiting_first(clinic, cros):
    now = timezone.now()
    recent = lead_in(clinic, S.STALLING, assigned_to=cros[0], sent_to_cro_at=now - datetime.timedelta(hours=1))
    oldest = lead_in(clinic, S.STALLING, assigned_to=cros[0], sent_to_cro_at=now - datetime.timedelta(days=2))
    queues = selectors.cro_queue(clinic=clinic)
    first = next(q for q in queues if q["cro"] == cros[0])
    assert first["leads"] == [oldest, recent]
    assert first["leads"][0].waiting >= datetime.timedelta(days=2)


def test_dashboard_arithmetic_on_known_data(clinic, other_clinic):
    day = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=clinic.tzinfo)
    for status, count in ((S.NEW, 3), (S.CONTACTED, 2), (S.STALLING, 1), (S.CONVERTED, 3), (S.LOST, 1)):
        for _ in range(count):
            lead_in(
                clinic,
                status,
                date_added=day,
                source="Referral" if status == S.CONVERTED else "Website",
                contacted_at=day if status in (S.CONTACTED, S.STALLING) else None,
                reached_cro_at=day if status == S.STALLING else None,
            )
    lead_in(clinic, S.CONVERTED, date_added=day - datetime.timedelta(days=40))  # outside the range
    lead_in(clinic, S.STALLING, date_added=day - datetime.timedelta(days=40))  # outside, but queued now
    lead_in(other_clinic, S.CONVERTED, date_added=day)  # another clinic
    stats = selectors.dashboard_stats(clinic=clinic, date_from=datetime.date(2026, 3, 1), date_to=datetime.date(2026, 3, 31))
    assert (stats["total_leads"], stats["converted"], stats["conversion_rate"], stats["cro_queue"]) == (10, 3, Decimal("30.00"), 2)
    assert stats["by_source"] == [{"source": "Website", "count": 7}, {"source": "Referral", "count": 3}]
    funnel = selectors.dashboard_funnel(clinic=clinic, date_from=datetime.date(2026, 3, 1), date_to=datetime.date(2026, 3, 31))
    assert [row["count"] for row in funnel["by_status"]] == [3, 2, 1, 3, 1]
    assert [row["count"] for row in funnel["by_stage_reached"]] == [10, 3, 1, 3, 1]
    assert selectors.percentage(1, 3) == Decimal("33.33") and selectors.percentage(0, 0) == Decimal("0.00")


def test_dashboard_range_uses_the_clinics_days(clinic):
    # 23:30 on 31 March in Kolkata is still March there, though 18:00 UTC.
    late = datetime.datetime(2026, 3, 31, 23, 30, tzinfo=clinic.tzinfo)
    lead_in(clinic, S.NEW, date_added=late)
    assert (
        selectors.dashboard_stats(clinic=clinic, date_from=datetime.date(2026, 3, 31), date_to=datetime.date(2026, 3, 31))["total_leads"]
        == 1
    )
    assert (
        selectors.dashboard_stats(clinic=clinic, date_from=datetime.date(2026, 4, 1), date_to=datetime.date(2026, 4, 1))["total_leads"] == 0
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the double-click race is settled by PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_conversions_make_one_patient(clinic, front_desk):
    from django.db import close_old_connections

    lead = lead_in(clinic, S.CONTACTED, name="Race Twice", phone="+919900000020", age=30)
    outcomes, barrier = [], threading.Barrier(2)

    def convert():
        try:
            barrier.wait()
            services.lead_convert(lead=lead, user=front_desk, registration={})
            outcomes.append("converted")
        except services.AlreadyConverted:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=in_clinic_scope(clinic, convert)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["converted", "refused"]
    assert Patient.objects.filter(clinic=clinic).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent hand-offs are settled by PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_leads_sent_to_cro_at_the_same_moment_go_to_different_cros(clinic, front_desk, cros):
    from django.db import close_old_connections

    leads = [lead_in(clinic, S.CONTACTED) for _ in range(3)]
    barrier = threading.Barrier(3)

    def send(lead):
        try:
            barrier.wait()
            services.lead_move(lead=lead, to_status=S.STALLING, user=front_desk)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=in_clinic_scope(clinic, send), args=(lead,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("assigned_to", flat=True)) == sorted(
        c.pk for c in cros
    )
