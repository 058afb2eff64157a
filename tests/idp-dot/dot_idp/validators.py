"""The OAuth2 validator of the test provider: DOT's own, with three deliberate changes.

1. Redirect URIs match as exact strings, port included (``redirect_match = "exact"``). DOT itself follows
   RFC 8252 §7.3 and lets a registered ``http://127.0.0.1/...`` URI match any port; many providers do not, and
   the companion must work with those (a pinned ``redirect_port``). ``"loopback-any-port"`` keeps DOT's rule.
2. Revocation can demand client authentication (``revocation = "confidential"``): the public client, which
   only has a client_id, is then refused with 401 invalid_client (oauthlib's answer) and the token stays
   valid. By default DOT lets a public client revoke with its client_id (RFC 7009 §2.1).
3. The user's profile and email claims, for the ID token and userinfo (DOT releases only ``sub`` by default);
   DOT filters them by scope through ``oidc_claim_scope``.
"""

from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator


def _options():
    return settings.DOT_TEST


class Validator(OAuth2Validator):
    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        if _options()["redirect_match"] == "exact":
            return redirect_uri in request.client.redirect_uris.split()
        return super().validate_redirect_uri(client_id, redirect_uri, request, *args, **kwargs)

    def client_authentication_required(self, request, *args, **kwargs):
        # oauthlib asks this on the revocation endpoint too; True there makes it call authenticate_client,
        # which a client without a secret cannot pass.
        if _options()["revocation"] == "confidential" and "/revoke_token/" in (request.uri or ""):
            return True
        return super().client_authentication_required(request, *args, **kwargs)

    def get_additional_claims(self):
        # The request-agnostic form (a dict of callables): DOT can then list the claim names in discovery's
        # claims_supported, which it cannot with get_additional_claims(request).
        return {
            "name": lambda request: request.user.get_full_name(),
            "given_name": lambda request: request.user.first_name,
            "family_name": lambda request: request.user.last_name,
            "preferred_username": lambda request: request.user.get_username(),
            "email": lambda request: request.user.email,
            "email_verified": lambda request: True,
        }
