from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"

    def ready(self):
        from clinical.models import (
            Allergy,
            Condition,
            Immunization,
            LabOrder,
            LabResult,
            Medication,
            Prescription,
            Procedure,
            Visit,
            VitalSigns,
        )
        from clinicos import enums

        enums.register("visit_statuses", Visit.Status)
        enums.register("bmi_categories", VitalSigns.BmiCategory)
        enums.register("allergy_severities", Allergy.Severity)
        enums.register("allergy_statuses", Allergy.Status)
        enums.register("condition_statuses", Condition.Status)
        enums.register("medication_statuses", Medication.Status)
        enums.register("immunization_statuses", Immunization.Status)
        enums.register("procedure_statuses", Procedure.Status)
        enums.register("prescription_statuses", Prescription.Status)
        enums.register("lab_order_statuses", LabOrder.Status)
        enums.register("lab_result_flags", LabResult.Flag)

        from clinical import selectors
        from clinicos.roles import Perm
        from patients import alerts
        from patients.chart import ChartTab, register_notice_provider, register_tab

        register_notice_provider(selectors.open_visit_notices)
        register_tab(ChartTab("summary", "Clinical summary", "patient_tab_summary", Perm.CLINICAL_VIEW, order=5))
        register_tab(ChartTab("timeline", "Timeline", "patient_tab_timeline", Perm.CLINICAL_VIEW, order=10))
        register_tab(ChartTab("vitals", "Vitals", "patient_tab_vitals", Perm.CLINICAL_VIEW, order=12))
        register_tab(ChartTab("medical_history", "Medical history", "patient_tab_medical_history", Perm.CLINICAL_VIEW, order=14))
        register_tab(ChartTab("prescriptions", "Prescriptions", "patient_tab_prescriptions", Perm.PRESCRIPTIONS_VIEW, order=16))
        register_tab(ChartTab("labs", "Labs", "patient_tab_labs", Perm.LAB_ORDERS_VIEW, order=18))
        alerts.register_provider(selectors.allergy_alerts)
        selectors.register_timeline_sources()
        selectors.register_order_timeline_sources()

        from clinicos import navigation

        navigation.register(navigation.NavItem("Pharmacy", "pharmacy_worklist", Perm.PRESCRIPTIONS_DISPENSE, order=40))
        navigation.register(navigation.NavItem("Lab", "lab_worklist", Perm.LAB_ORDERS_VIEW, order=42))
        navigation.register_settings_tab("Lab tests", "lab_catalog_settings")
        navigation.register_settings_tab("Formulary", "formulary_settings")
        for key, perm, context, order in (
            ("doctor_clinical", Perm.CLINICAL_VIEW, _doctor_clinical, 12),
            ("nurse_vitals", Perm.VITALS_RECORD, _nurse_day, 10),
            ("lab_worklist", Perm.LAB_ORDERS_VIEW, _lab_day, 10),
            ("pharmacy_worklist", Perm.PRESCRIPTIONS_DISPENSE, _pharmacy_day, 10),
            ("follow_ups_due", Perm.SCHEDULE_BOOK, _follow_ups, 14),
        ):
            navigation.register_dashboard_panel(
                navigation.DashboardPanel(key, f"clinical/_dashboard_{key}.html", perm, context, order=order)
            )


def _doctor_clinical(request) -> dict:
    from clinical import selectors

    return selectors.doctor_clinical_day(clinic=request.clinic, user=request.user)


def _nurse_day(request) -> dict:
    from clinical import selectors

    return selectors.nurse_day(clinic=request.clinic)


def _lab_day(request) -> dict:
    from clinical import selectors

    return selectors.lab_day(clinic=request.clinic)


def _pharmacy_day(request) -> dict:
    from clinical import selectors

    return selectors.pharmacy_day(clinic=request.clinic)


def _follow_ups(request) -> dict:
    from clinical import selectors

    return selectors.front_desk_follow_ups(clinic=request.clinic)
