from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "clinical"

    def ready(self):
        from clinical.models import Allergy, Condition, Immunization, Medication, Procedure, Visit, VitalSigns
        from clinicos import enums

        enums.register("visit_statuses", Visit.Status)
        enums.register("bmi_categories", VitalSigns.BmiCategory)
        enums.register("allergy_severities", Allergy.Severity)
        enums.register("allergy_statuses", Allergy.Status)
        enums.register("condition_statuses", Condition.Status)
        enums.register("medication_statuses", Medication.Status)
        enums.register("immunization_statuses", Immunization.Status)
        enums.register("procedure_statuses", Procedure.Status)
