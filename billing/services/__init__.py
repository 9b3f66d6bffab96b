"""Billing's rules, the only place they live (pages and the API both call these), by subject:
the catalog, invoices (drafts, issue, cancel), money (payments, deposits, refunds), document
numbers and platform usage. The money services take ``when`` only to import history (the
demo data, a migration from another system): pages and the API never pass it, so documents
carry the moment they were made."""

from billing.services.amounts import INVOICE_LIMIT
from billing.services.catalog import (
    SERVICE_FIELDS,
    service_save,
)
from billing.services.invoices import (
    invoice_cancel,
    invoice_create,
    invoice_delete,
    invoice_draft_for_visit,
    invoice_issue,
    invoice_update,
    suggested_lines_for_visit,
)
from billing.services.numbers import (
    MAX_NUMBER_LENGTH,
    SERIES_DIGITS,
    SERIES_LETTER,
    financial_year_code,
    format_document_number,
    next_document_number,
)
from billing.services.payments import (
    COLLECT_ON_ISSUE_METHODS,
    deposit_apply,
    deposit_available,
    deposit_record,
    invoice_issue_and_collect,
    payment_record,
    refund_record,
)
from billing.services.usage import (
    record_visit_usage,
    usage_unit_price,
)
