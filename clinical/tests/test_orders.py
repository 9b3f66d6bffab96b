"""The Orders rules: the offline allergy matcher, prescriptions (block until acknowledged,
immutability, supersede, dispense), the lab status table, range selection and flags,
amended results, and the critical-result loop with its escalation run by the worker."""

import datetime
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from clinical import allergy_check, services
from clinical.inputs import LabResultInput
from clinical.models import LabOrder, LabResult, Prescription, ReferenceRange
from clinical.tests.conftest import AMOXICILLIN, FOLIC_ACID, penicillin_allergy
from clinicos.errors import Conflict, TransitionNotAllowed
from clinicos.models import Notification
from clinicos.roles import Role
from scheduling.models import WorkingHours

pytestmark = pytest.mark.django_db


class Allergy:
    def __init__(self, substance):
        self.substance = substance


def matches(medicine, substance):
    return [(m.match, m.drug_class) for m in allergy_check.check_medicine(medicine, [Allergy(substance)])]


# --- The allergy matcher -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("medicine", "substance"),
    [
        ("Amoxicillin", "amoxicillin"),
        ("AMOXICILLIN", "Amoxicillin"),
        ("Amoxicillin + clavulanic acid", "Amoxicillin"),
        ("Ampicilína", "ampicilina"),  # accents
        ("Ibuprofen 400 mg", "IBUPROFEN"),
    ],
)
def test_the_same_substance_is_an_exact_match(medicine, substance):
    assert matches(medicine, substance) == [("exact", "")]


@pytest.mark.parametrize(
    ("medicine", "substance", "drug_class"),
    [
        ("Amoxicillin", "Penicillin", "penicillins"),
        ("Flucloxacillin", "penicillins", "penicillins"),
        ("Piperacillin", "Beta-lactam", "penicillins"),
        ("Cefalexin", "Amoxicillin", "aminocephalosporins ↔ aminopenicillins"),
        ("Ampicillin", "Cefaclor", "aminopenicillins ↔ aminocephalosporins"),
        ("Ceftriaxone", "Cephalosporins", "cephalosporins"),
        ("Meropenem", "imipenem", "carbapenems"),
        ("Co-trimoxazole", "Sulfa drugs", "sulfonamide antibiotics"),
        ("Sulfamethoxazole", "sulphonamides", "sulfonamide antibiotics"),
        ("Diclofenac", "Aspirin", "NSAIDs"),
        ("Ibuprofen", "NSAIDs", "NSAIDs"),
        ("Clarithromycin", "Erythromycin", "macrolides"),
        ("Levofloxacin", "Ciprofloxacin", "fluoroquinolones"),
        ("Tramadol", "codeine", "opioids"),
        ("Morphine", "Opiates", "opioids"),
    ],
)
def test_a_drug_of_the_same_class_is_a_class_match(medicine, substance, drug_class):
    assert matches(medicine, substance) == [("class", drug_class)]


@pytest.mark.parametrize(
    ("medicine", "substance"),
    [
        ("Paracetamol", "Penicillin"),
        ("Cefalexin", "Penicillin"),  # other side chains: no cross-reactivity by default (2022 parameter)
        ("Ceftriaxone", "Amoxicillin"),
        ("Azithromycin", "Penicillin"),
        ("Penicillamine", "Penicillin"),  # whole words only
        ("Folic acid", "Sulfa drugs"),
        ("Metformin", "Latex"),
    ],
)
def test_unrelated_medicines_do_not_match(medicine, substance):
    assert matches(medicine, substance) == []


@given(
    member=st.sampled_from(sorted(allergy_check.PENICILLINS.members)),
    upper=st.booleans(),
    suffix=st.sampled_from(["", " 500 mg", " + clavulanic acid"]),
)
def test_every_penicillin_warns_a_penicillin_allergy_whatever_its_spelling(member, upper, suffix):
    medicine = (member.upper() if upper else member.title()) + suffix
    assert allergy_check.check_medicine(medicine, [Allergy("Penicillin")]), medicine


@given(text=st.text(max_size=40))
def test_the_matcher_never_fails_on_any_text(text):
    allergy_check.check_medicine(text, [Allergy(text), Allergy("Penicillin")])


# --- Prescriptions ------------------------------------------------------------------------------------


def test_a_prescription_warns_on_allergies_and_blocks_finalizing_until_each_is_acknowledged(order_visit, prescriber, order_patient):
    penicillin_allergy(order_patient, prescriber.user)
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID, AMOXICILLIN])
    assert prescription.status == "draft" and prescription.reference.startswith("ABC01-RX")
    warnings = list(prescription.items.get(position=2).warnings.all())
    assert [(w.match, w.allergy_substance, w.drug_class) for w in warnings] == [("class", "Penicillin", "penicillins")]
    assert not prescription.items.get(position=1).warnings.exists()

    with pytest.raises(services.AllergyWarningsPending) as pending:
        services.prescription_finalize(prescription=prescription, user=prescriber.user)
    assert pending.value.problem_fields()["warnings"][0]["item_index"] == 1
    assert Prescription.objects.get(pk=prescription.pk).status == "draft"

    services.prescription_finalize(prescription=prescription, user=prescriber.user, override_reason="Tolerated amoxicillin in 2024")
    prescription.refresh_from_db()
    warning = prescription.items.get(position=2).warnings.get()
    assert prescription.status == "finalized" and warning.override_reason == "Tolerated amoxicillin in 2024"
    assert warning.acknowledged_by == prescriber.user
    assert prescription.valid_until == timezone.localdate(timezone=order_visit.clinic.tzinfo) + datetime.timedelta(days=30)


def test_finalizing_with_an_unknown_allergy_list_needs_the_doctors_confirmation(order_visit, prescriber):
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID])
    with pytest.raises(services.AllergyListUnknown):
        services.prescription_finalize(prescription=prescription, user=prescriber.user)
    services.prescription_finalize(prescription=prescription, user=prescriber.user, allergies_unknown_confirmed=True)
    prescription.refresh_from_db()
    assert prescription.status == "finalized" and prescription.allergy_list_unknown


def test_a_finalized_prescription_is_immutable_and_a_correction_supersedes_it(order_visit, prescriber, order_patient):
    services.no_known_allergies_record(patient=order_patient, user=prescriber.user)
    first = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID])
    services.prescription_finalize(prescription=first, user=prescriber.user)
    for change in (
        lambda: services.prescription_update(prescription=first, user=prescriber.user, notes="x"),
        lambda: services.prescription_item_add(prescription=first, user=prescriber.user, data=AMOXICILLIN),
        lambda: services.prescription_item_remove(prescription=first, user=prescriber.user, item=first.items.get()),
        lambda: services.prescription_discard(prescription=first, user=prescriber.user),
        lambda: services.prescription_finalize(prescription=first, user=prescriber.user),
    ):
        with pytest.raises(Conflict):
            change()
    with pytest.raises(Conflict, match="already has prescription"):
        services.prescription_create(visit=order_visit, user=prescriber.user, items=[AMOXICILLIN])

    correction = services.prescription_create(
        visit=order_visit, user=prescriber.user, items=[{**FOLIC_ACID, "quantity": 60, "duration": "60 days"}], supersedes=first
    )
    first.refresh_from_db()
    assert first.status == "finalized"  # valid until the correction is final
    services.prescription_finalize(prescription=correction, user=prescriber.user)
    first.refresh_from_db()
    correction.refresh_from_db()
    assert (first.status, correction.status, correction.supersedes_id) == ("superseded", "finalized", first.pk)
    assert first.items.get().quantity == 30  # both kept as they were


def test_bad_items_are_refused_with_a_message_per_field_and_nothing_is_stored(order_visit, prescriber):
    with pytest.raises(ValidationError) as error:
        services.prescription_create(
            visit=order_visit, user=prescriber.user, items=[{**FOLIC_ACID, "medicine": " ", "quantity": 0, "route": "teleport"}]
        )
    assert set(error.value.message_dict) == {"items.0.medicine", "items.0.quantity", "items.0.route"}
    with pytest.raises(ValidationError):
        services.prescription_create(visit=order_visit, user=prescriber.user, items=[])
    assert not Prescription.objects.exists()


def test_only_a_doctor_prescribes(order_visit, make_member):
    nurse = make_member(Role.NURSE)
    with pytest.raises(Conflict, match="Only a doctor"):
        services.prescription_create(visit=order_visit, user=nurse, items=[FOLIC_ACID])


def test_the_pharmacist_dispenses_only_what_is_left_of_a_valid_prescription(order_visit, prescriber, order_patient, pharmacist):
    services.no_known_allergies_record(patient=order_patient, user=prescriber.user)
    prescription = services.prescription_create(visit=order_visit, user=prescriber.user, items=[FOLIC_ACID, AMOXICILLIN])
    with pytest.raises(Conflict, match="cannot be dispensed"):
        services.prescription_dispense(prescription=prescription, user=pharmacist)
    services.prescription_finalize(prescription=prescription, user=prescriber.user)
    folic, amoxicillin = prescription.items.order_by("position")
    services.prescription_dispense(prescription=prescription, user=pharmacist, quantities={folic.pk: 10})
    with pytest.raises(ValidationError, match="Only 20 left"):
        services.prescription_dispense(prescription=prescription, user=pharmacist, quantities={folic.pk: 21})
    services.prescription_dispense(prescription=prescription, user=pharmacist)  # the rest
    assert services.dispensed_quantities(item_ids=[folic.pk, amoxicillin.pk]) == {folic.pk: 30, amoxicillin.pk: 15}
    with pytest.raises(Conflict, match="dispensed already"):
        services.prescription_dispense(prescription=prescription, user=pharmacist)

    with time_machine.travel(timezone.now() + datetime.timedelta(days=32)):
        assert not services.prescription_is_valid(prescription)


# --- Lab orders: the status table -------------------------------------------------------------------

STEPS = ["ordered", "sample_collected", "in_progress", "completed", "cancelled"]
ALLOWED = {("ordered", "sample_collected"), ("sample_collected", "in_progress"), ("in_progress", "completed")}
ALLOWED |= {(status, "cancelled") for status in ("ordered", "sample_collected", "in_progress")}


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(STEPS, STEPS)))
def test_the_lab_status_table_allows_one_step_on_and_a_cancel_before_completion(
    from_status, to_status, order_visit, prescriber, catalog, lab_tech
):
    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"]], visit=order_visit)
    LabOrder.objects.filter(pk=order.pk).update(status=from_status)
    if to_status == "completed" and from_status == "in_progress":  # completion needs the final results
        LabOrder.objects.filter(pk=order.pk).update(status="sample_collected")
        services.lab_results_enter(
            order=order, user=lab_tech, results=[LabResultInput.of(test_id=order.tests.get().pk, value="2.1", final=True)]
        )
        assert LabOrder.objects.get(pk=order.pk).status == "completed"
        return
    if (from_status, to_status) in ALLOWED:
        moved = services.lab_order_set_status(order=order, user=lab_tech, to_status=to_status, reason="Sample haemolysed")
        assert moved.status == to_status
        by_field = {"sample_collected": "sample_collected_by", "in_progress": "started_by", "cancelled": "cancelled_by"}[to_status]
        assert getattr(moved, by_field) == lab_tech
    else:
        with pytest.raises(TransitionNotAllowed):
            services.lab_order_set_status(order=order, user=lab_tech, to_status=to_status, reason="x")
        assert LabOrder.objects.get(pk=order.pk).status == from_status


def test_cancelling_needs_a_reason_and_completing_by_hand_needs_every_final_result(order_visit, prescriber, catalog, lab_tech):
    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"], catalog["PRL"]])
    with pytest.raises(ValidationError, match="why"):
        services.lab_order_set_status(order=order, user=lab_tech, to_status="cancelled")
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    services.lab_order_set_status(order=order, user=lab_tech, to_status="in_progress")
    with pytest.raises(Conflict, match="every test has a final result"):
        services.lab_order_set_status(order=order, user=lab_tech, to_status="completed")


def test_results_wait_for_the_sample(order_visit, prescriber, catalog, lab_tech):
    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"]])
    with pytest.raises(Conflict, match="once the sample is collected"):
        services.lab_results_enter(order=order, user=lab_tech, results=[LabResultInput.of(test_id=order.tests.get().pk, value="2")])
    assert not LabResult.objects.exists()


def test_ordering_refuses_an_empty_order_and_another_clinics_test(order_visit, prescriber, other_clinic):
    from clinical import lab_catalog
    from clinical.models import LabTest

    lab_catalog.install(other_clinic)
    with pytest.raises(ValidationError):
        services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[])
    with pytest.raises(ValidationError, match="catalog"):
        services.lab_order_create(
            patient=order_visit.patient, user=prescriber.user, lab_tests=[LabTest.objects.get(clinic=other_clinic, code="TSH")]
        )


# --- Ranges and flags ----------------------------------------------------------------------------


def test_the_range_follows_the_patients_sex_and_age_band(catalog):
    amh, hb, fsh = catalog["AMH"], catalog["HB"], catalog["FSH"]
    assert services.applicable_range(amh, sex="female", age_years=25).label == "18–29 y"
    assert services.applicable_range(amh, sex="female", age_years=30).label == "30–39 y"  # "from" is included
    assert services.applicable_range(amh, sex="female", age_years=44).label == "40 y and over"
    assert services.applicable_range(amh, sex="male", age_years=30) is None
    assert services.applicable_range(hb, sex="male", age_years=40).low == Decimal("13.5")
    assert services.applicable_range(hb, sex="female", age_years=40).low == Decimal("12.0")
    assert services.applicable_range(fsh, sex="female", age_years=None) is None  # an adult band needs an age
    specific = ReferenceRange.objects.create(clinic=fsh.clinic, lab_test=fsh, sex="any", age_min_years=0, low=1, high=2)
    ranges = list(ReferenceRange.objects.filter(lab_test=fsh))
    assert services.applicable_range(fsh, sex="other", age_years=None, ranges=ranges) == specific


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        ("2.49", "critical_low"),
        ("2.5", "critical_low"),  # at the critical bound: critical
        ("2.51", "low"),
        ("3.49", "low"),
        ("3.5", "normal"),  # at the normal bound: normal
        ("5.1", "normal"),
        ("5.11", "high"),
        ("6.49", "high"),
        ("6.5", "critical_high"),
        ("9", "critical_high"),
    ],
)
def test_flags_at_and_beyond_each_bound(value, flag):
    bounds = {"low": Decimal("3.5"), "high": Decimal("5.1"), "critical_low": Decimal("2.5"), "critical_high": Decimal("6.5")}
    assert services.numeric_flag(Decimal(value), **bounds) == flag


def test_a_result_keeps_the_range_that_applied_and_a_correction_is_an_amended_version(order_visit, prescriber, catalog, lab_tech):
    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"], catalog["UPT"]])
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    tsh, upt = order.tests.order_by("id")
    services.lab_results_enter(
        order=order,
        user=lab_tech,
        results=[
            LabResultInput.of(test_id=tsh.pk, value="5.2", final=False),
            LabResultInput.of(test_id=upt.pk, value="positive", final=True),
        ],
    )
    order.refresh_from_db()
    assert order.status == "in_progress" and order.started_by == lab_tech
    first = LabResult.objects.get(order_test=tsh)
    assert (first.flag, first.range_low, first.range_high, first.range_text, first.status) == (
        "high",
        Decimal("0.4"),
        Decimal("4"),
        "0.4–4 mIU/L",
        "preliminary",
    )
    assert LabResult.objects.get(order_test=upt).flag == "abnormal"

    ReferenceRange.objects.filter(lab_test=catalog["TSH"]).update(high=Decimal("6"))  # a later catalog change
    first.refresh_from_db()
    assert first.range_high == Decimal("4")

    services.lab_results_enter(order=order, user=lab_tech, results=[LabResultInput.of(test_id=tsh.pk, value="5.0", final=True)])
    order.refresh_from_db()
    assert order.status == "completed"
    services.lab_results_enter(order=order, user=lab_tech, results=[LabResultInput.of(test_id=tsh.pk, value="3.1", final=True)])
    versions = list(LabResult.objects.filter(order_test=tsh).order_by("version"))
    assert [(v.version, v.status, v.is_current, v.value_numeric) for v in versions] == [
        (1, "preliminary", False, Decimal("5.2")),
        (2, "final", False, Decimal("5.0")),
        (3, "amended", True, Decimal("3.1")),
    ]
    assert versions[2].previous == versions[1]
    with pytest.raises(ValidationError, match="final"):
        services.lab_results_enter(order=order, user=lab_tech, results=[LabResultInput.of(test_id=tsh.pk, value="3.0", final=False)])


def test_bad_result_input_is_refused_field_by_field(order_visit, prescriber, catalog, lab_tech):
    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"]])
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    test_id = order.tests.get().pk
    for bad, field in (
        (LabResultInput.of(test_id=test_id, value="high"), "results.0.value"),
        (LabResultInput.of(test_id=test_id, value="NaN"), "results.0.value"),
        (LabResultInput.of(test_id=test_id, value=""), "results.0.value"),
        (LabResultInput.of(test_id=999999, value="2"), "results.0.test_id"),
        (LabResultInput.of(test_id=test_id, value="2", unit="ng/mL"), "results.0.unit"),
        (LabResultInput.of(test_id=test_id, value="2", flag="purple"), "results.0.flag"),
    ):
        with pytest.raises(ValidationError) as error:
            services.lab_results_enter(order=order, user=lab_tech, results=[bad])
        assert field in error.value.message_dict
    with pytest.raises(ValidationError, match="Say why"):
        services.lab_results_enter(order=order, user=lab_tech, results=[LabResultInput.of(test_id=test_id, value="2", flag="high")])
    assert not LabResult.objects.exists()


def test_the_flag_may_be_overridden_with_a_reason(order_visit, prescriber, catalog, lab_tech):
    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"]])
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    services.lab_results_enter(
        order=order,
        user=lab_tech,
        results=[LabResultInput.of(test_id=order.tests.get().pk, value="4.05", flag="normal", flag_reason="Within the analyser's error")],
    )
    result = LabResult.objects.get()
    assert (result.computed_flag, result.flag, result.flag_override_reason) == ("high", "normal", "Within the analyser's error")


# --- The critical-result loop ----------------------------------------------------------------------


def critical_potassium(order_visit, prescriber, catalog, lab_tech):
    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["K"]], urgency="urgent")
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    services.lab_results_enter(
        order=order, user=lab_tech, results=[LabResultInput.of(test_id=order.tests.get().pk, value="6.9", final=True)]
    )
    return order, LabResult.objects.get(order_test__order=order)


def test_a_critical_result_alerts_the_ordering_doctor_at_once(order_visit, prescriber, catalog, lab_tech, clinic):
    order, result = critical_potassium(order_visit, prescriber, catalog, lab_tech)
    assert result.flag == "critical_high"
    alert = Notification.objects.get(recipient=prescriber.user, kind="critical_result")
    assert "CRITICAL: Potassium 6.9" in alert.title and alert.url == f"/c/{clinic.code}/lab/orders/{order.pk}/"
    assert list(services.unacknowledged_critical_results(clinic)) == [result]


def test_acknowledging_needs_a_comment_and_a_doctor(order_visit, prescriber, catalog, lab_tech, clinic):
    _order, result = critical_potassium(order_visit, prescriber, catalog, lab_tech)
    with pytest.raises(ValidationError):
        services.lab_result_acknowledge(result=result, user=prescriber.user, comment="  ")
    with pytest.raises(Conflict, match="Only a doctor"):
        services.lab_result_acknowledge(result=result, user=lab_tech, comment="Called the doctor")
    services.lab_result_acknowledge(result=result, user=prescriber.user, comment="Patient called, sent to emergency")
    result.refresh_from_db()
    assert result.acknowledged_by == prescriber.user and result.acknowledgement_comment == "Patient called, sent to emergency"
    assert not services.unacknowledged_critical_results(clinic).exists()
    with pytest.raises(Conflict, match="Already acknowledged"):
        services.lab_result_acknowledge(result=result, user=prescriber.user, comment="again")
    assert result.history.filter(acknowledged_by=prescriber.user).exists()  # audited


@pytest.fixture
def run_worker(monkeypatch):
    """The real database worker, run until the queue is empty. It closes "old" database
    connections between tasks, which would close the test's own transaction: not here."""
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)

    def run():
        call_command("worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    return run


def test_an_unacknowledged_critical_result_escalates_after_the_clinics_minutes(
    order_visit, prescriber, catalog, lab_tech, clinic, clinic_admin, run_worker, django_capture_on_commit_callbacks
):
    from clinicos.tests.factories import DoctorProfileFactory

    on_duty = DoctorProfileFactory(clinic=clinic)
    off_duty = DoctorProfileFactory(clinic=clinic)
    now = timezone.localtime(timezone.now(), clinic.tzinfo)
    WorkingHours.objects.create(
        clinic=clinic,
        doctor=on_duty,
        weekday=(now + datetime.timedelta(minutes=31)).weekday(),
        start_time=datetime.time(0, 0),
        end_time=datetime.time(23, 59),
    )

    with time_machine.travel(now, tick=False):
        with django_capture_on_commit_callbacks(execute=True):  # the escalation is enqueued on commit
            _order, result = critical_potassium(order_visit, prescriber, catalog, lab_tech)
        run_worker()  # too early: nothing happens
        assert not Notification.objects.filter(kind="critical_result_escalated").exists()
    with time_machine.travel(now + datetime.timedelta(minutes=31), tick=False):
        run_worker()
    escalated_to = set(Notification.objects.filter(kind="critical_result_escalated").values_list("recipient", flat=True))
    assert {clinic_admin.pk, on_duty.user_id, prescriber.user_id} <= escalated_to
    assert off_duty.user_id not in escalated_to
    result.refresh_from_db()
    assert result.escalated_at is not None


def test_an_acknowledged_result_does_not_escalate(order_visit, prescriber, catalog, lab_tech, clinic, clinic_admin, run_worker):
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        _order, result = critical_potassium(order_visit, prescriber, catalog, lab_tech)
        services.lab_result_acknowledge(result=result, user=prescriber.user, comment="Repeat sample taken")
    with time_machine.travel(now + datetime.timedelta(hours=1), tick=False):
        run_worker()
    assert not Notification.objects.filter(kind="critical_result_escalated").exists()


def test_a_short_course_leaves_current_medications_when_it_ends_not_when_the_prescription_does(order_visit, prescriber):
    import time_machine

    from clinical.selectors.prescriptions import current_prescribed_medicines

    services.no_known_allergies_record(patient=order_visit.patient, user=prescriber.user)
    prescription = services.prescription_create(
        visit=order_visit, user=prescriber.user, items=[AMOXICILLIN, {**FOLIC_ACID, "duration": "30 days"}]
    )
    services.prescription_finalize(prescription=prescription, user=prescriber.user)
    prescription.refresh_from_db()
    zone = order_visit.clinic.tzinfo
    first_day = timezone.localdate(prescription.finalized_at, timezone=zone)
    assert {item.medicine for item in current_prescribed_medicines(patient=order_visit.patient)} == {"Amoxicillin", "Folic acid"}
    with time_machine.travel(prescription.finalized_at + datetime.timedelta(days=6)):
        running = current_prescribed_medicines(patient=order_visit.patient)
        assert [item.medicine for item in running] == ["Folic acid"]  # the 5-day course is over
        assert running[0].until == min(first_day + datetime.timedelta(days=29), prescription.valid_until)


def test_a_result_reads_by_its_test_and_value_on_the_audit_trail(order_visit, prescriber, catalog, lab_tech):
    from clinicos.models import AuditLog

    order = services.lab_order_create(patient=order_visit.patient, user=prescriber.user, lab_tests=[catalog["TSH"]])
    services.lab_order_set_status(order=order, user=lab_tech, to_status="sample_collected")
    services.lab_results_enter(order=order, user=lab_tech, results=[LabResultInput.of(test_id=order.tests.get().pk, value="2.50")])
    entry = AuditLog.objects.filter(entity_type="clinical.labresult").get()
    assert entry.entity_repr.startswith(f"{catalog['TSH'].name}: 2.5 ") and entry.entity_repr.endswith("(v1)")
