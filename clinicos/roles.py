"""Who may do what: the single role matrix used by views, the API and templates.

A membership holds one or more roles; it is granted a permission when any of its roles
is. Views declare the permission they need (``@clinic_view(Perm.X)``), the API calls
``clinic_context(..., Perm.X)``, templates ask ``perms_in_clinic.X`` — all of them read
``ROLE_PERMISSIONS`` below, so changing access means changing this one table.
"""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    DOCTOR = "doctor", "Doctor"
    NURSE = "nurse", "Nurse"
    FRONT_DESK = "frontdesk", "Front desk"
    CRO = "cro", "Customer relations officer"
    BILLING = "billing", "Billing officer"
    LAB = "lab", "Lab technician"
    PHARMACIST = "pharmacist", "Pharmacist"


class Perm(models.TextChoices):
    DASHBOARD_VIEW = "dashboard_view", "See the clinic dashboard"
    LEADS_WORK = "leads_work", "Work the lead pipeline"
    PATIENTS_VIEW = "patients_view", "Look up patients and open charts"
    PATIENTS_EDIT = "patients_edit", "Register and edit patients"
    SCHEDULE_VIEW = "schedule_view", "See the schedule"
    SCHEDULE_BOOK = "schedule_book", "Book and move appointments"
    CLINICAL_VIEW = "clinical_view", "Read clinical records"
    CLINICAL_EDIT = "clinical_edit", "Write clinical records"
    BILLING_VIEW = "billing_view", "See invoices and payments"
    BILLING_EDIT = "billing_edit", "Invoice and take payments"
    REPORTS_VIEW = "reports_view", "See reports"
    SETTINGS_MANAGE = "settings_manage", "Manage the clinic's settings"
    AUDIT_VIEW = "audit_view", "Read the audit trail"
    NATIONAL_ID_VIEW = "national_id_view", "See national ID numbers unmasked"
    DOCUMENTS_VIEW = "documents_view", "Open patients' documents"
    DOCUMENTS_UPLOAD = "documents_upload", "Upload and remove patients' documents"
    INSURERS_MANAGE = "insurers_manage", "Manage insurance providers"
    SCHEDULE_CHECK_IN = "schedule_check_in", "Mark arrivals, check patients in, record no-shows"
    AVAILABILITY_EDIT = "availability_edit", "Edit doctors' working hours and leave"
    CALENDAR_FEED = "calendar_feed", "Have a personal calendar feed"
    PATIENTS_VIEW_ALL = "patients_view_all", "See every patient of the clinic, whatever the doctors' setting"
    NATIONAL_ID_RECORD = "national_id_record", "Record national ID numbers"
    LEADS_REOPEN = "leads_reopen", "Reopen a lost lead"
    SCHEDULE_BOOK_PATIENTS = "schedule_book_patients", "Book and move appointments of patients and walk-ins"
    SCHEDULE_BOOK_LEADS = "schedule_book_leads", "Book and move appointments of leads"
    SCHEDULE_OVERRIDE = "schedule_override", "Book outside a doctor's availability (with a reason)"
    AVAILABILITY_EDIT_ANY = "availability_edit_any", "Edit any doctor's working hours and leave"
    DOCTOR_PROFILE_EDIT_OWN = "doctor_profile_edit_own", "Edit their own doctor profile"
    VITALS_RECORD = "vitals_record", "Record vital signs"
    MEDICAL_HISTORY_EDIT = "medical_history_edit", "Record allergies, conditions, medications, immunizations and procedures"
    PRESCRIPTIONS_VIEW = "prescriptions_view", "Read prescriptions"
    PRESCRIPTIONS_WRITE = "prescriptions_write", "Write and finalize prescriptions"
    PRESCRIPTIONS_DISPENSE = "prescriptions_dispense", "Dispense prescriptions"
    LAB_CATALOG_VIEW = "lab_catalog_view", "See the lab test catalog"
    LAB_ORDERS_VIEW = "lab_orders_view", "Read lab orders and results"
    LAB_ORDERS_CREATE = "lab_orders_create", "Order lab tests"
    LAB_WORK = "lab_work", "Collect samples, move lab orders on and enter results"
    LAB_RESULTS_REVIEW = "lab_results_review", "Sign off results and acknowledge critical results"
    BILLING_REFUND = "billing_refund", "Refund payments and cancel issued invoices (credit notes)"
    SERVICES_MANAGE = "services_manage", "Manage the service catalog and its prices"
    FINANCIALS_VIEW = "financials_view", "See the clinic's financial snapshot and everyone's day close"
    MESSAGES_VIEW = "messages_view", "See the messages sent to patients"
    MESSAGES_RESEND = "messages_resend", "Send a failed message again"
    RECALLS_WORK = "recalls_work", "Work the recall list and the waitlist"


ALL_ROLES = frozenset(Role)

# Defaults from DESIGN.md "Roles". Clinical content is for clinical roles only: an
# administrator without a clinical role does not read notes; doctors do not see billing.
ROLE_PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.DASHBOARD_VIEW: ALL_ROLES,
    Perm.LEADS_WORK: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.CRO}),
    Perm.LEADS_REOPEN: frozenset({Role.ADMIN, Role.CRO}),
    Perm.PATIENTS_VIEW: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.DOCTOR, Role.NURSE, Role.LAB, Role.PHARMACIST, Role.BILLING}),
    Perm.PATIENTS_EDIT: frozenset({Role.ADMIN, Role.FRONT_DESK}),
    # Doctors are missing on purpose: the clinic's "Doctors see all patients" setting
    # decides for them (patients.selectors.patients_visible_to).
    Perm.PATIENTS_VIEW_ALL: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.NURSE, Role.LAB, Role.PHARMACIST, Role.BILLING}),
    Perm.SCHEDULE_VIEW: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.DOCTOR, Role.NURSE, Role.CRO, Role.BILLING}),
    # Opening the booking form; who may be booked is the two rows after it.
    Perm.SCHEDULE_BOOK: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.DOCTOR, Role.CRO}),
    Perm.SCHEDULE_BOOK_PATIENTS: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.DOCTOR}),
    # CROs book leads only (janmasethu); a doctor does not work the lead pipeline.
    Perm.SCHEDULE_BOOK_LEADS: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.CRO}),
    Perm.SCHEDULE_OVERRIDE: frozenset({Role.ADMIN, Role.FRONT_DESK}),
    # Notes, vitals and the medical history: doctors and nurses. Lab technicians read lab
    # orders only (the Orders issue); nurses record vitals and history but write no notes.
    Perm.CLINICAL_VIEW: frozenset({Role.DOCTOR, Role.NURSE}),
    Perm.CLINICAL_EDIT: frozenset({Role.DOCTOR}),
    Perm.VITALS_RECORD: frozenset({Role.DOCTOR, Role.NURSE}),
    Perm.MEDICAL_HISTORY_EDIT: frozenset({Role.DOCTOR, Role.NURSE}),
    Perm.BILLING_VIEW: frozenset({Role.ADMIN, Role.BILLING, Role.FRONT_DESK}),
    Perm.BILLING_EDIT: frozenset({Role.ADMIN, Role.BILLING, Role.FRONT_DESK}),
    # Which reports each of them may ask for is the report's own rule (reporting.reports):
    # billing the financial ones, CROs the lead funnel, doctors their own performance.
    Perm.REPORTS_VIEW: frozenset({Role.ADMIN, Role.BILLING, Role.CRO, Role.DOCTOR}),
    Perm.SETTINGS_MANAGE: frozenset({Role.ADMIN}),
    Perm.AUDIT_VIEW: frozenset({Role.ADMIN}),
    Perm.NATIONAL_ID_VIEW: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.DOCTOR}),
    Perm.NATIONAL_ID_RECORD: frozenset({Role.ADMIN, Role.FRONT_DESK}),
    # Documents include lab reports and previous history: not for billing, which reads
    # only identity and insurance.
    Perm.DOCUMENTS_VIEW: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.DOCTOR, Role.NURSE, Role.LAB, Role.PHARMACIST}),
    Perm.DOCUMENTS_UPLOAD: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.DOCTOR, Role.NURSE, Role.LAB}),
    Perm.INSURERS_MANAGE: frozenset({Role.ADMIN, Role.BILLING}),
    Perm.SCHEDULE_CHECK_IN: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.NURSE, Role.DOCTOR}),
    # A doctor edits their own; AVAILABILITY_EDIT_ANY edits anyone's.
    Perm.AVAILABILITY_EDIT: frozenset({Role.ADMIN, Role.DOCTOR}),
    Perm.AVAILABILITY_EDIT_ANY: frozenset({Role.ADMIN}),
    Perm.CALENDAR_FEED: frozenset({Role.DOCTOR}),
    # Administrators edit every doctor's profile under SETTINGS_MANAGE.
    Perm.DOCTOR_PROFILE_EDIT_OWN: frozenset({Role.DOCTOR}),
    # Orders: pharmacists see prescriptions (never notes); lab technicians see lab orders
    # and results only. Nobody outside the clinical roles sees either.
    Perm.PRESCRIPTIONS_VIEW: frozenset({Role.DOCTOR, Role.NURSE, Role.PHARMACIST}),
    Perm.PRESCRIPTIONS_WRITE: frozenset({Role.DOCTOR}),
    Perm.PRESCRIPTIONS_DISPENSE: frozenset({Role.PHARMACIST}),
    Perm.LAB_CATALOG_VIEW: frozenset({Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.LAB}),
    Perm.LAB_ORDERS_VIEW: frozenset({Role.DOCTOR, Role.NURSE, Role.LAB}),
    Perm.LAB_ORDERS_CREATE: frozenset({Role.DOCTOR}),
    Perm.LAB_WORK: frozenset({Role.LAB}),
    Perm.LAB_RESULTS_REVIEW: frozenset({Role.DOCTOR}),
    # Billing: the front desk invoices and takes payments and deposits; money going back
    # (refunds, credit notes), prices and the clinic's figures are for billing and admins.
    Perm.BILLING_REFUND: frozenset({Role.ADMIN, Role.BILLING}),
    Perm.SERVICES_MANAGE: frozenset({Role.ADMIN, Role.BILLING}),
    Perm.FINANCIALS_VIEW: frozenset({Role.ADMIN, Role.BILLING}),
    # Messages to patients carry times and names, never clinical content: the desk and the
    # CRO who arrange appointments follow them; the rules are SETTINGS_MANAGE.
    Perm.MESSAGES_VIEW: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.CRO}),
    Perm.MESSAGES_RESEND: frozenset({Role.ADMIN, Role.FRONT_DESK}),
    Perm.RECALLS_WORK: frozenset({Role.ADMIN, Role.FRONT_DESK, Role.CRO}),
}

assert set(ROLE_PERMISSIONS) == set(Perm), "every permission needs a row in the role matrix"


# --- Role rules that are not a page's permission ---------------------------------------------
# Named here, with the matrix, so that every role rule lives in this one file.

# The clinic's "two-factor for clinical staff" rule covers those who read or handle
# clinical records.
MFA_CLINICAL_ROLES = frozenset({Role.DOCTOR, Role.NURSE, Role.LAB, Role.PHARMACIST})

# Reports (reporting.reports): who may ask for each kind. Of the roles with REPORTS_VIEW,
# billing asks for the financial ones, CROs the lead funnel, doctors their own performance.
REPORT_ROLES_FINANCIAL = ROLE_PERMISSIONS[Perm.FINANCIALS_VIEW]
REPORT_ROLES_CLINIC_WIDE = frozenset({Role.ADMIN})
REPORT_ROLES_DOCTOR_PERFORMANCE = frozenset({Role.ADMIN, Role.DOCTOR})
REPORT_ROLES_LEAD_FUNNEL = frozenset({Role.ADMIN, Role.CRO})
# Who sees every report of the clinic, and who sees everyone's requests of the kinds they
# may ask for; anyone else (a doctor) sees only their own requests.
REPORTS_ALL_ROLES = frozenset({Role.ADMIN})
REPORTS_OF_EVERYONE_ROLES = frozenset({Role.ADMIN, Role.BILLING, Role.CRO})
# Who may ask for a doctor-performance report about any doctor (a doctor's is their own).
DOCTOR_PERFORMANCE_ANY_DOCTOR_ROLES = frozenset({Role.ADMIN})

# Dashboard panels (clinicos.navigation) that are someone's day, not everyone's who holds
# the panel's permission: the panel's key → the roles it shows for. A panel not named here
# shows for every member with its permission.
DASHBOARD_PANEL_ROLES: dict[str, frozenset[Role]] = {
    "front_desk_day": frozenset({Role.FRONT_DESK}),
    "doctor_day": frozenset({Role.DOCTOR}),
    "doctor_clinical": frozenset({Role.DOCTOR}),
    "nurse_vitals": frozenset({Role.NURSE}),
    "lab_worklist": frozenset({Role.LAB}),
    "pharmacy_worklist": frozenset({Role.PHARMACIST}),
    "follow_ups_due": frozenset({Role.FRONT_DESK}),
    "cro_day": frozenset({Role.CRO}),
    "to_settle_today": frozenset({Role.FRONT_DESK}),
    "day_close_today": frozenset({Role.BILLING}),
    "clinic_analytics": frozenset({Role.ADMIN}),
}


def roles_have_permission(roles, perm: Perm) -> bool:
    allowed = ROLE_PERMISSIONS[Perm(perm)]
    return any(Role(role) in allowed for role in roles)


def permissions_for_roles(roles) -> frozenset[Perm]:
    return frozenset(perm for perm in Perm if roles_have_permission(roles, perm))
