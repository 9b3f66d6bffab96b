"""Billing in the Django admin (platform administrators). Invoices and money entries are
read-only here: they change only through ``billing.services``. The platform's price list
is kept here, and the monthly usage per clinic is read and exported (XLSX) here."""

import datetime
import io

from django.contrib import admin
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from openpyxl import Workbook
from openpyxl.styles import Font
from simple_history.admin import SimpleHistoryAdmin

from billing.arithmetic import money
from billing.models import CreditNote, Invoice, Payment, Refund, Service, UsagePrice, UsageRecord
from clinicos.spreadsheets import safe_row


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ("name", "clinic", "service_type", "price", "tax_class", "tax_rate", "hsn_sac", "is_active")
    list_filter = ("clinic", "service_type", "tax_class", "is_active")
    search_fields = ("name",)
    list_select_related = ("clinic",)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "clinic", "patient", "status", "document_type", "issue_date", "total_amount", "amount_paid")
    list_filter = ("clinic", "status", "document_type")
    search_fields = ("number", "patient__uhid")
    list_select_related = ("clinic", "patient")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("receipt_number", "clinic", "kind", "patient", "amount", "method", "received_at", "refunded_amount")
    list_filter = ("clinic", "kind", "method")
    search_fields = ("receipt_number", "reference", "patient__uhid")
    list_select_related = ("clinic", "patient")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "clinic", "amount", "method", "refunded_at", "refunded_by")
    list_filter = ("clinic", "method")
    list_select_related = ("clinic", "payment", "refunded_by")


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = ("number", "clinic", "invoice", "issue_date", "total_amount")
    list_filter = ("clinic",)
    list_select_related = ("clinic", "invoice")


@admin.register(UsagePrice)
class UsagePriceAdmin(admin.ModelAdmin):
    list_display = ("usage_type", "currency", "unit_price", "effective_from")
    list_filter = ("usage_type", "currency")


MONEY = DecimalField(max_digits=14, decimal_places=2)


def monthly_usage(month: datetime.date | None = None) -> list[dict]:
    """Usage per clinic, month and type with its amount (the database sums it)."""
    records = UsageRecord.objects.all()
    if month is not None:
        next_month = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        records = records.filter(occurred_at__date__gte=month, occurred_at__date__lt=next_month)
    rows = list(
        records.annotate(month=TruncMonth("occurred_at"), line_amount=ExpressionWrapper(F("units") * F("unit_price"), output_field=MONEY))
        .values("month", "clinic__code", "clinic__name", "usage_type", "currency")
        .annotate(
            records=Count("id"),
            total_units=Sum("units"),
            amount=Sum("line_amount"),
        )
        .order_by("-month", "clinic__code", "usage_type")
    )
    for row in rows:
        row["amount"] = money(row["amount"])  # SQLite sums decimals as floats: back to cents
    return rows


def usage_workbook(rows: list[dict]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Usage"
    headers = ["Month", "Clinic code", "Clinic", "Usage", "Units", "Currency", "Amount"]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    labels = dict(UsagePrice.UsageType.choices)
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]
        sheet.append(
            safe_row(
                [
                    month,
                    row["clinic__code"],
                    row["clinic__name"],
                    labels.get(row["usage_type"], row["usage_type"]),
                    row["total_units"],
                    row["currency"],
                    row["amount"],
                ]
            )
        )
        sheet.cell(row=sheet.max_row, column=1).number_format = "mmm yyyy"
        sheet.cell(row=sheet.max_row, column=7).number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFG", (10, 12, 30, 18, 8, 9, 14), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "clinic", "usage_type", "units", "unit_price", "currency", "visit")
    list_filter = ("clinic", "usage_type")
    list_select_related = ("clinic", "visit")
    date_hierarchy = "occurred_at"
    change_list_template = "admin/billing/usagerecord/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("monthly/", self.admin_site.admin_view(self.monthly_view), name="billing_usage_monthly"),
            path("monthly.xlsx", self.admin_site.admin_view(self.monthly_export), name="billing_usage_monthly_xlsx"),
            *super().get_urls(),
        ]

    def _month(self, request) -> datetime.date | None:
        try:
            return datetime.date.fromisoformat(request.GET.get("month", "") + "-01")
        except ValueError:
            return None

    def monthly_view(self, request):
        month = self._month(request)
        context = {
            **self.admin_site.each_context(request),
            "title": "Monthly usage per clinic",
            "rows": monthly_usage(month),
            "month": month,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/usagerecord/monthly.html", context)

    def monthly_export(self, request):
        month = self._month(request)
        response = HttpResponse(
            usage_workbook(monthly_usage(month)), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        suffix = month.strftime("%Y-%m") if month else "all"
        response["Content-Disposition"] = f'attachment; filename="clinicos-usage-{suffix}.xlsx"'
        return response
