"""The shape the house style asks of the service layer, checked so it holds: no service
function over 60 lines (``make lint`` checks their complexity with radon)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 60


def service_modules() -> list[Path]:
    return sorted([*ROOT.glob("*/services.py"), *ROOT.glob("*/services/*.py"), *ROOT.glob("clinicos/*/services.py")])


def test_service_modules_are_found():
    names = {str(path.relative_to(ROOT)) for path in service_modules()}
    assert {
        "clinical/services/labs.py",
        "billing/services/invoices.py",
        "scheduling/services/__init__.py",
        "clinicos/messaging/services.py",
    } <= names


def test_no_service_function_is_longer_than_sixty_lines():
    long = []
    for path in service_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not long, "split these service functions: " + ", ".join(long)
