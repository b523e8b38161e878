"""Serializers: translate JSON ↔ service arguments. Rules live in the services."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import ApiClient, ApiToken, Lockout, LoginRecord, RoleAssignment, Scope, Unit, User
from accounts.roles import Role


class UnitSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Unit
        fields = [
            "id",
            "name",
            "short_name",
            "code",
            "kind",
            "kind_display",
            "parent",
            "uscc",
            "head_name",
            "data_officer",
            "contact_name",
            "contact_phone",
            "contact_email",
            "is_active",
        ]
        read_only_fields = ["id", "kind_display"]


class UnitWriteSerializer(serializers.Serializer):
    """Shape only; USCC, uniqueness and the rest are checked by ``unit_create/unit_update``."""

    name = serializers.CharField(max_length=200)
    short_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    code = serializers.CharField(max_length=12)
    kind = serializers.ChoiceField(choices=Unit.Kind.choices, required=False)
    parent = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all(), required=False, allow_null=True)
    uscc = serializers.CharField(max_length=18)
    head_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    data_officer = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_service_account=False), required=False, allow_null=True
    )
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class RoleAssignmentSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = RoleAssignment
        fields = ["id", "user", "username", "role", "role_display", "granted_at", "granted_by"]


class RoleAssignmentWriteSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Role.choices)


class UserSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "email",
            "phone",
            "unit",
            "unit_name",
            "roles",
            "is_active",
            "must_change_password",
            "last_login",
            "date_joined",
        ]

    def get_roles(self, obj: User) -> list[str]:
        return sorted(a.role for a in obj.role_assignments.all())


class UserCreateSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    username = serializers.CharField(max_length=150)
    full_name = serializers.CharField(max_length=50)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices), required=False, default=list
    )


class UserUpdateSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=50, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(trim_whitespace=False)
    new_password = serializers.CharField(trim_whitespace=False)


class LoginRecordSerializer(serializers.ModelSerializer):
    outcome_display = serializers.CharField(source="get_outcome_display", read_only=True)

    class Meta:
        model = LoginRecord
        fields = ["id", "user", "username", "outcome", "outcome_display", "ip", "user_agent", "occurred_at"]


class LockoutSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = Lockout
        fields = [
            "id",
            "username",
            "ip",
            "user",
            "locked_at",
            "locked_until",
            "released_at",
            "released_by",
            "active",
        ]

    def get_active(self, obj: Lockout) -> bool:
        return obj.is_active()


class ApiClientSerializer(serializers.ModelSerializer):
    service_username = serializers.CharField(source="service_user.username", read_only=True, default="")

    class Meta:
        model = ApiClient
        fields = [
            "id",
            "unit",
            "name",
            "system_name",
            "description",
            "scopes",
            "is_active",
            "service_username",
            "created_at",
        ]


class ApiClientWriteSerializer(serializers.Serializer):
    unit = serializers.IntegerField(required=False)
    name = serializers.CharField(max_length=100)
    system_name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices), required=False, default=list
    )
    is_active = serializers.BooleanField(required=False)


class ApiTokenSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "client",
            "name",
            "prefix",
            "scopes",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "last_used_ip",
            "created_at",
            "status",
        ]


class ApiTokenIssueSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), required=False)
    expires_at = serializers.DateTimeField(required=False)
