"""The care team becomes django-guardian grants: every doctor a patient is assigned to or
was booked with joins that patient's care team (the rule patients_visible_to applied
by query until now)."""

from django.db import migrations


def grant_existing(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Patient = apps.get_model("patients", "Patient")
    Appointment = apps.get_model("scheduling", "Appointment")
    CareTeamGrant = apps.get_model("patients", "CareTeamGrant")
    content_type, _ = ContentType.objects.get_or_create(app_label="patients", model="patient")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="care_for_patient", defaults={"name": "Is in the patient's care team"}
    )
    pairs = set(
        Patient._base_manager.filter(assigned_doctor__isnull=False).values_list("pk", "assigned_doctor__user_id")
    ) | set(Appointment._base_manager.filter(patient__isnull=False).values_list("patient_id", "doctor__user_id").distinct())
    CareTeamGrant.objects.bulk_create(
        [CareTeamGrant(content_object_id=patient_id, user_id=user_id, permission=permission) for patient_id, user_id in pairs],
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0002_no_overlap_exclusion"),
        ("patients", "0005_care_team_and_break_glass"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant_existing, migrations.RunPython.noop)]
