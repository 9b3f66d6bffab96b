from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"

    def ready(self):
        from clinicos import enums, navigation
        from clinicos.roles import Perm
        from leads.hooks import LEAD_CONVERSION_STEPS, LEAD_INSTANT_BOOKING
        from patients.chart import ChartTab, register_tab
        from patients.hooks import PATIENT_REGISTRATION_STEPS
        from scheduling import services
        from scheduling.models import AppointmentStatus, AppointmentType, AvailabilityException

        navigation.register(navigation.NavItem("Schedule", "calendar_day", Perm.SCHEDULE_VIEW, order=30))

        navigation.register_dashboard_panel(
            navigation.DashboardPanel(
                "front_desk_day",
                "scheduling/_dashboard_front_desk.html",
                Perm.SCHEDULE_VIEW,
                _front_desk_day,
                order=10,
            )
        )
        navigation.register_dashboard_panel(
            navigation.DashboardPanel("doctor_day", "scheduling/_dashboard_doctor.html", Perm.SCHEDULE_VIEW, _doctor_day, order=10)
        )
        register_tab(ChartTab("appointments", "Appointments", "patient_tab_appointments", Perm.SCHEDULE_VIEW, order=20))
        register_tab(ChartTab("messages", "Messages", "patient_tab_messages", Perm.MESSAGES_VIEW, order=80))

        from clinicos.worker import register_periodic
        from scheduling.services.waitlist import offer_next_rounds

        register_periodic(offer_next_rounds)  # a lapsed waitlist offer goes to the next three
        from leads.panels import LeadPanel, register_panel

        register_panel(LeadPanel("instant_booking", "lead_instant_booking", Perm.SCHEDULE_BOOK, order=0))
        enums.register("appointment_statuses", AppointmentStatus)
        enums.register("appointment_types", AppointmentType)
        enums.register("availability_exception_kinds", AvailabilityException.Kind)
        from patients import timeline
        from scheduling.models import Appointment

        timeline.register_rows_of(
            Appointment, "appointments", "Appointments", Perm.SCHEDULE_VIEW, "starts_at", _describe_appointments, order=30
        )
        # Walk-ins who register, and leads who convert, keep their appointments.
        PATIENT_REGISTRATION_STEPS.register("scheduling.walk_ins", lambda *, patient: services.attach_to_patient(patient=patient))
        LEAD_INSTANT_BOOKING.register(services.instant_booking_of_new_lead)
        LEAD_CONVERSION_STEPS.register(
            "scheduling.appointments", lambda *, lead, patient: services.attach_to_patient(patient=patient, lead=lead)
        )


def _front_desk_day(request) -> dict:
    from scheduling import selectors

    return selectors.front_desk_day(clinic=request.clinic)


def _doctor_day(request) -> dict:
    from clinicos.models import DoctorProfile
    from scheduling import selectors

    doctor = DoctorProfile.objects.for_clinic(request.clinic).filter(user=request.user).first()
    return selectors.doctor_day(clinic=request.clinic, doctor=doctor) if doctor else {}


def _describe_appointments(patient, pks):
    from django.urls import reverse

    from scheduling.models import Appointment

    appointments = Appointment.objects.filter(clinic_id=patient.clinic_id, pk__in=pks).select_related("doctor__user", "clinic")
    return {
        a.pk: (
            f"{a.get_type_display()} {a.reference} with {a.doctor}",
            a.get_status_display() + (f" · {a.reason}" if a.reason else ""),
            reverse("appointment_detail", args=[a.clinic.code, a.pk]),
        )
        for a in appointments
    }
