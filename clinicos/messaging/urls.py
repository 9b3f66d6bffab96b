from django.urls import path

from clinicos.messaging import views

# Under /c/<code>/.
clinic_patterns = [
    path("messages/", views.message_list, name="message_list"),
    path("messages/<int:message_id>/send-again/", views.message_send_again, name="message_send_again"),
    path("settings/messages/", views.message_settings, name="message_settings"),
]

# At the top level: what patients and Twilio open.
public_patterns = [
    path("hooks/twilio/status", views.twilio_status, name="twilio_status"),
    path("m/opt-out/<str:token>/", views.email_opt_out, name="email_opt_out"),
]
