"""Password policy (等保 level 3): ≥ 10 chars, 3 character classes, not the username, not one of
the last 5; every change kept in the history."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import PasswordHistory
from core.errors import Invalid
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

OLD = "Govhub#2026pass"


@pytest.fixture
def person(make_user):
    return make_user(username="wangfang")


def _change(user, new, old=OLD):
    return services.user_change_password(user=user, old_password=old, new_password=new)


@pytest.mark.parametrize(
    ("password", "code_text"),
    [
        ("Ab#1234", "至少需要 10 个字符"),  # too short
        ("abcdefghijkl", "至少 3 类"),  # one class
        ("abcdefgh1234", "至少 3 类"),  # two classes
        ("Wangfang#2026", "不能包含用户名"),  # contains the username
    ],
)
def test_password_policy_rules_each_refused(person, password, code_text):
    before = person.password
    with pytest.raises(Invalid) as exc:
        _change(person, password)
    assert exc.value.code == "accounts.password_invalid"
    assert any(code_text in m for m in exc.value.details["fields"]["new_password"])
    person.refresh_from_db()
    assert person.password == before


def test_good_password_is_accepted_and_clears_forced_change(person):
    person.must_change_password = True
    person.save()
    _change(person, "Lake#Blue2026")
    person.refresh_from_db()
    assert person.check_password("Lake#Blue2026") and not person.must_change_password
    assert AuditEvent.objects.filter(action="accounts.user.change_password", actor=person).exists()


def test_wrong_old_password_is_refused(person):
    with pytest.raises(Invalid) as exc:
        _change(person, "Lake#Blue2026", old="nope")
    assert exc.value.code == "accounts.password_wrong"


def test_every_change_is_kept_in_password_history(person):
    count = PasswordHistory.objects.filter(user=person).count()
    _change(person, "Lake#Blue2026")
    assert PasswordHistory.objects.filter(user=person).count() == count + 1
    person.refresh_from_db()
    assert PasswordHistory.objects.filter(user=person).first().password_hash == person.password


def test_none_of_the_last_five_passwords_may_be_reused(person):
    passwords = [OLD] + [f"Cycle#{n}Pass2026" for n in range(1, 6)]
    for previous, new in zip(passwords, passwords[1:], strict=False):
        _change(person, new, old=previous)
    current = passwords[-1]
    for reused in passwords[-5:]:  # the current one and the four before it
        with pytest.raises(Invalid) as exc:
            _change(person, reused, old=current)
        assert "最近 5 次" in exc.value.message
    # The sixth-latest (the very first) has dropped out of the history window.
    _change(person, OLD, old=current)
