from django.urls import path

from patients import views
from patients.models import Patient

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/search/", views.patient_quick_search, name="patient_quick_search"),
    path("patients/new/", views.patient_register, name="patient_register"),
    path("patients/new/full/", views.patient_register, {"full": True}, name="patient_register_full"),
    path("patients/<int:patient_id>/", views.patient_chart, name="patient_chart"),
    path("patients/<int:patient_id>/edit/", views.patient_edit, name="patient_edit"),
    path("patients/<int:patient_id>/archive/", views.patient_set_status, {"status": Patient.Status.ARCHIVED}, name="patient_archive"),
    path("patients/<int:patient_id>/unarchive/", views.patient_set_status, {"status": Patient.Status.ACTIVE}, name="patient_unarchive"),
    path("patients/<int:patient_id>/tabs/overview/", views.patient_tab_overview, name="patient_tab_overview"),
    path("patients/<int:patient_id>/tabs/documents/", views.patient_tab_documents, name="patient_tab_documents"),
    path("patients/<int:patient_id>/tabs/history/", views.patient_tab_history, name="patient_tab_history"),
    path("patients/<int:patient_id>/documents/", views.document_upload, name="document_upload"),
    path("patients/<int:patient_id>/documents/<int:document_id>/", views.document_download, name="document_download"),
    path("patients/<int:patient_id>/documents/<int:document_id>/delete/", views.document_delete, name="document_delete"),
    path("patients/<int:patient_id>/documents/<int:document_id>/share/", views.document_share, name="document_share"),
    path("insurers/", views.insurer_list, name="insurer_list"),
    path("insurers/new/", views.insurer_edit, name="insurer_create"),
    path("insurers/<int:insurer_id>/", views.insurer_edit, name="insurer_edit"),
]
