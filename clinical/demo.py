"""Demo clinical data: visits with notes for the demo's completed and in-progress
appointments, a vitals series, and medical histories (one patient with a penicillin
allergy, one with "no known allergies", most unknown). Idempotent."""

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from clinical import lab_catalog, services
from clinical.inputs import LabResultInput
from clinical.models import (
    Allergy,
    AllergyStatement,
    ClinicalNote,
    Condition,
    Immunization,
    LabOrder,
    LabResult,
    LabTest,
    Medication,
    Prescription,
    Procedure,
    Visit,
    VitalSigns,
)
from clinical.services import visits as visit_services
from clinicos.models import Clinic, User
from patients.models import CareTeamGrant, Patient
from patients.services import CARE_TEAM_PERMISSION
from scheduling.models import Appointment, AppointmentStatus

NOTES = {
    "ABC01": [
        {
            "chief_complaint": "Unable to conceive for 2 years",
            "subjective": "Regular cycles of 28–30 days. No previous pregnancies. Partner's semen analysis pending.",
            "objective": "Well. Abdomen soft. Transvaginal scan: normal uterus, antral follicle count 14.",
            "assessment": "Primary female infertility, cause not yet found.",
            "diagnosis_codes": ["N97.9"],
            "plan": "Day-2 FSH, LH, AMH; HSG after menses; semen analysis for partner. Review with results.",
        },
        {
            "chief_complaint": "Follow-up: scan and hormone results",
            "subjective": "Feels well. Started folic acid.",
            "objective": "AMH 2.8 ng/mL. HSG: both tubes patent.",
            "assessment": "Unexplained infertility.",
            "diagnosis_codes": ["N97.9"],
            "plan": "Discussed ovulation induction with letrozole and timed intercourse for 3 cycles, then IUI.",
        },
        {
            "chief_complaint": "Irregular periods",
            "subjective": "Cycles of 35–60 days, acne, weight gain over a year.",
            "objective": "BMI raised. Scan: multiple peripheral follicles in both ovaries.",
            "assessment": "Polycystic ovary syndrome.",
            "diagnosis_codes": ["E28.2"],
            "plan": "Lifestyle advice; metformin 500 mg; letrozole from day 3 next cycle; follicular tracking.",
        },
    ],
    "XYZ02": [
        {
            "chief_complaint": "Sore throat and fever for 3 days",
            "subjective": "Painful swallowing, no cough. No known contacts.",
            "objective": "Temperature 38.4 °C. Tonsils enlarged with exudate; tender cervical nodes.",
            "assessment": "Acute tonsillitis.",
            "diagnosis_codes": ["J03.9"],
            "plan": "Paracetamol, fluids, rest. Review if not better in 3 days.",
        },
        {
            "chief_complaint": "Blood pressure check",
            "subjective": "On amlodipine, no side effects. Occasional headaches.",
            "objective": "BP 142/88 seated, repeated 138/86.",
            "assessment": "Essential hypertension, not yet at target.",
            "diagnosis_codes": ["I10"],
            "plan": "Continue amlodipine; home readings for 2 weeks; reduce salt. Review in a month.",
        },
        {
            "chief_complaint": "Routine check-up",
            "subjective": "No complaints. Non-smoker.",
            "objective": "Heart and lungs normal.",
            "assessment": "Healthy adult.",
            "diagnosis_codes": ["Z00.0"],
            "plan": "Fasting lipids and HbA1c. Routine review in a year.",
        },
    ],
}
VISITS_PER_CLINIC = 40


def seed(stdout=None) -> None:
    for code in NOTES:
        clinic = Clinic.objects.filter(code=code).first()
        if clinic is None:
            continue
        if not Visit.objects.for_clinic(clinic).exists():
            _seed_clinic(clinic)
            if stdout:
                stdout.write(f"  {Visit.objects.for_clinic(clinic).count()} visits at {clinic.name}")
        if not LabTest.objects.for_clinic(clinic).exists():
            lab_catalog.install(clinic)
            _seed_orders(clinic)
            if stdout:
                stdout.write(
                    f"  {Prescription.objects.for_clinic(clinic).count()} prescriptions and "
                    f"{LabOrder.objects.for_clinic(clinic).count()} lab orders at {clinic.name}"
                )


@transaction.atomic
def _seed_clinic(clinic: Clinic) -> None:
    rng = random.Random(f"clinical-{clinic.code}")
    nurse = User.objects.get(email=f"nurse@{clinic.code.lower()}.example")
    now = timezone.now()
    done = (
        Appointment.objects.for_clinic(clinic)
        .filter(patient__isnull=False, status__in=[AppointmentStatus.COMPLETED, AppointmentStatus.IN_PROGRESS])
        .select_related("doctor__user", "patient")
        .order_by("starts_at")
    )
    for appointment in list(done)[-VISITS_PER_CLINIC:]:
        started = min(appointment.starts_at + datetime.timedelta(minutes=5), now)
        completed = appointment.status == AppointmentStatus.COMPLETED
        visit = Visit.objects.create(
            clinic=clinic,
            reference=visit_services._next_reference(clinic),
            patient=appointment.patient,
            appointment=appointment,
            doctor=appointment.doctor,
            status=Visit.Status.COMPLETED if completed else Visit.Status.IN_PROGRESS,
            started_at=started,
            started_by=appointment.doctor.user,
            completed_at=min(started + datetime.timedelta(minutes=20), now) if completed else None,
        )
        ClinicalNote.objects.create(clinic=clinic, visit=visit, updated_by=appointment.doctor.user, **rng.choice(NOTES[clinic.code]))
        _vitals(clinic, appointment.patient, nurse, started - datetime.timedelta(minutes=10), rng, visit)
    patients = list(Patient.objects.for_clinic(clinic).filter(status="active").order_by("pk")[:6])
    if len(patients) >= 3:
        _histories(clinic, patients, nurse, rng, now)
    _care_teams(clinic)


def _vitals(clinic, patient, user, at, rng, visit=None, weight=None):
    weight = weight or Decimal(rng.randint(52, 88))
    height = Decimal(rng.randint(152, 182))
    systolic = rng.randint(108, 146)
    vitals = VitalSigns(
        clinic=clinic,
        patient=patient,
        visit=visit,
        recorded_by=user,
        recorded_at=at,
        systolic_bp=systolic,
        diastolic_bp=systolic - rng.randint(32, 50),
        pulse_rate=rng.randint(62, 96),
        temperature_celsius=Decimal(f"36.{rng.randint(4, 9)}"),
        respiratory_rate=rng.randint(12, 18),
        weight_kg=weight,
        height_cm=height,
        oxygen_saturation=rng.randint(96, 100),
    )
    vitals.bmi = services.bmi_of(vitals.weight_kg, vitals.height_cm)
    vitals.bmi_category = services.bmi_category(vitals.bmi, asian=clinic.bmi_asian_cutoffs)
    vitals.save()


def _histories(clinic, patients, user, rng, now) -> None:
    allergic, none_known, chronic = patients[0], patients[1], patients[2]
    Allergy.objects.create(
        clinic=clinic, patient=allergic, recorded_by=user, substance="Penicillin", reaction="Hives and facial swelling", severity="severe"
    )
    AllergyStatement.objects.create(clinic=clinic, patient=none_known, no_known_allergies=True, recorded_by=user, recorded_at=now)
    Condition.objects.create(
        clinic=clinic,
        patient=chronic,
        recorded_by=user,
        name="Essential hypertension",
        icd10_code="I10",
        onset_date=datetime.date(2021, 3, 1),
    )
    Condition.objects.create(
        clinic=clinic,
        patient=allergic,
        recorded_by=user,
        name="Polycystic ovary syndrome",
        icd10_code="E28.2",
        onset_date=datetime.date(2023, 6, 1),
    )
    Medication.objects.create(
        clinic=clinic, patient=chronic, recorded_by=user, name="Amlodipine", dose="5 mg once a day", start_date=datetime.date(2021, 3, 15)
    )
    Medication.objects.create(
        clinic=clinic,
        patient=allergic,
        recorded_by=user,
        name="Metformin",
        dose="500 mg twice a day",
        start_date=datetime.date(2024, 1, 10),
    )
    Medication.objects.create(clinic=clinic, patient=allergic, recorded_by=user, name="Folic acid", dose="5 mg once a day")
    Immunization.objects.create(
        clinic=clinic,
        patient=chronic,
        recorded_by=user,
        vaccine="Tetanus-diphtheria (Td)",
        dose_number=1,
        given_on=datetime.date(2024, 8, 2),
    )
    Procedure.objects.create(
        clinic=clinic,
        patient=allergic,
        recorded_by=user,
        name="Hysterosalpingography (HSG)",
        status="done",
        performed_on=datetime.date(2025, 2, 11),
    )
    # A year of readings for the first two patients: their Vitals charts have a line to show.
    for patient, start_weight in ((allergic, 78), (chronic, 91)):
        for month in range(12, 0, -1):
            at = now - datetime.timedelta(days=30 * month + rng.randint(0, 5))
            _vitals(clinic, patient, user, at, rng, weight=Decimal(start_weight - (12 - month) // 2))


def _care_teams(clinic) -> None:
    """The demo's appointments were loaded without the booking service: give their
    doctors the care-team grants the service would have."""
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(content_type__app_label="patients", codename=CARE_TEAM_PERMISSION.split(".")[1])
    pairs = set(
        Appointment.objects.for_clinic(clinic).filter(patient__isnull=False).values_list("patient_id", "doctor__user_id").distinct()
    ) | set(Patient.objects.for_clinic(clinic).filter(assigned_doctor__isnull=False).values_list("pk", "assigned_doctor__user_id"))
    CareTeamGrant.objects.bulk_create(
        [CareTeamGrant(content_object_id=p, user_id=u, permission=permission) for p, u in pairs], ignore_conflicts=True
    )


# --- Orders: prescriptions in every state, lab orders in every status, trends, one critical ---

DEMO_MEDICINES = {
    "ABC01": [
        {"medicine": "Letrozole", "dosage": "2.5 mg", "frequency": "Once a day (1-0-0)", "duration": "5 days (day 3–7)", "quantity": 5},
        {"medicine": "Folic acid", "dosage": "5 mg", "frequency": "Once a day (1-0-0)", "duration": "90 days", "quantity": 90},
        {
            "medicine": "Metformin",
            "dosage": "500 mg",
            "frequency": "Twice a day (1-0-1)",
            "duration": "30 days",
            "quantity": 60,
            "instructions": "after food",
        },
    ],
    "XYZ02": [
        {"medicine": "Paracetamol", "dosage": "500 mg", "frequency": "Four times a day", "duration": "3 days", "quantity": 12},
        {"medicine": "Amlodipine", "dosage": "5 mg", "frequency": "Once a day (1-0-0)", "duration": "28 days", "quantity": 28},
        {"medicine": "Omeprazole", "dosage": "20 mg", "frequency": "Once a day (1-0-0)", "duration": "14 days", "quantity": 14},
    ],
}


@transaction.atomic
def _seed_orders(clinic: Clinic) -> None:
    code = clinic.code.lower()
    lab = User.objects.get(email=f"lab@{code}.example")
    pharmacist = User.objects.get(email=f"pharmacist@{code}.example")
    doctor_user = User.objects.get(email=f"doctor@{code}.example")
    medicines = DEMO_MEDICINES[clinic.code]
    tests = {test.code: test for test in LabTest.objects.for_clinic(clinic)}
    visits = list(
        Visit.objects.for_clinic(clinic)
        .filter(status=Visit.Status.COMPLETED)
        .select_related("patient", "doctor__user")
        .order_by("-started_at")
    )
    if len(visits) < 8:
        return
    for visit in visits[:6]:  # the doctors asked, and noted it
        if services.allergy_state(patient=visit.patient) == services.AllergyState.UNKNOWN:
            services.no_known_allergies_record(patient=visit.patient, user=visit.doctor.user)

    def prescribe(visit, items, finalize=True, **finalize_kwargs):
        prescription = services.prescription_create(visit=visit, user=visit.doctor.user, items=items)
        if finalize:
            services.prescription_finalize(
                prescription=prescription, user=visit.doctor.user, allergies_unknown_confirmed=True, **finalize_kwargs
            )
        return prescription

    dispensed = prescribe(visits[0], medicines[:2])
    services.prescription_dispense(prescription=dispensed, user=pharmacist)
    prescribe(visits[1], medicines[1:])  # waiting at the pharmacy
    superseded = prescribe(visits[2], [medicines[0]])
    correction = services.prescription_create(
        visit=visits[2], user=visits[2].doctor.user, items=[{**medicines[0], "duration": "5 days (day 2–6)"}], supersedes=superseded
    )
    services.prescription_finalize(prescription=correction, user=visits[2].doctor.user, allergies_unknown_confirmed=True)
    prescribe(visits[3], [medicines[2]], finalize=False)  # a draft

    allergic = Patient.objects.for_clinic(clinic).filter(allergies__substance="Penicillin").first()
    if allergic is not None:
        doctor = visits[0].doctor
        visit = Visit.objects.for_clinic(clinic).filter(patient=allergic, status=Visit.Status.COMPLETED).first()
        if visit is None:
            visit = services.visit_start(clinic=clinic, user=doctor.user, patient=allergic)
            services.visit_complete(visit=visit, user=doctor.user)
        prescribe(
            visit,
            [
                {
                    "medicine": "Amoxicillin",
                    "dosage": "500 mg",
                    "frequency": "Three times a day (1-1-1)",
                    "duration": "5 days",
                    "quantity": 15,
                }
            ],
            override_reason="Took amoxicillin in 2024 under observation without a reaction; the penicillin label is doubtful.",
        )
        _result_history(clinic, allergic, doctor.user, lab, tests)

    # Lab orders in every status.
    def order(visit, codes, urgency="routine"):
        return services.lab_order_create(
            patient=visit.patient, user=visit.doctor.user, lab_tests=[tests[c] for c in codes], visit=visit, urgency=urgency
        )

    order(visits[4], ["FSH", "LH", "AMH"] if clinic.code == "ABC01" else ["HBA1C", "FBS"])
    collected = order(visits[5], ["TSH", "PRL"])
    services.lab_order_set_status(order=collected, user=lab, to_status="sample_collected")
    running = order(visits[6], ["HB", "WBC", "PLT"])
    services.lab_order_set_status(order=running, user=lab, to_status="sample_collected")
    first_test = running.tests.order_by("id").first()
    services.lab_results_enter(order=running, user=lab, results=[LabResultInput.of(test_id=first_test.pk, value="11.4", final=False)])
    done = order(visits[7], ["TSH", "CREAT"])
    services.lab_order_set_status(order=done, user=lab, to_status="sample_collected")
    services.lab_results_enter(
        order=done,
        user=lab,
        results=[
            LabResultInput.of(test_id=t.pk, value=v, final=True) for t, v in zip(done.tests.order_by("id"), ("2.6", "0.9"), strict=True)
        ],
    )
    services.lab_order_review(order=done, user=visits[7].doctor.user)
    cancelled = order(visits[4], ["E2"])
    services.lab_order_set_status(order=cancelled, user=lab, to_status="cancelled", reason="Sample haemolysed; patient to return tomorrow")

    # One unacknowledged critical result, for the clinic's doctor.
    critical_visit = next((v for v in visits if v.doctor.user_id == doctor_user.pk), visits[0])
    urgent = order(critical_visit, ["K"], urgency="urgent")
    services.lab_order_set_status(order=urgent, user=lab, to_status="sample_collected")
    services.lab_results_enter(order=urgent, user=lab, results=[LabResultInput.of(test_id=urgent.tests.get().pk, value="6.8", final=True)])


def _result_history(clinic, patient, doctor_user, lab, tests) -> None:
    """A year of TSH and AMH (or HbA1c) results, so the Labs tab has trends to draw."""
    now = timezone.now()
    codes = ["TSH", "AMH"] if clinic.code == "ABC01" else ["TSH", "HBA1C"]
    series = {"TSH": ["5.8", "4.6", "3.2", "2.4"], "AMH": ["2.9", "2.6", "2.4", "2.1"], "HBA1C": ["6.4", "6.1", "5.9", "5.7"]}
    for index, months_ago in enumerate((12, 9, 6, 3)):
        order = services.lab_order_create(patient=patient, user=doctor_user, lab_tests=[tests[c] for c in codes])
        services.lab_order_set_status(order=order, user=lab, to_status="sample_collected")
        services.lab_results_enter(
            order=order,
            user=lab,
            results=[
                LabResultInput.of(test_id=t.pk, value=series[t.lab_test.code][index], final=True)
                for t in order.tests.select_related("lab_test")
            ],
        )
        services.lab_order_review(order=order, user=doctor_user)
        at = now - datetime.timedelta(days=30 * months_ago)
        LabOrder.objects.filter(pk=order.pk).update(
            ordered_at=at,
            sample_collected_at=at,
            started_at=at,
            completed_at=at + datetime.timedelta(hours=6),
            reviewed_at=at + datetime.timedelta(days=1),
        )
        LabResult.objects.filter(order_test__order=order).update(entered_at=at + datetime.timedelta(hours=5))
