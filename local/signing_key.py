"""The local mode's own key for Cognito tokens, made anew for every run.

moto signs every ID and access token with one RSA key that ships inside the moto package: anyone who
has moto can mint a token that verifies against moto's JWKS. So the local mode makes a key of its own
when it starts, has moto's user pools (in this process) sign with it, and the gateway's authorizer
verifies with it alone: a token minted with moto's shipped key, or left over from an earlier run, is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from joserfc.jwk import RSAKey
from moto.cognitoidp.models import cognitoidp_backends

from local.provisioners import ACCOUNT


class RunSigningKey:
    def __init__(self) -> None:
        self._private = RSAKey.generate_key(2048, private=True)
        self.public = RSAKey.import_key(self._private.as_dict(private=False))

    def adopt(self, pool_ids: Iterable[str], region: str) -> None:
        """The user pools (created by the provisioners in the emulator, in this process) sign with this key."""
        pools = cognitoidp_backends[ACCOUNT][region].user_pools
        for pool_id in pool_ids:
            pools[pool_id].json_web_key = self._private
