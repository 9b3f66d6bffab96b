"""How the product hands a generated file to the browser."""

from django.http import HttpResponse


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    """A PDF shown in the browser (printable from there), never cached: every PDF of the
    product holds a patient's or the clinic's data."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
