"""aiosmtpd's Maildir handler, also recording the EHLO name each message came with.

The name a client gives in EHLO ends up in the Received: header a real mail server writes, so
the tests check what Sigil says there (X-Ehlo on the stored message).
"""

from aiosmtpd.handlers import Mailbox


class EhloMailbox(Mailbox):
    def prepare_message(self, session, envelope):
        message = super().prepare_message(session, envelope)
        message["X-Ehlo"] = str(session.host_name)
        return message
