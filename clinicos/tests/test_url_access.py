"""Walks every URL pattern of the project and checks who may open it.

For each clinic page: anonymous → login, a user of another clinic → 404, each role
without the permission(s) → 403, each role with them → 200. For each clinic API
operation the same, calling it as integrations do, with a bearer token from
``POST /api/v1/auth/login`` for every role (anonymous → 401). And for every page and
operation that takes an id: a member of clinic A asking, under A's own URL, for the ids
of clinic B's objects gets 404 and changes nothing. A URL this test does not know fails
the test: when you add a URL, classify it in one of the tables below.
"""

import re
from contextlib import contextmanager

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.inputs import invoice_lines_parse
from clinical.inputs import LabResultInput
from clinicos.models import Clinic, Department, DoctorProfile, Membership, Resource, User
from clinicos.roles import ROLE_PERMISSIONS, Perm, Role
from clinicos.tests.factories import (
    ApiTokenFactory,
    AuditLogFactory,
    DepartmentFactory,
    MembershipFactory,
    ReadAccessLogFactory,
    ResourceFactory,
)

# Pages under /c/<clinic_code>/: url name -> (method, permission its view declares[,
# further permissions it checks on the objects it opens]).
CLINIC_PAGES: dict[str, tuple] = {
    "dashboard": ("get", Perm.DASHBOARD_VIEW),
    "clinic_settings": ("get", Perm.SETTINGS_MANAGE),
    "staff_list": ("get", Perm.SETTINGS_MANAGE),
    "staff_edit": ("get", Perm.SETTINGS_MANAGE),
    "staff_invitation_resend": ("post", Perm.SETTINGS_MANAGE),
    "doctor_list": ("get", Perm.SETTINGS_MANAGE),
    "doctor_profile_edit": ("get", Perm.SETTINGS_MANAGE),
    "my_doctor_profile": ("get", Perm.DOCTOR_PROFILE_EDIT_OWN),
    "department_list": ("get", Perm.SETTINGS_MANAGE),
    "department_edit": ("get", Perm.SETTINGS_MANAGE),
    "department_delete": ("post", Perm.SETTINGS_MANAGE),
    "resource_list": ("get", Perm.SETTINGS_MANAGE),
    "resource_edit": ("get", Perm.SETTINGS_MANAGE),
    "audit_log": ("get", Perm.AUDIT_VIEW),
    "patient_list": ("get", Perm.PATIENTS_VIEW),
    "patient_quick_search": ("get", Perm.PATIENTS_VIEW),
    "patient_register": ("get", Perm.PATIENTS_EDIT),
    "patient_register_full": ("get", Perm.PATIENTS_EDIT),
    "patient_chart": ("get", Perm.PATIENTS_VIEW),
    "patient_edit": ("get", Perm.PATIENTS_EDIT),
    "patient_archive": ("post", Perm.PATIENTS_EDIT),
    "patient_unarchive": ("post", Perm.PATIENTS_EDIT),
    "patient_tab_overview": ("get", Perm.PATIENTS_VIEW),
    "patient_tab_documents": ("get", Perm.DOCUMENTS_VIEW),
    "patient_tab_history": ("get", Perm.PATIENTS_VIEW),
    "document_upload": ("post", Perm.DOCUMENTS_UPLOAD),
    "document_download": ("get", Perm.DOCUMENTS_VIEW),
    "document_delete": ("post", Perm.DOCUMENTS_UPLOAD),
    "document_share": ("post", Perm.DOCUMENTS_UPLOAD),
    "online_booking_settings": ("get", Perm.SETTINGS_MANAGE),
    "insurer_list": ("get", Perm.INSURERS_MANAGE),
    "insurer_create": ("get", Perm.INSURERS_MANAGE),
    "insurer_edit": ("get", Perm.INSURERS_MANAGE),
    "lead_board": ("get", Perm.LEADS_WORK),
    "lead_list": ("get", Perm.LEADS_WORK),
    "lead_add": ("get", Perm.LEADS_WORK),
    "cro_queue": ("get", Perm.LEADS_WORK),
    "lead_follow_ups": ("get", Perm.LEADS_WORK),
    "lead_dashboard": ("get", Perm.LEADS_WORK),
    "lead_settings": ("get", Perm.SETTINGS_MANAGE),
    "lead_api_key_revoke": ("post", Perm.SETTINGS_MANAGE),
    "lead_detail": ("get", Perm.LEADS_WORK),
    "lead_edit": ("get", Perm.LEADS_WORK),
    "lead_move": ("post", Perm.LEADS_WORK),
    "lead_log_activity": ("post", Perm.LEADS_WORK),
    "lead_convert": ("get", Perm.LEADS_WORK),
    "calendar_day": ("get", Perm.SCHEDULE_VIEW),
    "calendar_week": ("get", Perm.SCHEDULE_VIEW),
    "calendar_resources": ("get", Perm.SCHEDULE_VIEW),
    "front_desk_today": ("get", Perm.SCHEDULE_VIEW),
    "my_schedule": ("get", Perm.SCHEDULE_VIEW),
    "availability": ("get", Perm.AVAILABILITY_EDIT),
    "calendar_feed_renew": ("post", Perm.CALENDAR_FEED),
    "appointment_new": ("get", Perm.SCHEDULE_BOOK),
    "booking_patient_picks": ("get", Perm.SCHEDULE_BOOK),
    "appointment_detail": ("get", Perm.SCHEDULE_VIEW),
    "appointment_move": ("post", Perm.SCHEDULE_BOOK),
    "appointment_status": ("post", Perm.SCHEDULE_CHECK_IN),
    # A chart tab opens a patient: a CRO sees the schedule but not patients.
    "patient_tab_appointments": ("get", Perm.SCHEDULE_VIEW, Perm.PATIENTS_VIEW),
    "lead_instant_booking": ("get", Perm.SCHEDULE_BOOK_LEADS),
    "notification_list": ("get", Perm.DASHBOARD_VIEW),
    "notification_bell": ("get", Perm.DASHBOARD_VIEW),
    "notifications_read_all": ("post", Perm.DASHBOARD_VIEW),
    "notification_open": ("post", Perm.DASHBOARD_VIEW),
    "visit_start": ("post", Perm.CLINICAL_EDIT),
    "visit_detail": ("get", Perm.CLINICAL_VIEW),
    "visit_note_save": ("post", Perm.CLINICAL_EDIT),
    "visit_complete": ("post", Perm.CLINICAL_EDIT),
    "visit_next_patient": ("get", Perm.CLINICAL_VIEW),
    "visit_addendum_add": ("post", Perm.CLINICAL_EDIT),
    "visit_vitals_record": ("post", Perm.VITALS_RECORD),
    "visit_follow_up": ("get", Perm.CLINICAL_EDIT),
    "appointment_visit": ("get", Perm.CLINICAL_VIEW),
    "icd10_search": ("get", Perm.CLINICAL_VIEW),
    "break_the_glass": ("get", Perm.CLINICAL_VIEW),
    "patient_tab_summary": ("get", Perm.CLINICAL_VIEW),
    "patient_tab_timeline": ("get", Perm.CLINICAL_VIEW),
    "patient_tab_vitals": ("get", Perm.CLINICAL_VIEW),
    "patient_tab_medical_history": ("get", Perm.CLINICAL_VIEW),
    "patient_summary_pdf": ("get", Perm.CLINICAL_VIEW),
    "patient_vitals_record": ("post", Perm.VITALS_RECORD),
    "allergies_none": ("post", Perm.MEDICAL_HISTORY_EDIT),
    "history_item_create": ("get", Perm.MEDICAL_HISTORY_EDIT),
    "history_item_edit": ("get", Perm.MEDICAL_HISTORY_EDIT),
    "history_item_set_inactive": ("post", Perm.MEDICAL_HISTORY_EDIT),
    "visit_prescription": ("get", Perm.PRESCRIPTIONS_VIEW),
    "visit_prescription_item_add": ("post", Perm.PRESCRIPTIONS_WRITE),
    "prescription_item_remove": ("post", Perm.PRESCRIPTIONS_WRITE),
    "prescription_detail": ("get", Perm.PRESCRIPTIONS_VIEW),
    "prescription_finalize": ("post", Perm.PRESCRIPTIONS_WRITE),
    "prescription_correct": ("post", Perm.PRESCRIPTIONS_WRITE),
    "prescription_discard": ("post", Perm.PRESCRIPTIONS_WRITE),
    "prescription_print": ("get", Perm.PRESCRIPTIONS_VIEW),
    "prescription_dispense": ("post", Perm.PRESCRIPTIONS_DISPENSE),
    "pharmacy_worklist": ("get", Perm.PRESCRIPTIONS_DISPENSE),
    "visit_lab_orders": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_worklist": ("get", Perm.LAB_ORDERS_VIEW),
    "critical_results": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_order_detail": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_order_status": ("post", Perm.LAB_WORK),
    "lab_order_results": ("post", Perm.LAB_WORK),
    "lab_order_report": ("post", Perm.LAB_WORK),
    "lab_order_report_download": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_requisition_pdf": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_results_report_pdf": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_order_review": ("post", Perm.LAB_RESULTS_REVIEW),
    "lab_result_acknowledge": ("post", Perm.LAB_RESULTS_REVIEW),
    "patient_tab_prescriptions": ("get", Perm.PRESCRIPTIONS_VIEW),
    "patient_tab_labs": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_catalog_settings": ("get", Perm.SETTINGS_MANAGE),
    "lab_test_create": ("get", Perm.SETTINGS_MANAGE),
    "lab_test_edit": ("get", Perm.SETTINGS_MANAGE),
    "formulary_settings": ("get", Perm.SETTINGS_MANAGE),
    "formulary_item_create": ("get", Perm.SETTINGS_MANAGE),
    "formulary_item_edit": ("get", Perm.SETTINGS_MANAGE),
    "invoice_list": ("get", Perm.BILLING_VIEW),
    "invoice_new": ("get", Perm.BILLING_EDIT),
    "invoice_detail": ("get", Perm.BILLING_VIEW),
    "invoice_edit": ("get", Perm.BILLING_EDIT),
    "invoice_delete": ("post", Perm.BILLING_EDIT),
    "invoice_issue": ("post", Perm.BILLING_EDIT),
    "invoice_pay": ("post", Perm.BILLING_EDIT),
    "invoice_apply_deposit_page": ("post", Perm.BILLING_EDIT),
    "invoice_cancel_page": ("post", Perm.BILLING_REFUND),
    "invoice_print": ("get", Perm.BILLING_VIEW),
    "bill_appointment": ("post", Perm.BILLING_EDIT),
    "bill_visit": ("post", Perm.BILLING_EDIT),
    "payment_receipt": ("get", Perm.BILLING_VIEW),
    "payment_refund_page": ("get", Perm.BILLING_REFUND),
    "deposit_new": ("get", Perm.BILLING_EDIT),
    "patient_statement": ("get", Perm.BILLING_VIEW),
    "day_close": ("get", Perm.BILLING_VIEW),
    "service_list": ("get", Perm.SERVICES_MANAGE),
    "service_new": ("get", Perm.SERVICES_MANAGE),
    "service_edit": ("get", Perm.SERVICES_MANAGE),
    "patient_tab_billing": ("get", Perm.BILLING_VIEW),
    "report_list": ("get", Perm.REPORTS_VIEW),
    # The sample report is a revenue report: of the roles with REPORTS_VIEW, billing and
    # administrators see it (CROs see lead reports, doctors their own).
    "report_detail": ("get", Perm.REPORTS_VIEW, Perm.FINANCIALS_VIEW),
    "report_download": ("get", Perm.REPORTS_VIEW, Perm.FINANCIALS_VIEW),
    "message_list": ("get", Perm.MESSAGES_VIEW),
    "message_send_again": ("post", Perm.MESSAGES_RESEND),
    "message_settings": ("get", Perm.SETTINGS_MANAGE),
    # The Messages tab is part of the chart: the CRO follows messages but opens no charts.
    "patient_tab_messages": ("get", Perm.MESSAGES_VIEW, Perm.PATIENTS_VIEW),
    "patient_message_preferences": ("post", Perm.PATIENTS_EDIT),
    "recall_list": ("get", Perm.RECALLS_WORK),
    "recall_send": ("post", Perm.RECALLS_WORK),
    "recall_update": ("post", Perm.RECALLS_WORK),
    "waitlist_list": ("get", Perm.RECALLS_WORK),
    "waitlist_remove": ("post", Perm.RECALLS_WORK),
    "data_export_list": ("get", Perm.SETTINGS_MANAGE),
    "data_export_download": ("get", Perm.SETTINGS_MANAGE),
    "import_list": ("get", Perm.SETTINGS_MANAGE),
    "import_detail": ("get", Perm.SETTINGS_MANAGE),
}

# API endpoints under /api/v1/clinics/{code}/: url name -> (method, permission[s]).
CLINIC_API: dict[str, tuple] = {
    "staff_list": ("get", Perm.SETTINGS_MANAGE),
    "staff_create": ("post", Perm.SETTINGS_MANAGE),
    "staff_patch": ("patch", Perm.SETTINGS_MANAGE),
    "department_list": ("get", Perm.SETTINGS_MANAGE),
    "department_create": ("post", Perm.SETTINGS_MANAGE),
    "department_patch": ("patch", Perm.SETTINGS_MANAGE),
    "department_delete": ("delete", Perm.SETTINGS_MANAGE),
    "resource_list": ("get", Perm.SETTINGS_MANAGE),
    "resource_create": ("post", Perm.SETTINGS_MANAGE),
    "resource_patch": ("patch", Perm.SETTINGS_MANAGE),
    "visit_create": ("post", Perm.CLINICAL_EDIT),
    "visit_detail": ("get", Perm.CLINICAL_VIEW),
    "visit_note_put": ("put", Perm.CLINICAL_EDIT),
    "visit_complete": ("post", Perm.CLINICAL_EDIT),
    "visit_addendum_create": ("post", Perm.CLINICAL_EDIT),
    "vital_signs_create": ("post", Perm.VITALS_RECORD),
    "vital_signs_list": ("get", Perm.CLINICAL_VIEW),
    "allergies_none": ("post", Perm.MEDICAL_HISTORY_EDIT),
    **{
        f"{item}_{action}": (method, perm)
        for item in ("allergy", "condition", "medication", "immunization", "procedure", "family_history")
        for action, method, perm in (
            ("list", "get", Perm.CLINICAL_VIEW),
            ("create", "post", Perm.MEDICAL_HISTORY_EDIT),
            ("patch", "patch", Perm.MEDICAL_HISTORY_EDIT),
        )
    },
    "metadata_doctors": ("get", Perm.DASHBOARD_VIEW),
    "metadata_enums": ("get", Perm.DASHBOARD_VIEW),
    "patient_list": ("get", Perm.PATIENTS_VIEW),
    "patient_create": ("post", Perm.PATIENTS_EDIT),
    "patient_detail": ("get", Perm.PATIENTS_VIEW),
    "patient_patch": ("patch", Perm.PATIENTS_EDIT),
    "document_list": ("get", Perm.DOCUMENTS_VIEW),
    "document_create": ("post", Perm.DOCUMENTS_UPLOAD),
    "document_download": ("get", Perm.DOCUMENTS_VIEW),
    "document_delete": ("delete", Perm.DOCUMENTS_UPLOAD),
    "lead_list": ("get", Perm.LEADS_WORK),
    "lead_create": ("post", Perm.LEADS_WORK),
    "lead_detail": ("get", Perm.LEADS_WORK),
    "lead_patch": ("patch", Perm.LEADS_WORK),
    "lead_convert": ("post", Perm.LEADS_WORK),
    "dashboard_stats": ("get", Perm.LEADS_WORK),
    "dashboard_funnel": ("get", Perm.LEADS_WORK),
    "appointment_list": ("get", Perm.SCHEDULE_VIEW),
    "appointment_create": ("post", Perm.SCHEDULE_BOOK),
    "appointment_detail": ("get", Perm.SCHEDULE_VIEW),
    # The sample appointment is a patient's: moving it also needs SCHEDULE_BOOK_PATIENTS.
    "appointment_patch": ("patch", Perm.SCHEDULE_BOOK, Perm.SCHEDULE_BOOK_PATIENTS),
    "appointment_status": ("post", Perm.SCHEDULE_CHECK_IN),
    "free_slots": ("get", Perm.SCHEDULE_VIEW),
    "patient_timeline": ("get", Perm.CLINICAL_VIEW),
    "patient_summary": ("get", Perm.CLINICAL_VIEW),
    "patient_fhir": ("get", Perm.CLINICAL_VIEW),
    "visit_op_consultation": ("get", Perm.CLINICAL_VIEW),
    "prescription_fhir": ("get", Perm.PRESCRIPTIONS_VIEW),
    "lab_order_fhir": ("get", Perm.LAB_ORDERS_VIEW),
    "import_create": ("post", Perm.SETTINGS_MANAGE),
    "import_detail": ("get", Perm.SETTINGS_MANAGE),
    "notification_list": ("get", Perm.DASHBOARD_VIEW),
    "notification_read": ("post", Perm.DASHBOARD_VIEW),
    "prescription_create": ("post", Perm.PRESCRIPTIONS_WRITE),
    "prescription_list": ("get", Perm.PRESCRIPTIONS_VIEW),
    "prescription_detail": ("get", Perm.PRESCRIPTIONS_VIEW),
    "prescription_patch": ("patch", Perm.PRESCRIPTIONS_WRITE),
    "prescription_delete": ("delete", Perm.PRESCRIPTIONS_WRITE),
    "prescription_finalize": ("post", Perm.PRESCRIPTIONS_WRITE),
    "prescription_pdf": ("get", Perm.PRESCRIPTIONS_VIEW),
    "prescription_dispense": ("post", Perm.PRESCRIPTIONS_DISPENSE),
    "lab_test_list": ("get", Perm.LAB_CATALOG_VIEW),
    "lab_order_create": ("post", Perm.LAB_ORDERS_CREATE),
    "lab_order_list": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_order_detail": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_order_status": ("post", Perm.LAB_WORK),
    "lab_order_results": ("post", Perm.LAB_WORK),
    "lab_results_report": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_order_review": ("post", Perm.LAB_RESULTS_REVIEW),
    "critical_result_list": ("get", Perm.LAB_ORDERS_VIEW),
    "lab_result_acknowledge": ("post", Perm.LAB_RESULTS_REVIEW),
    "service_list": ("get", Perm.BILLING_VIEW),
    "service_create": ("post", Perm.SERVICES_MANAGE),
    "service_patch": ("patch", Perm.SERVICES_MANAGE),
    "invoice_create": ("post", Perm.BILLING_EDIT),
    "invoice_list": ("get", Perm.BILLING_VIEW),
    "invoice_detail": ("get", Perm.BILLING_VIEW),
    "invoice_details": ("get", Perm.BILLING_VIEW),
    "invoice_patch": ("patch", Perm.BILLING_EDIT),
    "invoice_delete": ("delete", Perm.BILLING_EDIT),
    "invoice_issue": ("post", Perm.BILLING_EDIT),
    "invoice_cancel": ("post", Perm.BILLING_REFUND),
    "invoice_pdf": ("get", Perm.BILLING_VIEW),
    "payment_process": ("post", Perm.BILLING_EDIT),
    "payment_refund": ("post", Perm.BILLING_REFUND),
    "payment_receipt": ("get", Perm.BILLING_VIEW),
    "deposit_create": ("post", Perm.BILLING_EDIT),
    "invoice_apply_deposit": ("post", Perm.BILLING_EDIT),
    "patient_financials": ("get", Perm.BILLING_VIEW),
    "financial_snapshot": ("get", Perm.FINANCIALS_VIEW),
    # The sample request is a revenue report: billing officers and administrators may ask.
    "report_generate": ("post", Perm.REPORTS_VIEW, Perm.FINANCIALS_VIEW),
    "audit_list": ("get", Perm.AUDIT_VIEW),
    "report_list": ("get", Perm.REPORTS_VIEW),
    "report_detail": ("get", Perm.REPORTS_VIEW, Perm.FINANCIALS_VIEW),
    "report_download": ("get", Perm.REPORTS_VIEW, Perm.FINANCIALS_VIEW),
    "message_list": ("get", Perm.MESSAGES_VIEW),
    "message_retry": ("post", Perm.MESSAGES_RESEND),
    "message_rules": ("get", Perm.SETTINGS_MANAGE),
    "message_rules_patch": ("patch", Perm.SETTINGS_MANAGE),
    "recall_list": ("get", Perm.RECALLS_WORK),
    "recall_create": ("post", Perm.RECALLS_WORK),
    "recall_patch": ("patch", Perm.RECALLS_WORK),
    "waitlist_list": ("get", Perm.RECALLS_WORK),
    "waitlist_create": ("post", Perm.RECALLS_WORK),
    "waitlist_delete": ("delete", Perm.RECALLS_WORK),
}

# Bodies and queries that pass the schema, so that access decides the answer.
WELL_FORMED_BODIES = {
    "staff_create": {"email": "walker@example.test", "full_name": "Walker Test", "roles": ["nurse"]},
    "staff_patch": {"roles": ["nurse"]},
    "department_create": {"name": "Walk-in Department"},
    "department_patch": {"description": "Walked."},
    "resource_create": {"name": "Walk-in Room"},
    "resource_patch": {"name": "Walked Room"},
    "visit_create": lambda ids: {"patient_id": ids["patient_id"]},
    "visit_note_put": {"subjective": "Walked."},
    "visit_addendum_create": {"text": "Walked."},
    "vital_signs_create": lambda ids: {"patient_id": ids["patient_id"], "pulse_rate": 72},
    "allergy_create": {"substance": "Latex"},
    "allergy_patch": {"reaction": "Hives"},
    "condition_create": {"name": "Asthma"},
    "condition_patch": {"notes": "Walked."},
    "medication_create": {"name": "Folic acid"},
    "medication_patch": {"dose": "5 mg"},
    "immunization_create": {"vaccine": "Tdap"},
    "immunization_patch": {"notes": "Walked."},
    "procedure_create": {"name": "Hysteroscopy"},
    "procedure_patch": {"notes": "Walked."},
    "family_history_create": {"relation": "mother", "condition": "Hypertension"},
    "family_history_patch": {"notes": "Since 60."},
    "appointment_create": {"doctor_id": 1, "start": "2030-01-07T10:00:00+05:30", "lead_id": 999999},
    "appointment_status": {"status": "no_such_status"},
    "lead_patch": {"problem": "Asked about costs."},
    "patient_patch": {"city": "Mysuru"},
    "prescription_create": lambda ids: {
        "visit_id": ids["visit_id"],
        "items": [{"medicine": "Folic acid", "dosage": "5 mg", "frequency": "daily", "duration": "30 days", "quantity": 30}],
    },
    "prescription_patch": {"notes": "Walked."},
    "lab_order_create": lambda ids: {"patient_id": ids["patient_id"], "tests": [{"code": "TSH"}]},
    "lab_order_status": {"status": "in_progress"},
    "lab_order_results": lambda ids: {"results": [{"test_id": ids["order_test_id"], "value": "2.0"}]},
    "lab_result_acknowledge": {"comment": "Walked."},
    "service_create": {"name": "Walk-in service", "price": "100.00"},
    "service_patch": {"price": "120.00"},
    "invoice_create": lambda ids: {"patient_id": ids["patient_id"], "lines": [{"description": "Walked", "unit_price": "10.00"}]},
    "invoice_patch": {"notes": "Walked."},
    "invoice_cancel": {"reason": "Walked."},
    "payment_process": lambda ids: {"invoice_id": ids["invoice_id"], "amount": "1.00", "method": "cash"},
    "payment_refund": {"amount": "1.00", "reason": "Walked."},
    "deposit_create": lambda ids: {"patient_id": ids["patient_id"], "amount": "10.00", "method": "cash"},
    "invoice_apply_deposit": {"amount": "1.00"},
    "report_generate": {"report_type": "revenue", "start_date": "2026-11-01", "end_date": "2026-11-30"},
    "message_rules_patch": {"sender_name": "Walked"},
    "recall_create": lambda ids: {"patient_id": ids["patient_id"], "due_date": "2030-01-07", "reason": "Walked"},
    "recall_patch": {"call_note": "Walked."},
    "waitlist_create": lambda ids: {
        "patient_id": ids["patient_id"],
        "department_id": ids["department_id"],
        "earliest_date": "2030-01-07",
        "latest_date": "2030-01-14",
    },
}
REQUIRED_QUERIES = {"free_slots": "?date=2030-01-07", "report_download": "?format=xlsx"}

# Pages that need a login but no clinic.
LOGGED_IN_PAGES = {"clinic_picker"}
# Open to everybody.
PUBLIC_PAGES = {
    "home",
    "favicon",
    "api_not_found",
    # A doctor's iCal feed: its secret token is the credential (tested in scheduling).
    "calendar_feed",
    # The prescription's QR code: says only genuine/current (tested in clinical).
    "prescription_verify",
    # What a patient opens from a message: the signed or random token is the key (tested in
    # clinicos/messaging and scheduling), and Twilio's signed delivery reports.
    "appointment_link",
    "waitlist_claim",
    "email_opt_out",
    "twilio_status",
}
PUBLIC_API = {
    "openapi-json",
    "openapi-view",
    "api-root",
    "auth_login",
    # Website lead capture: authenticated by the clinic's X-Api-Key (tested in leads).
    "public_lead_preflight",
    "public_lead_create",
}
# API endpoints that need a token or session but no clinic.
AUTHENTICATED_API = {"auth_logout"}
# The patient portal (/portal/…, /api/v1/portal/…): its own one-time-code login, no staff
# user; every name starts with "portal_". Walked below; its rules are tested in portal/tests.
PORTAL_PREFIX = "portal_"
# Portal pages open without a portal login: the code login itself.
PORTAL_LOGIN_PAGES = {"portal_login", "portal_verify", "portal_resend", "portal_logout"}
PORTAL_PUBLIC_API = {"portal_auth_request_code", "portal_auth_verify"}
# django-allauth's own pages (login, password reset, two-factor): tested by allauth;
# here we check they answer without an error, logged in or not.
ALLAUTH_PREFIXES = ("account_", "mfa_")


def all_url_patterns():
    def walk(patterns, prefix="", namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), namespace, pattern

    return list(walk(get_resolver().url_patterns))


def classify(namespace, pattern) -> str:
    name = pattern.name
    if namespace == "admin":
        return "admin"
    if namespace == "api":
        if name and name.startswith(PORTAL_PREFIX):
            return "portal_api"
        if name in CLINIC_API:
            return "clinic_api"
        if name in PUBLIC_API:
            return "public_api"
        if name in AUTHENTICATED_API:
            return "authenticated_api"
        return "unknown"
    if name in CLINIC_PAGES:
        return "clinic_page"
    if name and name.startswith(PORTAL_PREFIX):
        return "portal_page"
    if name in LOGGED_IN_PAGES:
        return "logged_in_page"
    if name in PUBLIC_PAGES:
        return "public_page"
    if name and name.startswith(ALLAUTH_PREFIXES):
        return "allauth"
    return "unknown"


def test_every_url_pattern_is_classified():
    unknown = [
        f"{route} (name={pattern.name!r}, namespace={namespace!r})"
        for route, namespace, pattern in all_url_patterns()
        if classify(namespace, pattern) == "unknown"
    ]
    assert not unknown, "Classify these URLs in clinicos/tests/test_url_access.py:\n" + "\n".join(unknown)


def test_classified_pages_declare_the_same_permission_as_their_view():
    for route, namespace, pattern in all_url_patterns():
        if classify(namespace, pattern) == "clinic_page":
            declared = getattr(pattern.callback, "required_permission", None)
            assert declared == CLINIC_PAGES[pattern.name][1], f"{route}: the view requires {declared}"


def test_every_clinic_url_is_checked_as_a_clinic_url():
    for route, namespace, pattern in all_url_patterns():
        if route.startswith("c/<str:clinic_code>/"):
            assert classify(namespace, pattern) == "clinic_page", route
        if route.startswith("api/v1/clinics/<code>/"):
            assert classify(namespace, pattern) == "clinic_api", route


@pytest.mark.url_walk
@pytest.mark.django_db
def test_every_portal_url_needs_a_portal_login_and_no_staff_login_opens_it(client, clinic, make_member, api_client):
    """Anonymous, and logged in as staff (session or bearer token): every portal page sends
    to the portal's code login, every portal API operation but the two login steps answers
    401."""
    staff = make_member(*Role)
    token = api_client(staff).token
    pages = api = 0
    for route, namespace, pattern in all_url_patterns():
        kind = classify(namespace, pattern)
        if kind not in ("portal_page", "portal_api"):
            continue
        url = "/" + re.sub(r"<(?:int|str):\w+>|\{\w+\}", "1", route).replace("^", "").replace("$", "")
        if kind == "portal_page" and pattern.name not in PORTAL_LOGIN_PAGES:
            for logged_in in (False, True):
                client.logout()
                if logged_in:
                    client.force_login(staff)
                for method in ("get", "post"):
                    answer = getattr(client, method)(url)
                    assert answer.status_code in (302, 405), (url, method, logged_in)
                    if answer.status_code == 302:
                        assert answer["Location"] == "/portal/login/", (url, answer["Location"])
            pages += 1
        elif kind == "portal_api" and pattern.name not in PORTAL_PUBLIC_API:
            client.logout()
            for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {token}"}):
                for method in ("get", "post", "patch"):
                    answer = getattr(client, method)(url, content_type="application/json", **headers)
                    assert answer.status_code in (401, 405), (url, method, headers, answer.status_code)
            api += 1
    assert pages >= 15 and api >= 15, (pages, api)


@pytest.fixture
def staff_by_role(make_member):
    return {role: make_member(role) for role in Role}


def sample_kwargs(clinic, user=None) -> dict:
    """Real objects of ``clinic`` for the ids in URLs (new ones each call: some calls delete).
    A notification is its recipient's alone: ``user``'s when given."""
    from leads.tests.factories import LeadApiKeyFactory, LeadFactory
    from patients.tests.factories import DocumentFactory, InsuranceProviderFactory
    from scheduling.tests.factories import AppointmentFactory

    document = DocumentFactory(clinic=clinic, patient__clinic=clinic)
    insurer = InsuranceProviderFactory(clinic=clinic)
    clinical = clinical_samples(clinic, document.patient)
    return {
        **clinical,
        "item_id": clinical["allergy_id"],  # with "kind": "allergies"
        "member_id": MembershipFactory(clinic=clinic, roles=[Role.DOCTOR.value]).pk,
        "department_id": DepartmentFactory(clinic=clinic).pk,
        "resource_id": ResourceFactory(clinic=clinic).pk,
        "patient_id": document.patient_id,
        "document_id": document.pk,
        "insurer_id": insurer.pk,
        "lead_id": LeadFactory(clinic=clinic).pk,
        "key_id": LeadApiKeyFactory(clinic=clinic).pk,
        "appointment_id": AppointmentFactory(clinic=clinic).pk,
        "notification_id": _sample_notification(clinic, user).pk,
        "kind": "allergies",
        **outreach_samples(clinic, document.patient),
    }


def outreach_samples(clinic, patient) -> dict:
    """A failed message (so "send again" has something to do), a recall, a waitlist entry."""
    import datetime

    from django.utils import timezone

    from clinicos.messaging.models import OutboundMessage
    from scheduling.models import Recall, WaitlistEntry

    message = OutboundMessage.objects.create(
        clinic=clinic,
        patient_id=patient.pk,
        kind="reminder",
        channel="sms",
        recipient="+919845012345",
        body="Sample",
        dedup_key=f"sample:{patient.pk}",
        scheduled_for=timezone.now(),
        status="failed",
    )
    today = clinic.today()
    recall = Recall.objects.create(clinic=clinic, patient=patient, due_date=today, reason="Sample")
    entry = WaitlistEntry.objects.create(
        clinic=clinic,
        patient=patient,
        department=DepartmentFactory(clinic=clinic),
        earliest_date=today,
        latest_date=today + datetime.timedelta(days=7),
    )
    from clinicos.models import User
    from reporting.models import DataExport

    requester = User.objects.filter(memberships__clinic=clinic).first() or MembershipFactory(clinic=clinic, roles=[Role.ADMIN.value]).user
    from django.core.files.base import ContentFile

    data_export = DataExport.objects.create(clinic=clinic, requested_by=requester, status="completed", progress=100)
    data_export.file.save("sample.zip", ContentFile(b"PK\x05\x06" + b"\x00" * 18))  # an empty ZIP, ready to download
    from reporting.models import DataImport

    data_import = DataImport(
        clinic=clinic, kind="patients", original_name="patients.csv", requested_by=requester, mapping={"first_name": "First name"}
    )
    data_import.file.save("patients.csv", ContentFile(b"First name,Mobile\nWalker,9845012345\n"))
    return {
        "message_id": message.pk,
        "recall_id": recall.pk,
        "waitlist_id": entry.pk,
        "export_id": data_export.pk,
        "import_id": data_import.pk,
    }


def _sample_notification(clinic, user):
    from clinicos.models import Membership, Notification

    recipient = user if user is not None and Membership.objects.filter(clinic=clinic, user=user).exists() else None
    recipient = recipient or MembershipFactory(clinic=clinic, roles=[Role.DOCTOR.value]).user
    return Notification.objects.create(
        clinic=clinic, recipient=recipient, kind=Notification.Kind.PATIENT_CHECKED_IN, title="Sample", url="/"
    )


def clinical_samples(clinic, patient) -> dict:
    """A visit (with its note) and one entry of each history list, all of ``patient``."""
    from clinical import services as clinical_services
    from clinicos.tests.factories import DoctorProfileFactory

    doctor = DoctorProfileFactory(clinic=clinic)
    visit = clinical_services.visit_start(clinic=clinic, user=doctor.user, patient=patient)
    samples = {"visit_id": visit.pk}
    first_fields = {
        "allergies": {"substance": "Dust"},
        "immunizations": {"vaccine": "BCG"},
        "family-history": {"relation": "father", "condition": "Asthma"},
    }
    for kind, key in (
        ("allergies", "allergy_id"),
        ("conditions", "condition_id"),
        ("medications", "medication_id"),
        ("immunizations", "immunization_id"),
        ("procedures", "procedure_id"),
        ("family-history", "entry_id"),
    ):
        data = first_fields.get(kind, {"name": "Sample"})
        samples[key] = clinical_services.history_item_save(kind=kind, patient=patient, user=doctor.user, data=data).pk
    return {**samples, **order_samples(clinic, visit, doctor.user), **billing_samples(clinic, patient)}


def billing_samples(clinic, patient) -> dict:
    """A service, a draft invoice of ``patient`` (every page of an invoice opens on a
    draft), and a payment on another, issued invoice."""
    from decimal import Decimal

    from billing import services as billing_services

    clerk = MembershipFactory(clinic=clinic, roles=[Role.BILLING.value]).user
    service = billing_services.service_save(clinic=clinic, user=clerk, name=f"Sample service {patient.pk}", price=Decimal("500.00"))
    draft = billing_services.invoice_create(
        clinic=clinic, user=clerk, patient=patient, lines=invoice_lines_parse([{"service_id": service.pk}])
    )
    issued = billing_services.invoice_create(
        clinic=clinic, user=clerk, patient=patient, lines=invoice_lines_parse([{"service_id": service.pk}])
    )
    billing_services.invoice_issue(invoice=issued, user=clerk)
    payment = billing_services.payment_record(invoice=issued, user=clerk, amount=Decimal("100.00"), method="cash")
    return {
        "service_id": service.pk,
        "invoice_id": draft.pk,
        "payment_id": payment.pk,
        "report_id": _sample_report(clinic).pk,
        "file_format": "xlsx",
    }


def _sample_report(clinic):
    """A completed revenue report of the clinic, asked for by one of its administrators."""
    import datetime

    from reporting import services as reporting_services
    from reporting.models import Report

    done = Report.objects.filter(clinic=clinic, report_type="revenue", status="completed").first()
    if done is not None:
        return done  # no call deletes a report: one per clinic and test is enough (a PDF is slow)
    admin = MembershipFactory(clinic=clinic, roles=[Role.ADMIN.value])
    report = Report.objects.create(
        clinic=clinic,
        report_type="revenue",
        start_date=datetime.date(2026, 11, 1),
        end_date=datetime.date(2026, 11, 30),
        requested_by=admin.user,
    )
    return reporting_services.report_generate(report_id=report.pk)


def order_samples(clinic, visit, doctor_user) -> dict:
    """A finalized prescription of the visit, a lab order with a critical result and a
    report, a catalog test and a formulary medicine."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clinical import lab_catalog
    from clinical import services as clinical_services
    from clinical.models import FormularyItem, LabTest
    from patients.tests.factories import MINIMAL_PDF

    lab_catalog.install(clinic)
    item = {"medicine": "Folic acid", "dosage": "5 mg", "frequency": "daily", "duration": "30 days", "quantity": 30}
    prescription = clinical_services.prescription_create(visit=visit, user=doctor_user, items=[item])
    clinical_services.prescription_finalize(prescription=prescription, user=doctor_user)
    tests = list(LabTest.objects.filter(clinic=clinic, code__in=["TSH", "K"]).order_by("code"))
    order = clinical_services.lab_order_create(patient=visit.patient, user=doctor_user, lab_tests=tests, visit=visit)
    lab = MembershipFactory(clinic=clinic, roles=[Role.LAB.value]).user
    clinical_services.lab_order_set_status(order=order, user=lab, to_status="sample_collected")
    potassium = order.tests.get(lab_test__code="K")
    (result,) = clinical_services.lab_results_enter(
        order=order, user=lab, results=[LabResultInput.of(test_id=potassium.pk, value="7", final=True)]
    )
    report = SimpleUploadedFile("report.pdf", MINIMAL_PDF, content_type="application/pdf")
    clinical_services.lab_report_attach(order=order, user=lab, upload=report)
    return {
        "prescription_id": prescription.pk,
        "rx_item_id": prescription.items.get().pk,
        "order_id": order.pk,
        "order_test_id": order.tests.get(lab_test__code="TSH").pk,
        "result_id": result.pk,
        "lab_test_id": tests[0].pk,
        "formulary_item_id": FormularyItem.objects.filter(clinic=clinic).first().pk,
    }


def concrete_url(route: str, kwargs: dict) -> str:
    url = "/" + route
    for key, value in kwargs.items():
        url = url.replace(f"<int:{key}>", str(value)).replace(f"<{key}>", str(value)).replace(f"<str:{key}>", str(value))
    return url


def role_may(role, perms) -> bool:
    return all(role in ROLE_PERMISSIONS[perm] for perm in perms)


def allowed(status: int, method: str) -> bool:
    """An allowed role reaches the view: a page, a redirect after a POST, or a validation answer."""
    if method == "get":
        return status == 200
    return status in (200, 201, 202, 204, 302, 400, 409, 422)


# --- The walk: every clinic URL for every role ---------------------------------------------
# The sample rows (two clinics, a member of every role, one object of every kind) are built
# once per module, in a transaction rolled back when the module ends; every call below runs
# in a savepoint rolled back after it, so each role meets the same untouched rows that a
# fresh sample would give it (a delete by one role is not seen by the next).


class Walk:
    """The shared sample: clinic A with a member of every role, an outsider (an admin of
    clinic B), a member of A holding every role, and one object of every kind in each clinic."""

    def __init__(self):
        from django.core.cache import cache
        from django.test import Client

        from clinicos.tests.factories import ClinicFactory, UserFactory
        from conftest import ApiClient

        self.clinic = ClinicFactory(code="WLK01", name="Walkway Fertility Centre", uhid_prefix="WLK", timezone="Asia/Kolkata")
        self.other_clinic = ClinicFactory(
            code="WLK02", name="Other Lane Clinic", uhid_prefix="OLC", timezone="Europe/London", currency="GBP"
        )

        def member(clinic, *roles):
            user = UserFactory(full_name=f"{'/'.join(role.label for role in roles)} Walker")
            MembershipFactory(clinic=clinic, user=user, roles=[role.value for role in roles])
            return user

        self.staff = {role: member(self.clinic, role) for role in Role}
        self.outsider = member(self.other_clinic, Role.ADMIN)
        self.member_of_every_role = member(self.clinic, *Role)
        self.ids = sample_kwargs(self.clinic)
        self.other_ids = sample_kwargs(self.other_clinic)
        # A notification is its recipient's alone: one for each member.
        self.notification_of = {user.pk: _sample_notification(self.clinic, user).pk for user in self.staff.values()}
        client = Client()
        cache.clear()  # no login rate limit of an earlier test refuses these logins
        self.tokens = {
            user.pk: ApiClient(client, user, None).token for user in [*self.staff.values(), self.outsider, self.member_of_every_role]
        }

    def ids_for(self, user) -> dict:
        return {**self.ids, "notification_id": self.notification_of[user.pk]}

    def api(self, client, user):
        from conftest import ApiClient

        return ApiClient(client, user, token=self.tokens[user.pk])


@pytest.fixture(scope="module")
def walk(django_db_setup, django_db_blocker):
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield Walk()
        transaction.set_rollback(True)


@contextmanager
def rolled_back():
    """The call's changes are undone after it (a savepoint inside the test's transaction)."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


PAGE_ROUTES = {pattern.name: route for route, ns, pattern in all_url_patterns() if classify(ns, pattern) == "clinic_page"}
API_ROUTES = {pattern.name: route for route, ns, pattern in all_url_patterns() if ns == "api"}


@pytest.mark.url_walk
@pytest.mark.django_db
@pytest.mark.parametrize("name", list(CLINIC_PAGES))
def test_clinic_page_answers_each_role_as_the_matrix_says(name, walk, client):
    method, *perms = CLINIC_PAGES[name]
    call = getattr(client, method)
    url = concrete_url(PAGE_ROUTES[name], {"clinic_code": walk.clinic.code, **walk.ids})
    with rolled_back():
        response = call(url)
    assert response.status_code == 302 and "/accounts/login/" in response.url, f"anonymous {url}"

    client.force_login(walk.outsider)
    with rolled_back():
        response = call(url)
    assert response.status_code == 404, f"outsider {url}"
    assert walk.clinic.name not in response.content.decode(), f"outsider {url} must not learn the clinic's name"

    for role, user in walk.staff.items():
        client.force_login(user)
        url = concrete_url(PAGE_ROUTES[name], {"clinic_code": walk.clinic.code, **walk.ids_for(user)})
        with rolled_back():
            status = call(url).status_code
        if role_may(role, perms):
            assert allowed(status, method), f"{role} {method} {url}: {status}"
        else:
            assert status == 403, f"{role} {method} {url}: {status}"


NON_JSON_OPERATIONS = {"document_download", "prescription_pdf", "invoice_pdf", "payment_receipt", "report_download", "lab_results_report"}


@pytest.mark.url_walk
@pytest.mark.django_db
@pytest.mark.parametrize("name", list(CLINIC_API))
def test_clinic_api_answers_each_role_as_the_matrix_says(name, walk, client):
    """Every operation, with a bearer token of every role (never a session)."""
    method, *perms = CLINIC_API[name]
    url = concrete_url(API_ROUTES[name], {"code": walk.clinic.code, **walk.ids})
    with rolled_back():
        anonymous = getattr(client, method)(url)
    assert anonymous.status_code == 401 and anonymous.json() == {"detail": "Authentication required."}, url
    with rolled_back():
        response = call_api(walk.api(client, walk.outsider), name, url, walk.ids)
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}, url

    for role, user in walk.staff.items():
        ids = walk.ids_for(user)
        url = concrete_url(API_ROUTES[name], {"code": walk.clinic.code, **ids})
        with rolled_back():
            response = call_api(walk.api(client, user), name, url, ids)
        assert response.status_code != 500, f"{role} {method} {url}"
        assert response["Content-Type"].startswith(("application/json", "application/fhir+json")) or name in NON_JSON_OPERATIONS, url
        if role_may(role, perms):
            assert allowed(response.status_code, method), f"{role} {method} {url}: {response.status_code} {response.content[:300]}"
        else:
            assert response.status_code == 403, f"{role} {method} {url}: {response.status_code}"


def call_api(api, name: str, url: str, ids: dict | None = None):
    """A well-formed call of operation ``name``, so that access (not input) decides.
    Bodies that name objects get them from ``ids`` (the same sample as the URL's)."""
    method = CLINIC_API[name][0]
    if name == "document_create":
        from django.core.files.uploadedfile import SimpleUploadedFile

        from patients.tests.factories import MINIMAL_PDF

        upload = SimpleUploadedFile("scan.pdf", MINIMAL_PDF, content_type="application/pdf")
        return api.post(url, {"file": upload, "document_type": "consent"})
    if name == "import_create":
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("patients.csv", b"ID,First name,Mobile,Sex,Age\nW1,Walker,9845012345,F,30\n")
        return api.post(url, {"file": upload, "kind": "patients", "dry_run": "true"})
    if method in ("post", "patch", "put"):
        body = WELL_FORMED_BODIES.get(name, {})
        return getattr(api, method)(url, body(ids or {}) if callable(body) else body)
    if method == "delete":
        return api.delete(url)
    return api.get(url + REQUIRED_QUERIES.get(name, ""))


ID_KEYS = (
    "report_id",
    "invoice_id",
    "payment_id",
    "service_id",
    "prescription_id",
    "rx_item_id",
    "order_id",
    "result_id",
    "lab_test_id",
    "formulary_item_id",
    "notification_id",
    "item_id",
    "visit_id",
    "allergy_id",
    "condition_id",
    "medication_id",
    "immunization_id",
    "procedure_id",
    "entry_id",
    "member_id",
    "department_id",
    "resource_id",
    "patient_id",
    "document_id",
    "insurer_id",
    "lead_id",
    "key_id",
    "appointment_id",
    "message_id",
    "recall_id",
    "waitlist_id",
    "export_id",
    "import_id",
)


def _routes_with_ids():
    for route, namespace, pattern in all_url_patterns():
        kind = classify(namespace, pattern)
        if kind in ("clinic_page", "clinic_api") and any(f"{key}>" in route for key in ID_KEYS):
            yield kind, route, pattern.name


ROUTES_WITH_IDS = list(_routes_with_ids())


def test_enough_routes_take_an_id():
    assert len(ROUTES_WITH_IDS) >= 25


@pytest.mark.url_walk
@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "route", "name"), ROUTES_WITH_IDS, ids=[f"{kind}:{name}" for kind, _, name in ROUTES_WITH_IDS])
def test_another_clinics_ids_under_my_clinics_url_are_404(kind, route, name, walk, client):
    """A member of A (holding every role) puts clinic B's ids into A's own URLs: every
    page and API operation that takes an id answers 404 and changes nothing. Mixed too:
    A's patient with B's document."""
    from clinicos.models import AuditLog

    api = walk.api(client, walk.member_of_every_role)
    client.force_login(walk.member_of_every_role)
    mine, theirs = walk.ids, walk.other_ids
    variants = [theirs]
    if "document_id" in route:
        variants.append({**mine, "document_id": theirs["document_id"]})
    for ids in variants:
        with rolled_back():
            changes_before = AuditLog.objects.count()
            if kind == "clinic_page":
                method = CLINIC_PAGES[name][0]
                url = concrete_url(route, {"clinic_code": walk.clinic.code, **ids})
                response = getattr(client, method)(url, {"status": "arrived", "next": "/"} if method == "post" else None)
            else:
                method = CLINIC_API[name][0]
                url = concrete_url(route, {"code": walk.clinic.code, **ids})
                response = call_api(api, name, url, ids)
            changes_after = AuditLog.objects.count()
        assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        assert walk.other_clinic.name not in response.content.decode(errors="replace"), url
        assert changes_after == changes_before, f"{method} {url} changed something"


@pytest.mark.django_db
def test_pages_outside_a_clinic(client, staff_by_role):
    assert client.get("/").status_code == 302
    response = client.get("/clinics/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
    client.force_login(staff_by_role[Role.NURSE])
    assert client.get("/clinics/?choose=1").status_code == 200


@pytest.mark.django_db
def test_public_and_authenticated_api(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 401
    response = client.post("/api/v1/auth/login", {"email": "nobody@example.test", "password": "x"}, content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_allauth_pages_answer_without_error(client, staff_by_role):
    patterns = [(route, pattern) for route, ns, pattern in all_url_patterns() if classify(ns, pattern) == "allauth"]
    sample = {"key": "abc", "uidb36": "1"}

    for user in (None, staff_by_role[Role.DOCTOR]):
        client.logout()
        if user:
            client.force_login(user)
        for _route, pattern in patterns:
            kwargs = {key: sample[key] for key in pattern.pattern.regex.groupindex}
            url = reverse(pattern.name, kwargs=kwargs)
            response = client.get(url)
            assert response.status_code in (200, 302, 404), f"{url} as {user}: {response.status_code}"


def _sample_objects(clinic):
    """One row of every model the admin manages, so object URLs have a real id."""
    DepartmentFactory(clinic=clinic)
    ResourceFactory(clinic=clinic)
    AuditLogFactory(clinic=clinic)
    from clinical.tasks import escalate_critical_result

    escalate_critical_result.enqueue(0)  # a row of the tasks' queue (django-tasks-db's admin)
    ReadAccessLogFactory(clinic=clinic)
    from patients.tests.factories import DocumentFactory, InsuranceProviderFactory

    document = DocumentFactory(clinic=clinic, patient__clinic=clinic)
    InsuranceProviderFactory(clinic=clinic)
    _billing_admin_samples(clinic, document.patient)
    from leads.tests.factories import LeadApiKeyFactory, LeadFactory, LeadOptionFactory

    LeadFactory(clinic=clinic)
    LeadApiKeyFactory(clinic=clinic)
    LeadOptionFactory(clinic=clinic)
    from scheduling.tests.factories import AppointmentFactory, AvailabilityExceptionFactory, WorkingHoursFactory

    appointment = AppointmentFactory(clinic=clinic)
    WorkingHoursFactory(clinic=clinic, doctor=appointment.doctor)
    AvailabilityExceptionFactory(clinic=clinic)
    token = ApiTokenFactory()
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Group

    Group.objects.create(name="Sample group")
    EmailAddress.objects.create(user=token.user, email=token.user.email, verified=True, primary=True)
    Authenticator.objects.create(user=token.user, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"})
    _portal_admin_samples(clinic)
    outreach_samples(clinic, document.patient)
    from clinicos.messaging.models import MessageRules

    MessageRules.objects.create(clinic=clinic)


def _portal_admin_samples(clinic):
    """The portal's rows for the admin: a clinic's online booking, a login code, a token."""
    import datetime

    from django.utils import timezone

    from portal.models import LoginCode, OnlineBooking, PortalToken

    OnlineBooking.objects.create(clinic=clinic, is_enabled=True)
    now = timezone.now()
    LoginCode.objects.create(channel="phone", address="+919845012345", code_hash="0" * 64, expires_at=now + datetime.timedelta(minutes=10))
    PortalToken.objects.create(key_hash="1" * 64, channel="phone", address="+919845012345", expires_at=now + datetime.timedelta(hours=1))


def _billing_admin_samples(clinic, patient):
    """Billing's rows for the admin: a payment refunded, a credit note, platform usage."""
    import datetime
    from decimal import Decimal

    from django.utils import timezone

    from billing import services as billing_services
    from billing.models import Payment, UsagePrice, UsageRecord
    from clinicos.models import Membership

    ids = billing_samples(clinic, patient)
    officer = MembershipFactory(clinic=clinic, roles=[Role.BILLING.value])
    payment = Payment.objects.get(pk=ids["payment_id"])
    billing_services.refund_record(payment=payment, user=officer.user, membership=officer, amount=Decimal("100.00"), reason="Sample")
    billing_services.invoice_cancel(
        invoice=payment.invoice, user=officer.user, membership=Membership.objects.get(pk=officer.pk), reason="Sample"
    )
    UsagePrice.objects.create(
        usage_type=UsagePrice.UsageType.VISIT_COMPLETED,
        currency="INR",
        unit_price=Decimal("5.00"),
        effective_from=datetime.date(2026, 1, 1),
    )
    UsageRecord.objects.create(
        clinic=clinic,
        usage_type=UsagePrice.UsageType.VISIT_COMPLETED,
        unit_price=Decimal("5.00"),
        currency="INR",
        occurred_at=timezone.now(),
    )


@pytest.mark.url_walk
@pytest.mark.django_db
def test_every_admin_url_needs_a_platform_administrator(client, clinic, staff_by_role, clinician):
    _sample_objects(clinic)
    superuser = User.objects.create_superuser(email="root@example.test", password="Root-Pass-1!", full_name="Root")
    clinic_admin = staff_by_role[Role.ADMIN]
    checked, unreachable = 0, []
    for route, namespace, pattern in all_url_patterns():
        if namespace != "admin":
            continue
        url = _admin_url(route, pattern)
        if url is None:
            unreachable.append(route)
            continue
        client.logout()
        response = client.get(url)
        if pattern.name in ("login", "logout"):
            continue
        assert response.status_code == 302, f"anonymous {url}"
        client.force_login(clinic_admin)  # a clinic admin is not a platform administrator
        assert client.get(url).status_code in (302, 403), f"clinic admin {url}"
        client.force_login(superuser)
        expected = (200, 302)
        if _admin_forbids(pattern, superuser):
            expected = (403,)  # e.g. audit records are never added or deleted, patients never deleted
        if "(?P<url>" in route or pattern.name == "view_on_site":
            expected = (404,)  # the admin's catch-all, reached by a platform administrator
        assert client.get(url).status_code in expected, f"superuser {url}"
        checked += 1
    assert checked > 30
    assert not unreachable, f"admin routes this test cannot build a URL for: {unreachable}"


def _admin_url(route, pattern):
    """A concrete URL for an admin route, using a real object for object routes."""
    if pattern.name == "autocomplete":
        # The autocomplete view answers only with a field to complete for.
        return "/admin/autocomplete/?app_label=clinicos&model_name=membership&field_name=user"
    if pattern.name is None:
        return _unnamed_admin_url(route)
    if pattern.name.endswith("_simple_history"):
        # One historical version of an object: /admin/<app>/<model>/<id>/history/<history_id>/
        from django.apps import apps

        app_label, model_name = pattern.name.removesuffix("_simple_history").split("_", 1)
        obj = apps.get_model(app_label, model_name)._default_manager.order_by("pk").first()
        return reverse(f"admin:{pattern.name}", args=[obj.pk, obj.history.first().history_id])
    model_admin = getattr(pattern.callback, "model_admin", None)
    kwargs = {}
    for key in pattern.pattern.regex.groupindex:
        if key == "object_id":
            if model_admin is None:
                return None
            obj = model_admin.model._default_manager.order_by("pk").first()
            if obj is None:
                return None
            kwargs[key] = str(obj.pk)
        elif key == "app_label":
            kwargs[key] = "clinicos"
        elif key == "id":  # the user admin's password form
            kwargs[key] = str(User.objects.order_by("pk").first().pk)
        elif key == "content_type_id":  # "view on site" shortcut: a user has no public page
            from django.contrib.contenttypes.models import ContentType

            kwargs = {"content_type_id": str(ContentType.objects.get_for_model(User).pk)}
            kwargs["object_id"] = str(User.objects.order_by("pk").first().pk)
            break
        else:
            return None  # e.g. content-type shortcuts with arbitrary ids
    return reverse(f"admin:{pattern.name}", kwargs=kwargs)


def _admin_forbids(pattern, superuser) -> bool:
    """Whether the admin refuses this add/delete view even to a superuser."""
    from django.test import RequestFactory

    model_admin = getattr(pattern.callback, "model_admin", None)
    if model_admin is None or not pattern.name:
        return False
    request = RequestFactory().get("/admin/")
    request.user = superuser
    if pattern.name.endswith("_add"):
        return not model_admin.has_add_permission(request)
    if pattern.name.endswith("_delete"):
        return not model_admin.has_delete_permission(request)
    return False


def _unnamed_admin_url(route):
    """The admin's catch-all and its old-style object URLs (which redirect to /change/)."""
    if "(?P<url>" in route:
        return "/admin/no-such-page/"
    app_label, model_name = route.split("/")[1:3]
    from django.apps import apps

    obj = apps.get_model(app_label, model_name)._default_manager.order_by("pk").first()
    return "/" + route.replace("<path:object_id>", str(obj.pk))


def test_models_with_admin_sample_data_cover_the_core_models():
    from django.contrib import admin

    for model in (User, Clinic, Membership, DoctorProfile, Department, Resource):
        assert admin.site.is_registered(model), model
