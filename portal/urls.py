from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="portal_home"),
    path("login/", views.login, name="portal_login"),
    path("login/code/", views.verify, name="portal_verify"),
    path("login/code/resend/", views.resend, name="portal_resend"),
    path("logout/", views.logout, name="portal_logout"),
    path("profiles/", views.profiles, name="portal_profiles"),
    path("profiles/<int:patient_id>/use/", views.profile_use, name="portal_profile_use"),
    path("appointments/", views.appointments, name="portal_appointments"),
    path("appointments/book/", views.book, name="portal_book"),
    path("appointments/waitlist/", views.waitlist_join, name="portal_waitlist_join"),
    path("appointments/<int:appointment_id>/cancel/", views.appointment_cancel, name="portal_appointment_cancel"),
    path("appointments/<int:appointment_id>/move/", views.appointment_move, name="portal_appointment_move"),
    path("prescriptions/", views.prescriptions, name="portal_prescriptions"),
    path("prescriptions/<int:prescription_id>/pdf/", views.prescription_pdf, name="portal_prescription_pdf"),
    path("results/", views.results, name="portal_results"),
    path("results/<int:order_id>/report/", views.lab_report, name="portal_lab_report"),
    path("invoices/", views.invoices, name="portal_invoices"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="portal_invoice_pdf"),
    path("receipts/<int:payment_id>/pdf/", views.receipt_pdf, name="portal_receipt_pdf"),
    path("documents/", views.shared_documents, name="portal_documents"),
    path("documents/<int:document_id>/file/", views.document_file, name="portal_document_file"),
    path("profile/", views.profile, name="portal_profile"),
    path("profile/phone/", views.phone_change, name="portal_phone_change"),
]
