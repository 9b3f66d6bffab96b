import logging

from allauth.account.adapter import DefaultAccountAdapter

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by administrators; nobody signs up on their own."""

    def is_open_for_signup(self, request):
        return False

    def send_mail(self, template_prefix, email, context):
        """A mail server that is down must not turn "reset my password" into an error
        page: the person sees the usual "check your inbox", the failure is logged for
        the administrators (and the person can ask again)."""
        try:
            super().send_mail(template_prefix, email, context)
        except (OSError, ConnectionError) as error:  # smtplib's errors are OSErrors
            logger.error("Could not send %s mail to %s: %s", template_prefix, email, error, exc_info=True)
