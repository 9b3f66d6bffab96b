from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self):
        from clinicos import enums, navigation
        from clinicos.roles import Perm
        from leads.models import LeadActivity, LeadStatus

        navigation.register(navigation.NavItem("Leads", "lead_board", Perm.LEADS_WORK, order=10))
        navigation.register_settings_tab("Lead sources & keys", "lead_settings")

        navigation.register_dashboard_panel(
            navigation.DashboardPanel("cro_day", "leads/_dashboard_cro.html", Perm.LEADS_WORK, _cro_day, order=10)
        )
        enums.register("lead_statuses", LeadStatus)
        enums.register("lead_activity_kinds", LeadActivity.Kind)
        enums.register("lead_call_outcomes", LeadActivity.Outcome)


def _cro_day(request) -> dict:
    from leads import selectors

    return selectors.cro_day(clinic=request.clinic, user=request.user)
