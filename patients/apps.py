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
