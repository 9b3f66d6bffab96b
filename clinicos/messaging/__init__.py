"""Everything ClinicOS sends to a person — SMS, email, WhatsApp — goes through one outbox.

A message is a row (``OutboundMessage``) written in the same transaction as the change that
causes it, with a unique dedup key; the worker task (``tasks.send_due_messages``) claims what
is due with a lease, hands it to a provider (``providers``), and records what the provider
said. Delivery callbacks move a message on, never back. Apps decide *what* to say (scheduling
writes confirmations, reminders, recalls and waitlist offers); this package decides *how and
when* it leaves: the clinic's channels, quiet hours, templates and the patient's opt-outs
(``services``)."""
