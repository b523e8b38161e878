"""The one transition table of the catalog workflow (S§14, S§15, S§37).

New resources and changes to published resources follow the same path:
draft → (unit secrecy review) → submitted → (center review) → published, or returned with
reasons and back to draft editing. Published resources may be withdrawn with a reason.
"""

from __future__ import annotations

from enum import Enum

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict

from .errors import CatalogError


class Action(str, Enum):
    SUBMIT = "submit"  # registrar sends the entry to the unit's secrecy review
    SECRECY_CONFIRM = "secrecy_confirm"  # S§37: no state secrets; goes to the center
    SECRECY_REJECT = "secrecy_reject"
    APPROVE = "approve"  # S§15: center publishes
    RETURN = "return"  # center returns with reasons
    WITHDRAW = "withdraw"
    CANCEL = "cancel"  # a proposed change is abandoned


TRANSITIONS: dict[tuple[str, Action], str] = {
    ("draft", Action.SUBMIT): "secrecy_review",
    ("returned", Action.SUBMIT): "secrecy_review",
    ("secrecy_review", Action.SECRECY_CONFIRM): "submitted",
    ("secrecy_review", Action.SECRECY_REJECT): "returned",
    ("submitted", Action.APPROVE): "published",
    ("submitted", Action.RETURN): "returned",
    ("published", Action.WITHDRAW): "withdrawn",
    ("draft", Action.CANCEL): "cancelled",
    ("returned", Action.CANCEL): "cancelled",
}

#: States in which the registrar may still edit the content.
EDITABLE = frozenset({"draft", "returned"})


def next_status(current: str, action: Action) -> str:
    """The state after ``action``, or ``Conflict`` when the action is not allowed now."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise Conflict(
            CatalogError.ILLEGAL_TRANSITION,
            _("当前状态不允许此操作。"),
            {"status": current, "action": action.value},
        )


def allowed_actions(current: str) -> list[str]:
    return [a.value for (s, a) in TRANSITIONS if s == current]
