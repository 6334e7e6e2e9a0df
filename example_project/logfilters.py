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
# The login redirect's next= holds the authorization URL percent-encoded, once or twice over:
# separators are matched in every such spelling.
_START = r"(?:[?&]|%3F|%26|%253F|%2526)"
_EQUALS = r"(?:=|%3D|%253D)"
_END = r"(?=&|%26|%2526|\s|\"|$)"
_PARAMETER = re.compile(
    rf"(?P<name>{_START}(?:{'|'.join(HIDDEN)}){_EQUALS})(?P<value>.*?){_END}", re.IGNORECASE
)


def masked_line(line: str) -> str:
    return _PARAMETER.sub(r"\g<name>[hidden]", line)


class MaskReferences(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = masked_line(record.getMessage())
        record.args = ()
        return True
