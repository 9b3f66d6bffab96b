"""The patient portal's JSON API: /api/v1/portal/… (contracts fixed by issue 15).

Log in with ``POST auth/request-code`` then ``POST auth/verify``; the token it returns is a
*portal* token: it opens the charts its phone or email is recorded on, and nothing of the
staff API (staff tokens and sessions open nothing here either). Another patient's id
answers 404.
"""

import datetime
from typing import Any

from django.http import Http404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from clinicos.api import BodyRefused, Day, Input, Problem, json_object_of
from clinicos.audit import client_ip
from clinicos.dates import check_day
from clinicos.scoping import scopes_disabled
from patients.models import Patient
from portal import documents, selectors, services

router = Router(tags=["portal"])


class PortalTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        identity = services.token_authenticate(token)
        if identity is None:
            return None
        request.portal_identity = identity
        request.portal_token = token
        return identity


portal_auth = PortalTokenAuth()


def _local(moment: datetime.datetime | None, clinic) -> datetime.datetime | None:
    return timezone.localtime(moment, clinic.tzinfo) if moment else None


# --- Login -------------------------------------------------------------------------------

CODE_SENT = "If this phone or email is on a patient record, a 6-digit code is on its way. It works for 10 minutes."


@router.post(
    "/auth/request-code",
    auth=None,
    response={202: Problem},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object", "properties": {"phone": {"type": "string"}, "email": {"type": "string"}}}}
            }
        }
    },
)
def portal_auth_request_code(request):
    """Send a login code to a phone or email recorded on a chart. The answer is 202 whatever
    was sent, so it never tells whether the phone or email is known."""
    try:
        body = json_object_of(request) if request.body else {}
    except BodyRefused:
        body = {}  # whatever was sent: the same 202
    phone, email = body.get("phone"), body.get("email")
    services.login_code_request(
        phone=phone if isinstance(phone, str) else None, email=email if isinstance(email, str) else None, ip=client_ip(request)
    )
    return Status(202, {"detail": CODE_SENT})


class VerifyIn(Input):
    phone: str | None = None
    email: str | None = None
    code: str


class ProfileRef(Schema):
    id: int
    clinic: str
    clinic_name: str
    name: str
    uhid: str


class VerifyOut(Schema):
    token: str
    expires_at: datetime.datetime
    patients: list[ProfileRef]


def _profile_ref(patient: Patient) -> dict:
    return {
        "id": patient.pk,
        "clinic": patient.clinic.code,
        "clinic_name": patient.clinic.name,
        "name": patient.full_name,
        "uhid": patient.uhid,
    }


@router.post("/auth/verify", auth=None, response={200: VerifyOut, 401: Problem, 429: Problem})
def portal_auth_verify(request, payload: VerifyIn):
    """Exchange the code for a portal token and the charts it opens (one per clinic, and a
    family's children on a shared phone)."""
    try:
        identity = services.login_code_verify(phone=payload.phone, email=payload.email, code=payload.code, ip=client_ip(request))
    except services.TooManyTries as exc:
        return Status(429, {"detail": str(exc)})
    except services.CodeRejected:
        return Status(401, {"detail": "That code is wrong or has expired. Ask for a new one."})
    patients = services.patients_of(identity)
    if not patients:
        return Status(401, {"detail": "That code is wrong or has expired. Ask for a new one."})
    raw, token = services.token_issue(identity)
    return Status(200, {"token": raw, "expires_at": token.expires_at, "patients": [_profile_ref(p) for p in patients]})


@router.post("/auth/logout", auth=portal_auth, response={200: Problem})
def portal_auth_logout(request):
    services.token_revoke(request.portal_token)
    return Status(200, {"detail": "Logged out."})


@router.get("/patients", auth=portal_auth, response=list[ProfileRef])
def portal_patient_list(request):
    """The charts this login opens: pick one as the profile to act for."""
    return [_profile_ref(patient) for patient in services.patients_of(request.portal_identity)]


def _chart(request, patient_id: int | None) -> Patient | None:
    return None if patient_id is None else services.own_row_or_404(services.patient_of, request.portal_identity, patient_id)


# --- Appointments ------------------------------------------------------------------------


class PortalAppointmentOut(Schema):
    id: int
    reference: str
    patient_id: int
    clinic: str
    clinic_name: str
    doctor_id: int
    doctor: str
    start: datetime.datetime
    end: datetime.datetime
    type: str
    status: str
    booked_online: bool
    can_cancel: bool


def appointment_out(appointment, changeable: set[int] | None = None) -> dict:
    clinic = appointment.clinic
    return {
        "id": appointment.pk,
        "reference": appointment.reference,
        "patient_id": appointment.patient_id,
        "clinic": clinic.code,
        "clinic_name": clinic.name,
        "doctor_id": appointment.doctor_id,
        "doctor": appointment.doctor.user.full_name,
        "start": _local(appointment.starts_at, clinic),
        "end": _local(appointment.ends_at, clinic),
        "type": appointment.type,
        "status": appointment.status,
        "booked_online": appointment.booked_via == appointment.BookedVia.PORTAL,
        "can_cancel": appointment.pk in (services.appointments_changeable([appointment]) if changeable is None else changeable),
    }


@router.get("/appointments", auth=portal_auth, response={200: list[PortalAppointmentOut], 404: Problem})
def portal_appointment_list(request, patient_id: int | None = None):
    """Every appointment of the login's charts (or of one), latest first."""
    appointments = services.appointments_of(request.portal_identity)
    if patient_id is not None:
        appointments = appointments.filter(patient=_chart(request, patient_id))
    appointments = list(appointments[:500])
    can_change = services.appointments_changeable(appointments)
    return [appointment_out(appointment, can_change) for appointment in appointments]


class BookIn(Input):
    clinic: str
    patient_id: int
    doctor_id: int
    start: datetime.datetime
    type: str = "consultation"


class WaitlistJoinIn(Input):
    patient_id: int
    clinic: str
    doctor_id: int
    earliest_date: datetime.date
    latest_date: datetime.date
    part_of_day: str = "any"


class WaitlistJoinedOut(Schema):
    id: int
    doctor_id: int | None
    earliest_date: datetime.date
    latest_date: datetime.date
    part_of_day: str
    status: str


@router.post("/waitlist", auth=portal_auth, response={201: WaitlistJoinedOut, 404: Problem, 409: Problem, 422: Problem})
def portal_waitlist_join(request, payload: WaitlistJoinIn):
    """Ask to be offered a freed time with one of the doctors patients may book online: a
    message with a link to claim it, held 15 minutes."""
    patient = services.own_row_or_404(services.patient_of, request.portal_identity, payload.patient_id)
    if patient.clinic.code != payload.clinic.strip().upper():
        raise Http404
    entry = services.waitlist_join(
        identity=request.portal_identity,
        patient=patient,
        doctor_id=payload.doctor_id,
        earliest=payload.earliest_date,
        latest=payload.latest_date,
        part_of_day=payload.part_of_day,
    )
    return Status(201, {f: getattr(entry, f) for f in ("id", "doctor_id", "earliest_date", "latest_date", "part_of_day", "status")})


@router.post("/appointments", auth=portal_auth, response={201: PortalAppointmentOut, 404: Problem, 409: Problem, 422: Problem})
def portal_appointment_book(request, payload: BookIn):
    """Book a free slot (see ``free-slots``). A slot taken a moment earlier answers 409 with
    ``next_free``; a clinic that does not book online answers 409 too."""
    patient = services.own_row_or_404(services.patient_of, request.portal_identity, payload.patient_id)
    if patient.clinic.code != payload.clinic.strip().upper():
        raise Http404
    appointment = services.online_appointment_book(
        identity=request.portal_identity, patient=patient, doctor_id=payload.doctor_id, start=payload.start, type=payload.type
    )
    return Status(201, appointment_out(appointment))


class PortalCancelIn(Input):
    reason: str = ""


@router.post("/appointments/{appointment_id}/cancel", auth=portal_auth, response={200: PortalAppointmentOut, 404: Problem, 409: Problem})
def portal_appointment_cancel(request, appointment_id: int, payload: PortalCancelIn | None = None):
    """Cancel up to the clinic's notice period (24 hours unless it says otherwise); inside
    it, 409: the patient calls the clinic."""
    services.own_row_or_404(services.appointment_of, request.portal_identity, appointment_id)
    appointment = services.online_appointment_cancel(
        identity=request.portal_identity, appointment_id=appointment_id, reason=payload.reason if payload else ""
    )
    return Status(200, appointment_out(appointment))


class RescheduleIn(Input):
    start: datetime.datetime


@router.post(
    "/appointments/{appointment_id}/reschedule",
    auth=portal_auth,
    response={200: PortalAppointmentOut, 404: Problem, 409: Problem, 422: Problem},
)
def portal_appointment_reschedule(request, appointment_id: int, payload: RescheduleIn):
    """Move to another free slot of the same doctor, under the same notice period."""
    services.own_row_or_404(services.appointment_of, request.portal_identity, appointment_id)
    appointment = services.online_appointment_reschedule(
        identity=request.portal_identity, appointment_id=appointment_id, start=payload.start
    )
    return Status(200, appointment_out(appointment))


# --- Booking: doctors and free slots -------------------------------------------------------


def _clinic_of_own(request, code: str):
    """A clinic where the login has a chart; any other code is a 404."""
    for patient in services.patients_of(request.portal_identity):
        if patient.clinic.code == code.strip().upper():
            return patient.clinic
    raise Http404


class BookableDoctorOut(Schema):
    id: int
    name: str
    specialization: str
    department: str


@router.get("/clinics/{code}/doctors", auth=portal_auth, response=list[BookableDoctorOut])
def portal_clinic_doctors(request, code: str):
    """The doctors this clinic lets patients book online (empty when it books none)."""
    clinic = _clinic_of_own(request, code)
    return [
        {
            "id": doctor.pk,
            "name": doctor.user.full_name,
            "specialization": doctor.specialization,
            "department": doctor.department.name if doctor.department else "",
        }
        for doctor in services.bookable_doctors(clinic)
    ]


class SlotOut(Schema):
    start: datetime.datetime
    end: datetime.datetime


@router.get("/clinics/{code}/free-slots", auth=portal_auth, response={200: list[SlotOut], 404: Problem, 409: Problem, 422: Problem})
def portal_clinic_free_slots(request, code: str, doctor_id: int, date: Day):
    """A bookable doctor's free slots on a day, in the clinic's time zone."""
    clinic = _clinic_of_own(request, code)
    check_day(date, "date")
    slots = services.bookable_slots(clinic=clinic, doctor_id=doctor_id, day=date)
    return [{"start": _local(slot["start"], clinic), "end": _local(slot["end"], clinic)} for slot in slots]


# --- Records -------------------------------------------------------------------------------


class PortalPrescriptionItemOut(Schema):
    medicine: str
    dosage: str
    frequency: str
    duration: str
    quantity: int
    instructions: str


class PortalPrescriptionOut(Schema):
    id: int
    reference: str
    patient_id: int
    clinic: str
    doctor: str
    finalized_at: datetime.datetime | None
    valid_until: datetime.date | None
    notes: str
    items: list[PortalPrescriptionItemOut]
    pdf_url: str


@router.get("/prescriptions", auth=portal_auth, response={200: list[PortalPrescriptionOut], 404: Problem})
def portal_prescription_list(request, patient_id: int | None = None):
    """Finalized prescriptions (never a draft), newest first, each with its PDF."""
    return [
        {
            "id": rx.pk,
            "reference": rx.reference,
            "patient_id": rx.patient_id,
            "clinic": rx.clinic.code,
            "doctor": rx.doctor.user.full_name,
            "finalized_at": _local(rx.finalized_at, rx.clinic),
            "valid_until": rx.valid_until,
            "notes": rx.notes,
            "items": [
                {
                    "medicine": item.medicine,
                    "dosage": item.dosage,
                    "frequency": item.frequency,
                    "duration": item.duration,
                    "quantity": item.quantity,
                    "instructions": item.instructions,
                }
                for item in rx.items.all()
            ],
            "pdf_url": f"/api/v1/portal/prescriptions/{rx.pk}/pdf",
        }
        for rx in selectors.prescriptions(request.portal_identity, _chart(request, patient_id))[:200]
    ]


@router.get("/prescriptions/{prescription_id}/pdf", auth=portal_auth, response={200: None, 404: Problem})
def portal_prescription_pdf(request, prescription_id: int):
    return documents.prescription_pdf(request, services.own_row_or_404(selectors.prescription, request.portal_identity, prescription_id))


class ResultOut(Schema):
    test: str
    code: str
    value: str
    unit: str
    range_low: float | None
    range_high: float | None
    range_text: str
    flag: str
    status: str


class PortalLabOrderOut(Schema):
    order_id: int
    reference: str
    patient_id: int
    clinic: str
    doctor: str
    completed_at: datetime.datetime | None
    results: list[ResultOut]
    report_url: str | None


def _number(value) -> float | None:
    return float(value) if value is not None else None


@router.get("/lab-results", auth=portal_auth, response={200: list[PortalLabOrderOut], 404: Problem})
def portal_lab_result_list(request, patient_id: int | None = None):
    """Completed lab orders and their final results, each with the range that applied and
    its flag; the lab's report file when there is one."""
    return [
        {
            "order_id": order.pk,
            "reference": order.reference,
            "patient_id": order.patient_id,
            "clinic": order.clinic.code,
            "doctor": order.ordering_doctor.user.full_name,
            "completed_at": _local(order.completed_at, order.clinic),
            "results": [
                {
                    "test": result.lab_test.name,
                    "code": result.lab_test.code,
                    "value": result.value_display,
                    "unit": result.unit,
                    "range_low": _number(result.range_low),
                    "range_high": _number(result.range_high),
                    "range_text": result.range_text,
                    "flag": result.flag,
                    "status": result.status,
                }
                for result in order.final_results
            ],
            "report_url": f"/api/v1/portal/lab-results/{order.pk}/report" if order.report_file and not order.report_removed_at else None,
        }
        for order in selectors.lab_orders(request.portal_identity, _chart(request, patient_id))[:200]
    ]


@router.get("/lab-results/{order_id}/report", auth=portal_auth, response={200: None, 404: Problem})
def portal_lab_report(request, order_id: int):
    return documents.lab_report(services.own_row_or_404(selectors.lab_order, request.portal_identity, order_id))


class ReceiptOut(Schema):
    id: int
    number: str
    amount: str
    method: str
    received_at: datetime.datetime
    pdf_url: str


class PortalInvoiceOut(Schema):
    id: int
    number: str
    patient_id: int
    clinic: str
    document_type: str
    status: str
    issue_date: datetime.date | None
    due_date: datetime.date | None
    currency: str
    total: str
    paid: str
    balance: str
    pdf_url: str
    receipts: list[ReceiptOut]


@router.get("/invoices", auth=portal_auth, response={200: list[PortalInvoiceOut], 404: Problem})
def portal_invoice_list(request, patient_id: int | None = None):
    """Issued invoices (never a draft) with what was paid, the balance, and the receipts.
    Amounts are decimal strings in the clinic's currency."""
    return [
        {
            "id": invoice.pk,
            "number": invoice.number,
            "patient_id": invoice.patient_id,
            "clinic": invoice.clinic.code,
            "document_type": invoice.document_label,
            "status": invoice.status,
            "issue_date": invoice.issue_date,
            "due_date": invoice.due_date,
            "currency": invoice.clinic.currency,
            "total": str(invoice.total_amount),
            "paid": str(invoice.amount_paid),
            "balance": str(invoice.balance_due),
            "pdf_url": f"/api/v1/portal/invoices/{invoice.pk}/pdf",
            "receipts": [
                {
                    "id": payment.pk,
                    "number": payment.receipt_number,
                    "amount": str(payment.amount),
                    "method": payment.method,
                    "received_at": _local(payment.received_at, invoice.clinic),
                    "pdf_url": f"/api/v1/portal/receipts/{payment.pk}/pdf",
                }
                for payment in invoice.payments.all()
            ],
        }
        for invoice in selectors.invoices(request.portal_identity, _chart(request, patient_id))[:200]
    ]


@router.get("/invoices/{invoice_id}/pdf", auth=portal_auth, response={200: None, 404: Problem})
def portal_invoice_pdf(request, invoice_id: int):
    return documents.invoice_pdf(services.own_row_or_404(selectors.invoice, request.portal_identity, invoice_id))


@router.get("/receipts/{payment_id}/pdf", auth=portal_auth, response={200: None, 404: Problem})
def portal_receipt_pdf(request, payment_id: int):
    return documents.receipt_pdf(services.own_row_or_404(selectors.receipt, request.portal_identity, payment_id))


class PortalDocumentOut(Schema):
    id: int
    patient_id: int
    clinic: str
    name: str
    type: str
    uploaded_at: datetime.datetime
    download_url: str


@router.get("/documents", auth=portal_auth, response={200: list[PortalDocumentOut], 404: Problem})
def portal_document_list(request, patient_id: int | None = None):
    """Documents the clinic shared with the patient."""
    return [
        {
            "id": document.pk,
            "patient_id": document.patient_id,
            "clinic": document.clinic.code,
            "name": document.name,
            "type": document.document_type,
            "uploaded_at": _local(document.uploaded_at, document.clinic),
            "download_url": f"/api/v1/portal/documents/{document.pk}/file",
        }
        for document in selectors.documents(request.portal_identity, _chart(request, patient_id))[:200]
    ]


@router.get("/documents/{document_id}/file", auth=portal_auth, response={200: None, 404: Problem})
def portal_document_file(request, document_id: int):
    return documents.shared_document(services.own_row_or_404(selectors.document, request.portal_identity, document_id))


# --- Profile -------------------------------------------------------------------------------


class ProfileOut(Schema):
    id: int
    clinic: str
    name: str
    phone: str
    email: str
    house: str
    street: str
    area: str
    city: str
    district: str
    state: str
    postal_code: str
    emergency_contact_name: str
    emergency_contact_phone: str
    emergency_contact_relation: str
    reminders_by_sms: bool
    reminders_by_email: bool
    reminders_by_whatsapp: bool
    preferred_language: str


class ProfilePatch(Input):
    email: str | None = None
    house: str | None = None
    street: str | None = None
    area: str | None = None
    city: str | None = None
    district: str | None = None
    state: str | None = None
    postal_code: str | None = None
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None
    emergency_contact_relation: str | None = None
    reminders_by_sms: bool | None = None
    reminders_by_email: bool | None = None
    reminders_by_whatsapp: bool | None = None
    preferred_language: str | None = Field(None, description="en or hi: the language of the clinic's messages")


def profile_out(patient: Patient) -> dict[str, Any]:
    return {
        "id": patient.pk,
        "clinic": patient.clinic.code,
        "name": patient.full_name,
        "phone": patient.mobile,
        **{field: getattr(patient, field) for field in services.PROFILE_FIELDS},
    }


@router.get("/patients/{patient_id}/profile", auth=portal_auth, response={200: ProfileOut, 404: Problem})
def portal_profile_get(request, patient_id: int):
    return profile_out(services.own_row_or_404(services.patient_of, request.portal_identity, patient_id))


@router.patch("/patients/{patient_id}/profile", auth=portal_auth, response={200: ProfileOut, 404: Problem, 422: Problem})
def portal_profile_patch(request, patient_id: int, payload: ProfilePatch):
    """Change the email, address, emergency contact or reminder preferences (recorded in the
    chart's history). The phone changes only at the clinic or through a new code."""
    patient = services.own_row_or_404(services.patient_of, request.portal_identity, patient_id)
    changes = {field: value for field, value in payload.dict(exclude_unset=True).items() if value is not None}
    with scopes_disabled():
        updated = services.profile_update(identity=request.portal_identity, patient=patient, changes=changes)
    return profile_out(updated)
