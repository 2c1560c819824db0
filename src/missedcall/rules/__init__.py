"""Who gets a mail and who a journal entry for a call, and why the others do not (SPEC §5, §6).

Pure: a call record and a few facts in, a :class:`~missedcall.rules.decision.Decision`
out.  History and presence are read through small ports (:mod:`.ports`) that the
store implements; nothing here touches a clock, a socket or a database.
"""

from missedcall.rules.decision import Decision, Skip, Target
from missedcall.rules.engine import Judge
from missedcall.rules.policy import Policy

__all__ = ["Decision", "Judge", "Policy", "Skip", "Target"]
