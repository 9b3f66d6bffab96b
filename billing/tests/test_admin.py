"""The platform administrator's usage pages in the Django admin."""

import datetime
import io
from decimal import Decimal

from openpyxl import load_workbook

from billing.models import UsagePrice
from clinical import services as clinical_services
from clinicos.tests.factories import UserFactory


def test_monthly_usage_per_clinic_and_its_xlsx_export(client, gst_clinic, patient, doctor):
    UsagePrice.objects.create(
        usage_type=UsagePrice.UsageType.VISIT_COMPLETED,
        currency="INR",
        unit_price=Decimal("5.00"),
        effective_from=datetime.date(2026, 1, 1),
    )
    visit = clinical_services.visit_start(clinic=gst_clinic, user=doctor.user, patient=patient)
    visit = clinical_services.visit_complete(visit=visit, user=doctor.user)
    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    month = visit.completed_at.strftime("%Y-%m")
    page = client.get(f"/admin/billing/usagerecord/monthly/?month={month}")
    assert page.status_code == 200 and "ABC01" in page.content.decode() and "INR 5.00" in page.content.decode()
    assert client.get("/admin/billing/usagerecord/monthly/?month=nonsense").status_code == 200
    export = client.get(f"/admin/billing/usagerecord/monthly.xlsx?month={month}")
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet["B2"].value == "ABC01" and sheet["E2"].value == 1
    assert client.get("/admin/billing/usagerecord/").status_code == 200
    assert client.get("/admin/billing/invoice/").status_code == 200
