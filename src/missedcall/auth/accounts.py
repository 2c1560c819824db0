"""Who may log in, and with what: password hashes from the configuration, tokens from the
database.  The administrator's account is ``admin``; users log in with their id."""

from __future__ import annotations

import asyncio

from missedcall.auth.passwords import verify_password
from missedcall.auth.principal import Principal
from missedcall.auth.tokens import TokenStore
from missedcall.config import ADMIN_ACCOUNT, Config

__all__ = ["Accounts"]


class Accounts:
    """The accounts of one configuration."""

    def __init__(self, config: Config, tokens: TokenStore) -> None:
        self._admin_hash = config.api.admin_password_hash
        self._user_hashes = {user.id: user.password_hash for user in config.users}
        self._tokens = tokens

    def exists(self, principal: Principal) -> bool:
        """Whether the account is still configured (a token or session may outlive it)."""
        return principal.is_admin or principal.account in self._user_hashes

    async def check_password(self, account: str, password: str) -> Principal | None:
        """The account if the password is right; as slow for unknown accounts as for known."""
        if account == ADMIN_ACCOUNT:
            password_hash, principal = self._admin_hash, Principal(account, "admin")
        else:
            password_hash, principal = self._user_hashes.get(account), Principal(account, "user")
        right = await asyncio.to_thread(verify_password, password_hash, password)
        return principal if right else None

    def check_token(self, secret: str, at: float) -> Principal | None:
        principal = self._tokens.check(secret, at)
        return principal if principal is not None and self.exists(principal) else None
