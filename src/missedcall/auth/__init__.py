"""Who is asking: accounts, password hashes, API tokens, sessions and the login rate limit.

Free of HTTP: the API (:mod:`missedcall.api`) and the command line
(``missedcall passwd``, ``missedcall token``) both build on it.
"""

from missedcall.auth.principal import Principal, Role

__all__ = ["Principal", "Role"]
