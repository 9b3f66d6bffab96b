from django.urls import path

from billing import views

urlpatterns = [
    path("billing/", views.invoice_list, name="invoice_list"),
    path("billing/invoices/new/", views.invoice_new, name="invoice_new"),
    path("billing/invoices/<int:invoice_id>/", views.invoice_detail, name="invoice_detail"),
    path("billing/invoices/<int:invoice_id>/edit/", views.invoice_edit, name="invoice_edit"),
    path("billing/invoices/<int:invoice_id>/delete/", views.invoice_delete, name="invoice_delete"),
    path("billing/invoices/<int:invoice_id>/issue/", views.invoice_issue, name="invoice_issue"),
    path("billing/invoices/<int:invoice_id>/pay/", views.invoice_pay, name="invoice_pay"),
    path("billing/invoices/<int:invoice_id>/apply-deposit/", views.invoice_apply_deposit, name="invoice_apply_deposit_page"),
    path("billing/invoices/<int:invoice_id>/cancel/", views.invoice_cancel, name="invoice_cancel_page"),
    path("billing/invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_print"),
    path("billing/appointments/<int:appointment_id>/bill/", views.bill_appointment, name="bill_appointment"),
    path("billing/visits/<int:visit_id>/bill/", views.bill_visit, name="bill_visit"),
    path("billing/payments/<int:payment_id>/receipt/", views.payment_receipt, name="payment_receipt"),
    path("billing/payments/<int:payment_id>/refund/", views.payment_refund, name="payment_refund_page"),
    path("billing/patients/<int:patient_id>/deposit/", views.deposit_new, name="deposit_new"),
    path("billing/patients/<int:patient_id>/statement/", views.patient_statement, name="patient_statement"),
    path("billing/day-close/", views.day_close, name="day_close"),
    path("billing/services/", views.service_list, name="service_list"),
    path("billing/services/new/", views.service_edit, name="service_new"),
    path("billing/services/<int:service_id>/", views.service_edit, name="service_edit"),
    path("patients/<int:patient_id>/tabs/billing/", views.patient_tab_billing, name="patient_tab_billing"),
]
