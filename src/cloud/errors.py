"""Stable error codes of the cloud app (clients branch on ``code``; people read ``message``)."""

from enum import Enum


class CloudError(str, Enum):
    NOT_ALLOWED = "cloud.not_allowed"
    NOT_FOUND = "cloud.not_found"
    ILLEGAL_TRANSITION = "cloud.illegal_transition"
    CLASSIFIED_REFUSED = "cloud.classified_refused"
    SYSTEM_NOT_ELIGIBLE = "cloud.system_not_eligible"
    INVALID_SYSTEM = "cloud.invalid_system"
    MATERIALS_MISSING = "cloud.materials_missing"
    INVALID_LINES = "cloud.invalid_lines"
    REASONS_REQUIRED = "cloud.reasons_required"
    BAD_ATTACHMENT = "cloud.bad_attachment"
    ATTACHMENT_TOO_LARGE = "cloud.attachment_too_large"
    CAPACITY_EXCEEDED = "cloud.capacity_exceeded"
    PROVISION_FAILED = "cloud.provision_failed"
    TRIAL_TOO_SHORT = "cloud.trial_too_short"
    AGREEMENT_MISSING = "cloud.agreement_missing"
    CONFIRMATION_MISSING = "cloud.confirmation_missing"
    NO_CHANGE = "cloud.no_change"
    EXEMPTION_INVALID = "cloud.exemption_invalid"
    MIGRATION_INVALID = "cloud.migration_invalid"
    KEEP_PERIOD_NOT_OVER = "cloud.keep_period_not_over"
