from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self):
        from clinicos import enums, navigation
        from clinicos.roles import Perm
        from leads.models import LeadActivity, LeadStatus

        navigation.register(navigation.NavItem("Leads", "lead_board", Perm.LEADS_WORK, order=10))
        navigation.register_settings_tab("Lead sources & keys", "lead_settings")
        enums.register("lead_statuses", LeadStatus)
        enums.register("lead_activity_kinds", LeadActivity.Kind)
        enums.register("lead_call_outcomes", LeadActivity.Outcome)
