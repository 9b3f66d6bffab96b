import datetime

import pytest
import time_machine

from clinicos.tests.factories import DoctorProfileFactory
from scheduling import services
from scheduling.tests.factories import tomorrow_at


@pytest.fixture
def doctor(clinic):
    """A doctor working every day 09:00–13:00 and 14:00–18:00 (clinic time)."""
    profile = DoctorProfileFactory(clinic=clinic)
    for weekday in range(7):
        services.working_hours_add(doctor=profile, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(13))
        services.working_hours_add(doctor=profile, weekday=weekday, start_time=datetime.time(14), end_time=datetime.time(18))
    return profile


@pytest.fixture
def at(clinic):
    """at(10, 30) -> tomorrow 10:30 in the clinic's timezone."""
    return lambda hour, minute=0: tomorrow_at(clinic, hour, minute)


@pytest.fixture
def desk(front_desk):
    return front_desk, front_desk.memberships.get()


@pytest.fixture
def mid_morning(clinic):
    """Travel to 10:00 today in the clinic, so "in a few minutes" is still today whenever the suite runs."""
    with time_machine.travel(tomorrow_at(clinic, 10) - datetime.timedelta(days=1)):
        yield
