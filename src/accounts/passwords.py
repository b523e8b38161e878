"""Password policy (等保 level 3): ≥ 10 characters, 3 character classes, not the username,
not one of the last 5 passwords. Every saved change is kept in ``PasswordHistory`` through
``NotRecentlyUsedValidator.password_changed`` (Django calls it after ``set_password`` + save)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MIN_LENGTH = 10
MIN_CLASSES = 3
HISTORY_DEPTH = 5


class MinimumLengthValidator:
    def validate(self, password, user=None):
        if len(password or "") < MIN_LENGTH:
            raise ValidationError(
                _("密码至少需要 %(n)d 个字符。") % {"n": MIN_LENGTH}, code="password_too_short"
            )

    def get_help_text(self):
        return _("密码至少需要 %(n)d 个字符。") % {"n": MIN_LENGTH}


class CharacterClassValidator:
    CLASSES = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")

    def validate(self, password, user=None):
        n = sum(1 for pattern in self.CLASSES if re.search(pattern, password or ""))
        if n < MIN_CLASSES:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、特殊字符中的至少 %(n)d 类。") % {"n": MIN_CLASSES},
                code="password_too_simple",
            )

    def get_help_text(self):
        return _("密码须包含大写字母、小写字母、数字、特殊字符中的至少 %(n)d 类。") % {"n": MIN_CLASSES}


class NotUsernameValidator:
    def validate(self, password, user=None):
        username = getattr(user, "username", "") or ""
        if username and username.lower() in (password or "").lower():
            raise ValidationError(_("密码不能包含用户名。"), code="password_contains_username")

    def get_help_text(self):
        return _("密码不能包含用户名。")


class NotRecentlyUsedValidator:
    """Refuses any of the user's last ``HISTORY_DEPTH`` passwords (including the current one)."""

    def validate(self, password, user=None):
        if user is None or not getattr(user, "pk", None):
            return
        from django.contrib.auth.hashers import check_password

        from .models import PasswordHistory

        recent = PasswordHistory.objects.filter(user=user).order_by("-id")[:HISTORY_DEPTH]
        hashes = [h.password_hash for h in recent]
        if user.password and user.password not in hashes:
            hashes.insert(0, user.password)
        for encoded in hashes[:HISTORY_DEPTH]:
            if check_password(password, encoded):
                raise ValidationError(
                    _("新密码不能与最近 %(n)d 次使用过的密码相同。") % {"n": HISTORY_DEPTH},
                    code="password_reused",
                )

    def get_help_text(self):
        return _("新密码不能与最近 %(n)d 次使用过的密码相同。") % {"n": HISTORY_DEPTH}

    def password_changed(self, password, user=None):
        """Django calls this after every saved password change: keep the new hash."""
        if user is None or not getattr(user, "pk", None) or not user.has_usable_password():
            return
        from .models import PasswordHistory

        PasswordHistory.objects.create(user=user, password_hash=user.password)
