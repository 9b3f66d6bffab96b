from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from billing.models import Invoice, Method, Payment, Service, TaxClass, UsagePrice
        from clinical.hooks import VISIT_COMPLETION_STEPS
        from clinicos import enums, navigation
        from clinicos.roles import Perm
        from patients.chart import ChartTab, register_tab

        enums.register("service_types", Service.Type)
        enums.register("tax_classes", TaxClass)
        enums.register("invoice_statuses", Invoice.Status)
        enums.register("invoice_document_types", Invoice.DocumentType)
        enums.register("payment_methods", Method)
        enums.register("payment_kinds", Payment.Kind)
        enums.register("usage_types", UsagePrice.UsageType)
        navigation.register(navigation.NavItem("Billing", "invoice_list", Perm.BILLING_VIEW, order=45))
        navigation.register_settings_tab("Services", "service_list")
        register_tab(ChartTab("billing", "Billing", "patient_tab_billing", Perm.BILLING_VIEW, order=60))
        navigation.register_dashboard_panel(
            navigation.DashboardPanel("financial_snapshot", "billing/_dashboard_snapshot.html", Perm.FINANCIALS_VIEW, _snapshot, order=10)
        )

        navigation.register_dashboard_panel(
            navigation.DashboardPanel(
                "to_settle_today",
                "billing/_dashboard_to_settle.html",
                Perm.BILLING_VIEW,
                _to_settle,
                order=12,
            )
        )
        navigation.register_dashboard_panel(
            navigation.DashboardPanel(
                "day_close_today",
                "billing/_dashboard_day_close.html",
                Perm.FINANCIALS_VIEW,
                _day_close,
                order=11,
            )
        )
        VISIT_COMPLETION_STEPS.register("billing.usage", _record_usage)


def _record_usage(*, visit, user) -> None:
    from billing.services import record_visit_usage

    record_visit_usage(visit=visit)


def _snapshot(request) -> dict:
    from billing.selectors import financial_snapshot

    return financial_snapshot(clinic=request.clinic)


def _to_settle(request) -> dict:
    from billing.selectors import to_settle_today

    return to_settle_today(clinic=request.clinic)


def _day_close(request) -> dict:
    from billing.selectors import day_close_today

    return day_close_today(clinic=request.clinic)
