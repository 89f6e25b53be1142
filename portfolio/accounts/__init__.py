"""Accounts: users, organizations (issuers), memberships and roles, login, invitations."""
