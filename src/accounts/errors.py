"""Stable error codes of the accounts app (clients branch on ``code``)."""

from enum import Enum


class AccountsError(str, Enum):
    NOT_ALLOWED = "accounts.not_allowed"
    UNIT_INVALID = "accounts.unit_invalid"
    USER_INVALID = "accounts.user_invalid"
    USERNAME_TAKEN = "accounts.username_taken"
    ROLE_NOT_ALLOWED_FOR_UNIT = "accounts.role_not_allowed_for_unit"
    SEPARATION_OF_DUTIES = "accounts.separation_of_duties"
    ROLE_ALREADY_HELD = "accounts.role_already_held"
    SELF_ROLE_CHANGE = "accounts.self_role_change"
    PASSWORD_INVALID = "accounts.password_invalid"
    PASSWORD_WRONG = "accounts.password_wrong"
    PASSWORD_CHANGE_REQUIRED = "accounts.password_change_required"
    LOCKOUT_NOT_ACTIVE = "accounts.lockout_not_active"
    API_CLIENT_INVALID = "accounts.api_client_invalid"
    TOKEN_INVALID = "accounts.token_invalid"
    TOKEN_ALREADY_REVOKED = "accounts.token_already_revoked"
    TOKEN_SCOPE_MISSING = "accounts.token_scope_missing"
    IMPORT_INVALID = "accounts.import_invalid"
    IMPORT_FILE_INVALID = "accounts.import_file_invalid"
    IMPORT_TOO_LARGE = "accounts.import_too_large"
