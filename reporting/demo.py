"""Demo reports: one report of each type per clinic for the last three months, queued for
the worker as a request queues it (``make run`` starts the worker beside the server, which
makes their files in the first seconds: seeding itself renders no PDF), and one that failed,
so the Reports page is never empty. Idempotent."""

import datetime

from django.utils import timezone

from clinicos.models import Clinic, DoctorProfile, User
from clinicos.tasks import enqueue_on_commit
from reporting import services
from reporting.models import Report, ReportType
from reporting.tasks import generate_report

REQUESTER: dict[str, str] = {
    ReportType.LEAD_FUNNEL: "cro",
    ReportType.DOCTOR_PERFORMANCE: "doctor",
    ReportType.SALES_REGISTER: "billing",
    ReportType.DAY_BOOK: "billing",
}


def seed(stdout=None) -> None:
    for code in ("ABC01", "XYZ02"):
        clinic = Clinic.objects.filter(code=code).first()
        if clinic is None or Report.objects.for_clinic(clinic).exists():
            continue
        today = clinic.today()
        end = today.replace(day=1) - datetime.timedelta(days=1)
        start = end.replace(day=1) - datetime.timedelta(days=62)  # the last three months
        for report_type in ReportType.values:
            requester = User.objects.get(email=f"{REQUESTER.get(report_type, 'admin')}@{code.lower()}.example")
            parameters = {}
            if report_type == ReportType.DOCTOR_PERFORMANCE:
                parameters = {"doctor_id": DoctorProfile.objects.for_clinic(clinic).get(user=requester).pk}
            report = Report.objects.create(
                clinic=clinic,
                report_type=report_type,
                start_date=start.replace(day=1),
                end_date=end,
                parameters=parameters,
                requested_by=requester,
                parameters_key=services.parameters_key(parameters),
            )
            enqueue_on_commit(generate_report, report.pk)
        admin = User.objects.get(email=f"admin@{code.lower()}.example")
        Report.objects.create(
            clinic=clinic,
            report_type=ReportType.REVENUE,
            start_date=end - datetime.timedelta(days=6),
            end_date=end,
            requested_by=admin,
            status=Report.Status.FAILED,
            error="Interrupted: the worker was stopped before the report was finished. Ask for it again.",
            completed_at=timezone.now(),
        )
        if stdout:
            stdout.write(f"  {Report.objects.for_clinic(clinic).count()} reports at {clinic.name}")
