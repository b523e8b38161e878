from enum import Enum


class ExchangeError(str, Enum):
    NOT_ALLOWED = "exchange.not_allowed"
    NOT_SHARED = "exchange.not_shared"
    NOT_PUBLISHED = "exchange.not_published"
    WRONG_SHARING_TYPE = "exchange.wrong_sharing_type"
    REVOKED_NEEDS_REVIEW = "exchange.revoked_needs_review"
    OWN_RESOURCE = "exchange.own_resource"
    BAD_ITEMS = "exchange.bad_items"
    BAD_CHANNELS = "exchange.bad_channels"
    BAD_PERIOD = "exchange.bad_period"
    BAD_PURPOSE = "exchange.bad_purpose"
    BAD_STATE = "exchange.bad_state"
    NOT_NARROWER = "exchange.not_narrower"
    REASON_REQUIRED = "exchange.reason_required"
    NO_GRANT = "exchange.no_grant"
    PURPOSE_MISMATCH = "exchange.purpose_mismatch"
    BAD_FILTER = "exchange.bad_filter"
