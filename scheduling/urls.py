from django.urls import path

from scheduling import outreach_views, views

urlpatterns = [
    path("schedule/", views.calendar_day, name="calendar_day"),
    path("schedule/week/", views.calendar_week, name="calendar_week"),
    path("schedule/resources/", views.calendar_resources, name="calendar_resources"),
    path("schedule/today/", views.front_desk_today, name="front_desk_today"),
    path("schedule/mine/", views.my_schedule, name="my_schedule"),
    path("schedule/availability/", views.availability, name="availability"),
    path("schedule/feed/", views.calendar_feed_renew, name="calendar_feed_renew"),
    path("schedule/appointments/new/", views.appointment_new, name="appointment_new"),
    path("schedule/appointments/new/patients/", views.booking_patient_picks, name="booking_patient_picks"),
    path("schedule/appointments/<int:appointment_id>/", views.appointment_detail, name="appointment_detail"),
    path("schedule/appointments/<int:appointment_id>/move/", views.appointment_move, name="appointment_move"),
    path("schedule/appointments/<int:appointment_id>/status/", views.appointment_status, name="appointment_status"),
    path("leads/<int:lead_id>/instant-booking/", views.lead_instant_booking, name="lead_instant_booking"),
    path("patients/<int:patient_id>/tabs/appointments/", views.patient_tab_appointments, name="patient_tab_appointments"),
    path("patients/<int:patient_id>/tabs/messages/", outreach_views.patient_tab_messages, name="patient_tab_messages"),
    path("patients/<int:patient_id>/message-preferences/", outreach_views.patient_message_preferences, name="patient_message_preferences"),
    path("schedule/recalls/", outreach_views.recall_list, name="recall_list"),
    path("schedule/recalls/send/", outreach_views.recall_send, name="recall_send"),
    path("schedule/recalls/<int:recall_id>/", outreach_views.recall_update, name="recall_update"),
    path("schedule/waitlist/", outreach_views.waitlist_list, name="waitlist_list"),
    path("schedule/waitlist/<int:waitlist_id>/remove/", outreach_views.waitlist_remove, name="waitlist_remove"),
]
