from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self):
        from clinicos import enums, navigation
        from clinicos.roles import Perm
        from patients.chart import ChartTab, register_tab
        from patients.models import Document, Patient

        navigation.register(navigation.NavItem("Patients", "patient_list", Perm.PATIENTS_VIEW, order=20))
        navigation.register(navigation.NavItem("Insurers", "insurer_list", Perm.INSURERS_MANAGE, order=85))
        navigation.register_search("patient_quick_search", Perm.PATIENTS_VIEW)
        register_tab(ChartTab("overview", "Overview", "patient_tab_overview", Perm.PATIENTS_VIEW, order=0))
        register_tab(ChartTab("documents", "Documents", "patient_tab_documents", Perm.DOCUMENTS_VIEW, order=50))
        register_tab(ChartTab("history", "History", "patient_tab_history", Perm.PATIENTS_VIEW, order=90))
        enums.register("patient_statuses", Patient.Status)
        enums.register("marital_statuses", Patient.MaritalStatus)
        enums.register("blood_groups", Patient.BloodGroup)
        enums.register("relations", Patient.Relation)
        enums.register("document_types", Document.Type)
        from patients import timeline

        timeline.register_rows_of(
            Document, "documents", "Documents", Perm.DOCUMENTS_VIEW, "uploaded_at", _describe_documents, order=60, is_deleted=False
        )


def _describe_documents(patient, pks):
    from django.urls import reverse

    from patients.models import Document

    documents = Document.objects.filter(clinic_id=patient.clinic_id, pk__in=pks).select_related("uploaded_by", "clinic")
    return {
        d.pk: (
            f"Document: {d.name}",
            f"{d.get_document_type_display()} · uploaded by {d.uploaded_by.full_name or d.uploaded_by.email}",
            reverse("document_download", args=[d.clinic.code, patient.pk, d.pk]),
        )
        for d in documents
    }
