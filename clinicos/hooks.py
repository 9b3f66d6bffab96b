"""Steps that an operation of a lower app must run but a higher app owns.

Dependencies point one way (clinicos ← patients ← leads ← scheduling ← clinical ← billing), so
patients cannot call scheduling by name when a patient registers, nor clinical call billing
when a visit completes. A Django signal would invert the call, but a signal is optional by
design: with no receiver connected (an app left out, a test's settings) the rule silently
stops. A ``RequiredSteps`` names the steps it expects; running it without one of them raises,
and every step runs inside the caller's transaction, in registration order.

Where one runs, the call site reads ``<APP>_STEPS.run(...)``; the steps are registered in the
owning app's ``AppConfig.ready()``."""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class RequiredSteps:
    def __init__(self, operation: str, *, expects: tuple[str, ...]):
        self.operation = operation
        self.expects = expects
        self._steps: dict[str, Callable[..., Any]] = {}

    def register(self, name: str, step: Callable[..., Any]) -> None:
        if name not in self.expects:
            raise ImproperlyConfigured(f"{self.operation} does not expect a step named {name!r}; add it to its expects.")
        self._steps[name] = step

    def run(self, **arguments: Any) -> None:
        missing = [name for name in self.expects if name not in self._steps]
        if missing:
            raise ImproperlyConfigured(f"{self.operation}: no step registered for {', '.join(missing)} (is its app installed?).")
        for name in self.expects:
            self._steps[name](**arguments)

    def registered(self) -> tuple[str, ...]:
        return tuple(name for name in self.expects if name in self._steps)


class RequiredStep:
    """One step a lower app's operation needs *and whose answer it uses* (a ``RequiredSteps``
    runs steps for their effect only). Calling it before the owner registered it raises."""

    def __init__(self, operation: str, *, owner: str):
        self.operation = operation
        self.owner = owner
        self._step: Callable[..., Any] | None = None

    def register(self, step: Callable[..., Any]) -> None:
        self._step = step

    def __call__(self, **arguments: Any) -> Any:
        if self._step is None:
            raise ImproperlyConfigured(f"{self.operation}: {self.owner} registered no step (is its app installed?).")
        return self._step(**arguments)
