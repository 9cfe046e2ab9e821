"""Accounts: who may call the API. Users in their own database, e-mail addresses as one account each, password
hashes and signed access tokens; the auth and users routes are thin wiring over these."""
