from django.urls import path

from clinical import views

urlpatterns = [
    path("visits/start/", views.visit_start, name="visit_start"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:visit_id>/note/", views.visit_note_save, name="visit_note_save"),
    path("visits/<int:visit_id>/complete/", views.visit_complete, name="visit_complete"),
    path("visits/<int:visit_id>/addenda/", views.visit_addendum_add, name="visit_addendum_add"),
    path("visits/<int:visit_id>/vitals/", views.visit_vitals_record, name="visit_vitals_record"),
    path("visits/<int:visit_id>/follow-up/", views.visit_follow_up, name="visit_follow_up"),
    path("schedule/appointments/<int:appointment_id>/visit/", views.appointment_visit, name="appointment_visit"),
    path("icd10/", views.icd10_search, name="icd10_search"),
    path("emergency-access/", views.break_the_glass, name="break_the_glass"),
    path("patients/<int:patient_id>/tabs/summary/", views.patient_tab_summary, name="patient_tab_summary"),
    path("patients/<int:patient_id>/tabs/timeline/", views.patient_tab_timeline, name="patient_tab_timeline"),
    path("patients/<int:patient_id>/tabs/vitals/", views.patient_tab_vitals, name="patient_tab_vitals"),
    path("patients/<int:patient_id>/tabs/medical-history/", views.patient_tab_medical_history, name="patient_tab_medical_history"),
    path("patients/<int:patient_id>/summary.pdf", views.patient_summary_pdf, name="patient_summary_pdf"),
    path("patients/<int:patient_id>/vitals/", views.patient_vitals_record, name="patient_vitals_record"),
    path("patients/<int:patient_id>/allergies/none/", views.allergies_none, name="allergies_none"),
    path("patients/<int:patient_id>/history/<str:kind>/new/", views.history_item_edit, name="history_item_create"),
    path("patients/<int:patient_id>/history/<str:kind>/<int:item_id>/", views.history_item_edit, name="history_item_edit"),
    path(
        "patients/<int:patient_id>/history/<str:kind>/<int:item_id>/inactive/",
        views.history_item_set_inactive,
        name="history_item_set_inactive",
    ),
]
