"""Steps a lower app's operation must run but a higher app owns (clinicos.hooks)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from clinical.hooks import VISIT_COMPLETION_STEPS
from clinicos.hooks import RequiredSteps
from leads.hooks import LEAD_CONVERSION_STEPS
from patients.hooks import PATIENT_REGISTRATION_STEPS


@pytest.mark.parametrize("steps", [VISIT_COMPLETION_STEPS, LEAD_CONVERSION_STEPS, PATIENT_REGISTRATION_STEPS])
def test_every_expected_step_is_registered_by_its_app(steps):
    assert steps.registered() == steps.expects


def test_a_missing_step_stops_the_operation_instead_of_silently_skipping_its_rule():
    steps = RequiredSteps("Doing a thing", expects=("other.rule", "more.rule"))
    ran = []
    steps.register("other.rule", lambda **kwargs: ran.append(kwargs))
    with pytest.raises(ImproperlyConfigured, match="more.rule"):
        steps.run(thing=1)
    assert ran == []
    steps.register("more.rule", lambda **kwargs: ran.append("second"))
    steps.run(thing=1)
    assert ran == [{"thing": 1}, "second"]


def test_a_step_not_declared_cannot_be_registered():
    steps = RequiredSteps("Doing a thing", expects=("other.rule",))
    with pytest.raises(ImproperlyConfigured):
        steps.register("typo.rule", lambda **kwargs: None)
