"""The django-oauth-toolkit test provider: URL routes, the OAuth2 validator, the pages (see ../README.md)."""
