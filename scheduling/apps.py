from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"

    def ready(self):
        from clinicos import enums, navigation
        from clinicos.roles import Perm
        from leads.signals import lead_converted
        from patients.chart import ChartTab, register_tab
        from patients.signals import patient_registered
        from scheduling import services
        from scheduling.models import AppointmentStatus, AppointmentType, AvailabilityException

        navigation.register(navigation.NavItem("Schedule", "calendar_day", Perm.SCHEDULE_VIEW, order=30))
        register_tab(ChartTab("appointments", "Appointments", "patient_tab_appointments", Perm.SCHEDULE_VIEW, order=20))
        from leads.panels import LeadPanel, register_panel

        register_panel(LeadPanel("instant_booking", "lead_instant_booking", Perm.SCHEDULE_BOOK, order=0))
        enums.register("appointment_statuses", AppointmentStatus)
        enums.register("appointment_types", AppointmentType)
        enums.register("availability_exception_kinds", AvailabilityException.Kind)
        # Walk-ins who register, and leads who convert, keep their appointments.
        patient_registered.connect(
            lambda sender, patient, **kwargs: services.attach_to_patient(patient=patient),
            weak=False,
            dispatch_uid="scheduling.attach_walk_ins",
        )
        lead_converted.connect(
            lambda sender, lead, patient, **kwargs: services.attach_to_patient(patient=patient, lead=lead),
            weak=False,
            dispatch_uid="scheduling.attach_lead",
        )
