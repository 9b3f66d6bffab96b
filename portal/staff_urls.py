from django.urls import path

from portal import staff_views

urlpatterns = [
    path("settings/online-booking/", staff_views.online_booking_settings, name="online_booking_settings"),
]
