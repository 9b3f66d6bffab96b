"""The clinical pages: the visit (autosave, vitals, follow-up, addenda), the chart's
clinical tabs, the summary PDF, the allergy band, the care team with emergency access,
and notifications — through the pages and the API as integrations call it."""

import datetime
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from clinical import services
from clinical.inputs import VitalsInput
from clinical.models import Allergy, ClinicalNote, Visit, VitalSigns
from clinicos.models import AuditLog, Notification, ReadAccessLog
from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory
from patients import services as patient_services
from patients.tests.factories import DocumentFactory, PatientFactory
from scheduling import services as scheduling_services
from scheduling.models import Appointment, AppointmentStatus, AppointmentType
from scheduling.tests.factories import AppointmentFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db

# Words that only clinical content carries: never in a page the front desk can open.
CLINICAL_WORDS = ("Clinical summary", "Medical history", "Vital signs", "Tonsillitis", "Subjective", "Amoxicillin course")


@pytest.fixture
def doctor(clinic):
    return DoctorProfileFactory(clinic=clinic, user__full_name="Dr Kavya Rao")


@pytest.fixture
def checked_in(clinic, doctor):
    return AppointmentFactory(clinic=clinic, doctor=doctor, status=AppointmentStatus.CHECKED_IN)


def page(clinic, path):
    return f"/c/{clinic.code}/{path}"


def start_visit(client, clinic, doctor, appointment) -> Visit:
    client.force_login(doctor.user)
    response = client.post(page(clinic, "visits/start/"), {"appointment_id": appointment.pk})
    visit = Visit.objects.for_clinic(clinic).get(appointment=appointment)
    assert response.status_code == 302 and response.url == page(clinic, f"visits/{visit.pk}/")
    return visit


def test_one_tap_from_my_schedule_starts_the_visit_and_the_page_shows_the_note(client, clinic, doctor, checked_in):
    client.force_login(doctor.user)
    schedule = client.get(page(clinic, "schedule/mine/")).content.decode()
    assert f'name="appointment_id" value="{checked_in.pk}"' in schedule and "Start visit" in schedule
    visit = start_visit(client, clinic, doctor, checked_in)
    checked_in.refresh_from_db()
    assert checked_in.status == AppointmentStatus.IN_PROGRESS
    response = client.get(page(clinic, f"visits/{visit.pk}/"))
    html = response.content.decode()
    assert response.status_code == 200
    assert visit.reference in html and 'id="note-form"' in html and "data-autosave" in html
    assert "Allergies unknown" in html  # the amber band on the visit page
    assert ReadAccessLog.objects.filter(user=doctor.user, action="view_visit", patient_id=visit.patient_id).exists()
    # Tapping again is refused with a message, not a second visit.
    again = client.post(page(clinic, "visits/start/"), {"appointment_id": checked_in.pk}, follow=True)
    assert "already has a visit" in again.content.decode()
    assert Visit.objects.for_clinic(clinic).count() == 1


def test_the_note_autosaves_refuses_bad_input_and_locks_after_24_hours(client, clinic, doctor, checked_in, monkeypatch):
    visit = start_visit(client, clinic, doctor, checked_in)
    note_url = page(clinic, f"visits/{visit.pk}/note/")
    saved = client.post(note_url, {"chief_complaint": "Pelvic pain", "subjective": "Two weeks.", "diagnosis_codes": ["n979"]})
    assert saved.status_code == 200 and "Saved" in saved.content.decode() and saved["HX-Trigger"] == "noteSaved"
    note = ClinicalNote.objects.for_clinic(clinic).get(visit=visit)
    assert (note.chief_complaint, note.diagnosis_codes) == ("Pelvic pain", ["N97.9"])

    yesterday = (timezone.localdate(timezone=clinic.tzinfo) - datetime.timedelta(days=1)).isoformat()
    for data, message in (
        ({"follow_up_date": yesterday}, "must be after the visit"),
        ({"diagnosis_codes": ["XX9.9"]}, "Not an ICD-10 code: XX9.9"),
        ({"follow_up_date": "31/02/2026"}, "Enter a valid date"),
    ):
        refused = client.post(note_url, {"subjective": "Changed?", **data})
        assert refused.status_code == 422 and message in refused.content.decode() and "Not saved" in refused.content.decode()
    note.refresh_from_db()
    assert note.subjective == "Two weeks." and note.follow_up_date is None

    client.post(page(clinic, f"visits/{visit.pk}/complete/"))
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    later = visit.completed_at + datetime.timedelta(hours=24, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    locked = client.post(note_url, {"subjective": "Too late"})
    assert locked.status_code == 409 and "locked" in locked.content.decode()
    html = client.get(page(clinic, f"visits/{visit.pk}/")).content.decode()
    assert 'id="note-form"' not in html and "Add addendum" in html
    empty = client.post(page(clinic, f"visits/{visit.pk}/addenda/"), {"text": "  "})
    assert empty.status_code == 422
    client.post(page(clinic, f"visits/{visit.pk}/addenda/"), {"text": "Scan report received: normal."})
    assert "Scan report received: normal." in client.get(page(clinic, f"visits/{visit.pk}/")).content.decode()


def test_vitals_on_the_visit_page_check_the_ranges_and_compute_bmi(client, clinic, doctor, checked_in):
    visit = start_visit(client, clinic, doctor, checked_in)
    url = page(clinic, f"visits/{visit.pk}/vitals/")
    refused = client.post(url, {"systolic_bp": "80", "diastolic_bp": "90", "temperature_celsius": "43.4", "pulse_rate": "39"})
    html = refused.content.decode()
    assert refused.status_code == 422
    assert "lower than the systolic" in html and "between 35 and 43.3" in html and "between 40 and 200" in html
    assert not VitalSigns.objects.for_clinic(clinic).exists()
    ok = client.post(url, {"systolic_bp": "120", "diastolic_bp": "80", "weight_kg": "72", "height_cm": "175"})
    assert ok.status_code == 200 and "23.5" in ok.content.decode() and "Normal" in ok.content.decode()
    assert VitalSigns.objects.for_clinic(clinic).get().visit_id == visit.pk


def test_the_follow_up_is_booked_from_the_visit_page(client, clinic, doctor, checked_in):
    visit = start_visit(client, clinic, doctor, checked_in)
    day = timezone.localdate(timezone=clinic.tzinfo) + datetime.timedelta(days=7)
    WorkingHoursFactory(clinic=clinic, doctor=doctor, weekday=day.weekday())
    client.post(page(clinic, f"visits/{visit.pk}/note/"), {"plan": "Review in a week.", "follow_up_date": day.isoformat()})
    panel = client.get(page(clinic, f"visits/{visit.pk}/follow-up/")).content.decode()
    assert "Book the follow-up" in panel and ">09:00<" in panel.replace(" ", "")
    start = datetime.datetime.combine(day, datetime.time(9, 0), tzinfo=clinic.tzinfo)
    bad = client.post(page(clinic, f"visits/{visit.pk}/follow-up/"), {"start": "not a time"})
    assert bad.status_code == 409 and "Choose one of the times" in bad.content.decode()
    booked = client.post(page(clinic, f"visits/{visit.pk}/follow-up/"), {"start": start.isoformat()})
    assert booked.status_code == 200 and "Follow-up booked" in booked.content.decode()
    appointment = Appointment.objects.for_clinic(clinic).get(type=AppointmentType.FOLLOW_UP)
    assert appointment.patient_id == visit.patient_id and appointment.doctor_id == doctor.pk and appointment.starts_at == start
    assert ClinicalNote.objects.for_clinic(clinic).get(visit=visit).follow_up_appointment_id == appointment.pk
    twice = client.post(page(clinic, f"visits/{visit.pk}/follow-up/"), {"start": start.isoformat()})
    assert twice.status_code == 409 and Appointment.objects.for_clinic(clinic).filter(type=AppointmentType.FOLLOW_UP).count() == 1


def test_the_medical_history_tab_adds_edits_and_marks_inactive_and_the_band_follows(client, clinic, doctor, front_desk, make_member):
    patient = PatientFactory(clinic=clinic)
    nurse = make_member(Role.NURSE)
    client.force_login(nurse)
    base = page(clinic, f"patients/{patient.pk}/")
    assert "Allergies unknown" in client.get(base).content.decode()
    refused = client.post(base + "history/allergies/new/", {"substance": "", "severity": "severe", "status": "active"})
    assert refused.status_code == 422 and "This field is required" in refused.content.decode()
    saved = client.post(
        base + "history/allergies/new/", {"substance": "Penicillin", "reaction": "Hives", "severity": "severe", "status": "active"}
    )
    assert saved.status_code == 200 and saved["HX-Retarget"] == "#chart-panel" and "Penicillin" in saved.content.decode()
    allergy = Allergy.objects.for_clinic(clinic).get(patient=patient)
    none = client.post(base + "allergies/none/")
    assert none.status_code == 409 and "active allergy" in none.content.decode()

    client.force_login(front_desk)  # the band is a safety warning every role sees
    chart = client.get(base).content.decode()
    assert "patient-alert-danger" in chart and "Allergies: Penicillin (severe, Hives)" in chart

    client.force_login(nurse)
    edit = client.post(
        base + f"history/allergies/{allergy.pk}/",
        {"substance": "Penicillin", "reaction": "Anaphylaxis", "severity": "life_threatening", "status": "active"},
    )
    assert edit.status_code == 200
    client.post(base + f"history/allergies/{allergy.pk}/inactive/")
    allergy.refresh_from_db()
    assert (allergy.reaction, allergy.status) == ("Anaphylaxis", "inactive")
    assert client.post(base + "allergies/none/").status_code == 200
    assert "No known allergies" in client.get(base).content.decode()
    bad_kind = client.get(base + "history/pets/new/")
    assert bad_kind.status_code == 404
    dates = client.post(
        base + "history/medications/new/", {"name": "Folic acid", "start_date": "2026-05-01", "end_date": "2026-04-01", "status": "active"}
    )
    assert dates.status_code == 422 and "before the start date" in dates.content.decode()


def test_the_front_desk_sees_no_clinical_content(client, clinic, doctor, checked_in, front_desk, make_member):
    visit = start_visit(client, clinic, doctor, checked_in)
    services.note_save(visit=visit, user=doctor.user, data={"assessment": "Tonsillitis", "plan": "Amoxicillin course"})
    services.vitals_record(patient=visit.patient, user=doctor.user, vitals=VitalsInput.parse({"pulse_rate": 72}))
    patient = visit.patient
    for role in (Role.FRONT_DESK, Role.CRO, Role.BILLING, Role.ADMIN):
        client.force_login(make_member(role))
        for path in (
            f"visits/{visit.pk}/",
            f"patients/{patient.pk}/tabs/summary/",
            f"patients/{patient.pk}/tabs/timeline/",
            f"patients/{patient.pk}/summary.pdf",
        ):
            assert client.get(page(clinic, path)).status_code in (403, 404), (role, path)
        for path in (
            f"patients/{patient.pk}/",
            f"patients/{patient.pk}/tabs/overview/",
            f"patients/{patient.pk}/tabs/appointments/",
            "schedule/today/",
        ):
            response = client.get(page(clinic, path))
            if response.status_code == 200:
                html = response.content.decode()
                assert not [word for word in CLINICAL_WORDS if word in html], (role, path)


def test_restricted_doctors_reach_their_care_team_only_and_may_break_the_glass(
    client, clinic, doctor, clinic_admin, api_client, monkeypatch
):
    clinic.doctors_see_all_patients = False
    clinic.save()
    other_doctor = DoctorProfileFactory(clinic=clinic)
    mine = PatientFactory(clinic=clinic, first_name="Mina", last_name="Mine")
    theirs = PatientFactory(clinic=clinic, first_name="Tara", last_name="Theirs")
    day = timezone.localdate(timezone=clinic.tzinfo) + datetime.timedelta(days=3)
    WorkingHoursFactory(clinic=clinic, doctor=doctor, weekday=day.weekday())
    scheduling_services.appointment_book(
        clinic=clinic,
        user=clinic_admin,
        membership=None,
        doctor=doctor,
        patient=mine,
        start=datetime.datetime.combine(day, datetime.time(10, 0), tzinfo=clinic.tzinfo),
    )  # booked with them: the doctor joins the care team (a django-guardian grant)
    assert doctor.user.has_perm("patients.care_for_patient", mine) and not doctor.user.has_perm("patients.care_for_patient", theirs)
    patient_services.care_team_add(patient=theirs, doctor=other_doctor)

    client.force_login(doctor.user)
    assert client.get(page(clinic, f"patients/{mine.pk}/")).status_code == 200
    assert client.get(page(clinic, f"patients/{theirs.pk}/")).status_code == 404
    assert client.get(page(clinic, f"patients/{theirs.pk}/tabs/summary/")).status_code == 404
    search = client.get(page(clinic, "patients/search/"), {"q": "T"}).content.decode()
    assert "Theirs" not in search
    api = api_client(doctor.user)
    assert api.get(f"/api/v1/clinics/{clinic.code}/patients/{theirs.pk}/summary").status_code == 404
    assert api.post(f"/api/v1/clinics/{clinic.code}/visits", {"patient_id": theirs.pk}).status_code == 404

    client.force_login(doctor.user)  # the API login above used the same test client
    assert "Emergency access to another chart" in client.get(page(clinic, "patients/")).content.decode()
    short = client.post(page(clinic, "emergency-access/"), {"uhid": theirs.uhid, "reason": "now"})
    assert short.status_code == 400 and "at least 10 characters" in short.content.decode()
    unknown = client.post(page(clinic, "emergency-access/"), {"uhid": "NOPE-1", "reason": "Collapsed in the waiting room"})
    assert unknown.status_code == 400 and "No patient of this clinic has this UHID" in unknown.content.decode()
    opened = client.post(page(clinic, "emergency-access/"), {"uhid": theirs.uhid.lower(), "reason": "Collapsed in the waiting room"})
    assert opened.status_code == 302 and opened.url == page(clinic, f"patients/{theirs.pk}/")
    assert client.get(opened.url).status_code == 200
    assert api.get(f"/api/v1/clinics/{clinic.code}/patients/{theirs.pk}/summary").status_code == 200
    client.force_login(doctor.user)
    told = Notification.objects.for_clinic(clinic).get(recipient=clinic_admin)
    assert told.kind == Notification.Kind.BREAK_THE_GLASS and "Collapsed in the waiting room" in told.title
    assert AuditLog.objects.filter(clinic=clinic, entity_type="patients.breakglassaccess", user=doctor.user).exists()

    later = timezone.now() + datetime.timedelta(hours=4, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert client.get(page(clinic, f"patients/{theirs.pk}/")).status_code == 404

    # Starting a visit for the patient adds the doctor to the care team for good.
    client.force_login(other_doctor.user)
    client.post(page(clinic, "visits/start/"), {"patient_id": theirs.pk})
    assert other_doctor.user.has_perm("patients.care_for_patient", theirs)


def test_doctors_who_see_everyone_need_no_emergency_access(client, clinic, doctor):
    client.force_login(doctor.user)
    for response in (client.get(page(clinic, "emergency-access/")), client.post(page(clinic, "emergency-access/"), {"uhid": "X"})):
        assert response.status_code == 200 and "emergency access is not needed" in response.content.decode()


def test_the_doctor_is_told_when_their_patient_checks_in(client, clinic, doctor, front_desk, api_client, make_member):
    appointment = AppointmentFactory(clinic=clinic, doctor=doctor, status=AppointmentStatus.ARRIVED)
    scheduling_services.appointment_set_status(appointment=appointment, to_status=AppointmentStatus.CHECKED_IN, user=front_desk)
    client.force_login(doctor.user)
    bell = client.get(page(clinic, "notifications/bell/")).content.decode()
    assert 'data-unread="1"' in bell
    api = api_client(doctor.user)
    unread = api.get(f"/api/v1/clinics/{clinic.code}/notifications?unread=1").json()
    assert len(unread) == 1 and unread[0]["kind"] == "patient_checked_in" and appointment.patient.full_name in unread[0]["title"]
    assert set(unread[0]) == {"id", "kind", "title", "url", "created_at", "read_at"}
    read = api.post(f"/api/v1/clinics/{clinic.code}/notifications/{unread[0]['id']}/read", {})
    assert read.status_code == 200 and read.json()["read_at"]
    assert api.get(f"/api/v1/clinics/{clinic.code}/notifications?unread=1").json() == []
    assert len(api.get(f"/api/v1/clinics/{clinic.code}/notifications").json()) == 1
    # Someone else's notification is a 404, by page and by API.
    nurse_api = api_client(make_member(Role.NURSE))
    assert nurse_api.post(f"/api/v1/clinics/{clinic.code}/notifications/{unread[0]['id']}/read", {}).status_code == 404
    client.force_login(doctor.user)
    opened = client.post(page(clinic, f"notifications/{unread[0]['id']}/open/"))
    assert opened.status_code == 302 and opened.url == page(clinic, "schedule/mine/")
    assert "All read" in client.get(page(clinic, "notifications/")).content.decode()


def test_the_timeline_merges_kinds_pages_and_filters_in_bounded_queries(client, clinic, doctor, django_assert_max_num_queries, api_client):
    patient = PatientFactory(clinic=clinic)
    for _ in range(12):
        services.vitals_record(patient=patient, user=doctor.user, vitals=VitalsInput.parse({"pulse_rate": 70}))
        DocumentFactory(clinic=clinic, patient=patient)
        AppointmentFactory(clinic=clinic, patient=patient, doctor=doctor)
    visit = services.visit_start(clinic=clinic, user=doctor.user, patient=patient)
    client.force_login(doctor.user)
    url = page(clinic, f"patients/{patient.pk}/tabs/timeline/")
    client.get(url)  # warm the session and the caches
    with django_assert_max_num_queries(16):
        first = client.get(url)
    html = first.content.decode()
    assert "Page 1 of 2 · 37 entries" in html and visit.reference in html
    with django_assert_max_num_queries(16):
        vitals_only = client.get(url, {"kind": "vitals", "page": 1}).content.decode()
    assert "12 entries" not in vitals_only and "Document:" not in vitals_only and "pulse 70" in vitals_only
    api = api_client(doctor.user)
    body = api.get(f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}/timeline?kind=documents&page=1").json()
    assert body["count"] == 12 and {item["kind"] for item in body["items"]} == {"documents"}
    assert api.get(f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}/timeline?page=2").json()["items"][-1]["kind"]
    bad = api.get(f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}/timeline?kind=pets")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "kind"]


def test_the_summary_page_pdf_and_api_hold_the_allergy(client, clinic, doctor, api_client, front_desk):
    patient = PatientFactory(clinic=clinic)
    services.history_item_save(kind="allergies", patient=patient, user=doctor.user, data={"substance": "Penicillin", "severity": "severe"})
    services.history_item_save(
        kind="conditions", patient=patient, user=doctor.user, data={"name": "Essential hypertension", "icd10_code": "I10"}
    )
    services.vitals_record(
        patient=patient,
        user=doctor.user,
        vitals=VitalsInput.parse({"systolic_bp": 150, "diastolic_bp": 95, "weight_kg": 80, "height_cm": 170}),
    )
    client.force_login(doctor.user)
    tab = client.get(page(clinic, f"patients/{patient.pk}/tabs/summary/")).content.decode()
    assert "Penicillin" in tab and "Essential hypertension" in tab and "150/95" in tab
    response = client.get(page(clinic, f"patients/{patient.pk}/summary.pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == 1 and "Penicillin" in text and patient.uhid in text and clinic.name in text
    assert ReadAccessLog.objects.filter(user=doctor.user, action="print_summary").exists()
    body = api_client(doctor.user).get(f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}/summary").json()
    assert body["allergy_status"] == "has_allergies" and body["allergies"][0]["substance"] == "Penicillin"
    assert body["problems"][0]["icd10_code"] == "I10" and body["last_vitals"]["bmi"] == "27.7"
    assert api_client(front_desk).get(f"/api/v1/clinics/{clinic.code}/patients/{patient.pk}/summary").status_code == 403


def test_the_vitals_tab_draws_the_charts_as_svg_images(client, clinic, doctor):
    patient = PatientFactory(clinic=clinic)
    for weight in (70, 71, 72):
        services.vitals_record(
            patient=patient,
            user=doctor.user,
            vitals=VitalsInput.parse({"systolic_bp": 120, "diastolic_bp": 80, "weight_kg": weight, "height_cm": 170}),
        )
    client.force_login(doctor.user)
    html = client.get(page(clinic, f"patients/{patient.pk}/tabs/vitals/")).content.decode()
    assert html.count('src="data:image/svg+xml;base64,') == 3  # BP, weight, BMI (no pulse recorded)
    assert "Weight 72 on" in html and "<script" not in html
    refused = client.post(page(clinic, f"patients/{patient.pk}/vitals/"), {"oxygen_saturation": "69"})
    assert refused.status_code == 422 and "between 70 and 100" in refused.content.decode()


def test_icd10_search_finds_codes_offline(client, clinic, doctor):
    client.force_login(doctor.user)
    html = client.get(page(clinic, "icd10/"), {"q": "female infertility"}).content.decode()
    assert "N97.9" in html and 'data-add-code="N97.9"' in html
    assert "No ICD-10 code matches" in client.get(page(clinic, "icd10/"), {"q": "zzzqqq"}).content.decode()


# --- The doctor's way through the day ------------------------------------------------------------


def test_the_chart_leads_back_to_the_visit_in_progress(client, clinic, doctor, checked_in, front_desk):
    visit = start_visit(client, clinic, doctor, checked_in)
    chart = client.get(page(clinic, f"patients/{checked_in.patient_id}/")).content.decode()
    assert f"Visit {visit.reference} is in progress." in chart and "Back to the visit" in chart
    assert f'href="/c/{clinic.code}/visits/{visit.pk}/"' in chart
    colleague = DoctorProfileFactory(clinic=clinic, user__full_name="Dr Omar Haddad")
    patient_services.care_team_add(patient=checked_in.patient, doctor=colleague)
    client.force_login(colleague.user)
    theirs = client.get(page(clinic, f"patients/{checked_in.patient_id}/")).content.decode()
    assert "with Dr. Dr Kavya Rao" in theirs and "Open the visit" in theirs
    client.force_login(front_desk)
    assert "is in progress" not in client.get(page(clinic, f"patients/{checked_in.patient_id}/")).content.decode()
    services.visit_complete(visit=visit, user=doctor.user)
    client.force_login(doctor.user)
    assert "Back to the visit" not in client.get(page(clinic, f"patients/{checked_in.patient_id}/")).content.decode()


def test_completing_a_visit_offers_the_next_patient_waiting(client, clinic, doctor, checked_in):
    visit = start_visit(client, clinic, doctor, checked_in)
    waiting = AppointmentFactory(clinic=clinic, doctor=doctor, status=AppointmentStatus.CHECKED_IN, checked_in_at=timezone.now())
    other_doctors = AppointmentFactory(clinic=clinic, status=AppointmentStatus.CHECKED_IN, checked_in_at=timezone.now())
    before = client.get(page(clinic, f"visits/{visit.pk}/")).content.decode()
    assert "Next patient" not in before, "not while the visit is open"
    done = client.post(page(clinic, f"visits/{visit.pk}/complete/"), follow=True).content.decode()
    assert "Next patient" in done and f'hx-get="/c/{clinic.code}/visits/{visit.pk}/next-patient/"' in done
    offer = client.get(page(clinic, f"visits/{visit.pk}/next-patient/"), HTTP_HX_REQUEST="true").content.decode()
    assert f"Start visit with {waiting.patient.full_name}" in offer
    assert f'name="appointment_id" value="{waiting.pk}"' in offer and other_doctors.patient.full_name not in offer
    colleague = DoctorProfileFactory(clinic=clinic)
    patient_services.care_team_add(patient=checked_in.patient, doctor=colleague)
    client.force_login(colleague.user)
    assert client.get(page(clinic, f"visits/{visit.pk}/")).content.decode().count("next-patient/") == 0
    assert client.get(page(clinic, f"visits/{visit.pk}/next-patient/")).content == b""
    client.force_login(doctor.user)
    nxt = client.post(page(clinic, "visits/start/"), {"appointment_id": waiting.pk})
    assert nxt.status_code == 302 and Visit.objects.for_clinic(clinic).filter(appointment=waiting).exists()
    # nobody else waiting: it says so
    services.visit_complete(visit=Visit.objects.for_clinic(clinic).get(appointment=waiting), user=doctor.user)
    assert "Nobody is waiting for you now" in client.get(page(clinic, f"visits/{visit.pk}/next-patient/")).content.decode()


def test_on_a_portrait_tablet_the_patients_side_comes_before_the_note():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "clinicos.css").read_text()
    assert "@media (max-width: 900px) { .visit-layout .visit-side { order: -1; } }" in css


def test_the_visit_page_shows_this_visits_vitals_once(client, clinic, doctor, checked_in):
    visit = start_visit(client, clinic, doctor, checked_in)
    before = client.get(page(clinic, f"visits/{visit.pk}/")).content.decode()
    assert "Last vital signs" in before, "none this visit: the summary's last reading is worth showing"
    services.vitals_record(patient=visit.patient, user=doctor.user, visit=visit, vitals=VitalsInput.parse({"pulse_rate": 90}))
    after = client.get(page(clinic, f"visits/{visit.pk}/")).content.decode()
    assert "Last vital signs" not in after and after.count("90") >= 1
    assert "Last vital signs" in client.get(page(clinic, f"patients/{visit.patient_id}/tabs/summary/")).content.decode()
