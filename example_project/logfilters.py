"""Keep references, codes and secrets out of the demo server's request log.

``runserver`` writes every request line to the ``django.server`` logger, and the authorization
URL of a PAR login carries the ``request_uri`` (the callback carries the code). The project's
rule is that such values never reach a log, so the line is rewritten before any handler sees it.
"""

from __future__ import annotations

import logging
import re

#: Query parameters whose values are references or secrets.
HIDDEN = ("request_uri", "code", "code_verifier", "client_secret", "client_assertion", "state", "nonce")
_PARAMETER = re.compile(r"(?P<name>(?:^|[?&])(?:" + "|".join(HIDDEN) + r")=)[^&\s\"]*")


def masked_line(line: str) -> str:
    return _PARAMETER.sub(r"\g<name>[hidden]", line)


class MaskReferences(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = masked_line(record.getMessage())
        record.args = ()
        return True
