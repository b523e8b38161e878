"""Every write to the catalog (S§11-18, S§20-21, S§26, S§28-30, S§37, S§42).

Each service: keyword-only arguments, one transaction, lock what changes, check permission,
refuse illegal transitions (``workflow.next_status``), change, audit in the same transaction,
notify, and keep the search index current.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit
from accounts.roles import Role
from core import audit, deadlines
from core.errors import Conflict, Invalid, NotFound, PermissionDenied
from core.notify import notify
from core.rules import Rule

from . import permissions, search
from .errors import CatalogError
from .models import (
    OPEN_CHANGE_STATUSES,
    AuthoritativeConcept,
    CampaignEntry,
    CampaignStatus,
    ChangeStatus,
    Channel,
    ClaimStatus,
    Classification,
    DataItem,
    Demand,
    DemandStatus,
    EntryStatus,
    IdentifierKind,
    PlannedResource,
    ProjectCatalog,
    Resource,
    ResourceCodeSequence,
    ResourceFormat,
    ResourceStatus,
    ResourceVersion,
    ReviewCampaign,
    SharingType,
    SingleSourceClaim,
)
from .workflow import EDITABLE, Action, next_status

#: Resource fields a registrar fills in (everything else is set by the workflow).
RESOURCE_FIELDS = (
    "name",
    "summary",
    "classification",
    "format",
    "sharing_type",
    "sharing_conditions",
    "not_shared_basis",
    "open_attribute",
    "update_cycle",
    "channels",
    "app_system_name",
    "keywords",
    "contact_name",
    "contact_phone",
    "is_classified",
)
ITEM_FIELDS = (
    "code",
    "name",
    "data_type",
    "length",
    "precision",
    "required",
    "is_key",
    "identifier_kind",
    "sensitivity",
    "description",
)

#: S§21: the identifier a table resource of each base-database kind must carry.
REQUIRED_IDENTIFIER = {
    Classification.BASE_POPULATION: IdentifierKind.ID_CARD,
    Classification.BASE_LEGAL_ENTITY: IdentifierKind.USCC,
    Classification.BASE_HOUSING: IdentifierKind.PROPERTY_UNIT,
    Classification.BASE_CITY_COMPONENT: IdentifierKind.CITY_COMPONENT,
}

#: S§14/S§28: a not-shared basis must cite a law, regulation or policy.
LEGAL_BASIS_RE = re.compile(r"《.+》|法|条例|规定|办法|政策|意见|通知|决定|细则")

CODE_SEQUENCE_DIGITS = 5


# --- content validation ---------------------------------------------------------------------


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(RESOURCE_FIELDS)
    if unknown:
        raise Invalid(CatalogError.INVALID, _("包含不允许填写的字段。"), {"fields": sorted(unknown)})
    return dict(fields)


def content_errors(*, fields: dict[str, Any], items: list[dict[str, Any]], provider: Unit) -> list[dict]:
    """All problems of one resource's content, as ``{"field", "item", "code", "message"}``.

    ``item`` is the 0-based data item index (``None`` for resource fields). Used by the
    services (raise on the first list) and by the Excel import (row-level report).
    """
    errors: list[dict] = []

    def add(field: str, message: str, code: str, item: int | None = None) -> None:
        errors.append({"field": field, "item": item, "code": code, "message": str(message)})

    resource = Resource(provider=provider, **{k: v for k, v in fields.items() if k in RESOURCE_FIELDS})
    if resource.channels is None:
        resource.channels = []
    try:
        resource.full_clean(exclude=["code", "provider", "created_by", "project"], validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for m in messages:
                add(field, m, CatalogError.INVALID.value)
    if resource.is_classified:
        add("is_classified", _("涉密资源不得在共享平台登记（S§37）。"), CatalogError.CLASSIFIED.value)
    if resource.sharing_type == SharingType.NOT_SHARED:
        basis = (resource.not_shared_basis or "").strip()
        if not basis or not LEGAL_BASIS_RE.search(basis):
            add(
                "not_shared_basis",
                _("不予共享的资源须注明所依据的法律、行政法规或政策（S§14）。"),
                CatalogError.NOT_SHARED_BASIS_REQUIRED.value,
            )
    if resource.sharing_type == SharingType.CONDITIONAL and not (resource.sharing_conditions or "").strip():
        add(
            "sharing_conditions",
            _("有条件共享的资源须填写共享条件（S§28）。"),
            CatalogError.CONDITIONS_REQUIRED.value,
        )
    channels = resource.channels if isinstance(resource.channels, list) else None
    if channels is None or any(c not in Channel.values for c in channels):
        add("channels", _("共享方式取值无效。"), CatalogError.INVALID.value)

    if resource.format == ResourceFormat.TABLE and not items:
        add("items", _("数据库表类资源至少需要一个信息项。"), CatalogError.ITEMS_REQUIRED.value)
    seen: set[str] = set()
    for index, data in enumerate(items):
        unknown = set(data) - set(ITEM_FIELDS)
        if unknown:
            add(sorted(unknown)[0], _("包含不允许填写的字段。"), CatalogError.INVALID.value, index)
            continue
        item = DataItem(resource=resource, **data)
        try:
            item.full_clean(exclude=["resource"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for field, messages in exc.error_dict.items():
                for err in messages:
                    code = {
                        "item_code_invalid": CatalogError.ITEM_CODE_INVALID.value,
                        "item_code_reserved": CatalogError.ITEM_CODE_RESERVED.value,
                    }.get(err.code or "", CatalogError.INVALID.value)
                    msg = err.message % err.params if err.params else err.message
                    add(field, msg, code, index)
        if item.code in seen:
            add("code", _("信息项代码重复。"), CatalogError.ITEM_CODE_DUPLICATE.value, index)
        seen.add(item.code)

    needed = REQUIRED_IDENTIFIER.get(resource.classification)
    has_identifier = any((d.get("identifier_kind") or "") == needed for d in items)
    if needed and resource.format == ResourceFormat.TABLE and not has_identifier:
        add(
            "items",
            _("该类资源须包含标识类型为“%(kind)s”的信息项（S§21）。")
            % {"kind": IdentifierKind(needed).label},
            CatalogError.IDENTIFIER_REQUIRED.value,
        )
    return errors


def _validate(*, fields: dict[str, Any], items: list[dict[str, Any]], provider: Unit) -> None:
    errors = content_errors(fields=fields, items=items, provider=provider)
    if errors:
        first = errors[0]
        raise Invalid(first["code"], first["message"], {"errors": errors})


def resource_snapshot(resource: Resource) -> dict[str, Any]:
    """The catalog entry as plain JSON: resource fields + data items (for versions and diffs)."""
    data = {f: getattr(resource, f) for f in RESOURCE_FIELDS}
    data["items"] = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in resource.items.all()]
    return data


def snapshot_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed between two snapshots: fields ``{name: [old, new]}`` and items by code."""
    fields = {f: [old.get(f), new.get(f)] for f in RESOURCE_FIELDS if old.get(f) != new.get(f)}
    old_items = {i["code"]: i for i in old.get("items", [])}
    new_items = {i["code"]: i for i in new.get("items", [])}
    items = {
        "added": sorted(set(new_items) - set(old_items)),
        "removed": sorted(set(old_items) - set(new_items)),
        "changed": sorted(c for c in set(old_items) & set(new_items) if old_items[c] != new_items[c]),
    }
    return {"fields": fields, "items": items}


def _items_changed(diff: dict[str, Any]) -> bool:
    return any(diff.get("items", {}).get(k) for k in ("added", "removed", "changed"))


def _write_items(resource: Resource, items: list[dict[str, Any]]) -> None:
    """Replace the data items, keeping the rows (and ids) of items whose code stays."""
    existing = {i.code: i for i in resource.items.all()}
    wanted = []
    for position, data in enumerate(items, start=1):
        item = existing.pop(data["code"], None) or DataItem(resource=resource)
        for f in ITEM_FIELDS:
            setattr(item, f, data.get(f, DataItem._meta.get_field(f).get_default()))
        if item.identifier_kind is None:
            item.identifier_kind = ""
        item.position = position
        wanted.append(item)
    if existing:
        DataItem.objects.filter(pk__in=[i.pk for i in existing.values()]).delete()
    for item in wanted:
        item.save()


_consumer_providers: list[Callable[[Resource], Iterable[Any]]] = []


def register_consumer_provider(func: Callable[[Resource], Iterable[Any]]) -> Callable:
    """Apps to the right of the catalog (the exchange: live grants) register a function that
    returns the users consuming a resource; the catalog never imports them (DESIGN.md)."""
    if func not in _consumer_providers:
        _consumer_providers.append(func)
    return func


def resource_consumers(resource: Resource) -> list:
    """Users who consume ``resource`` and must hear of data item changes (S§25).

    Empty until an app registers a provider with :func:`register_consumer_provider`.
    """
    seen: dict[Any, Any] = {}
    for provider in _consumer_providers:
        for user in provider(resource) or ():
            seen.setdefault(getattr(user, "pk", user), user)
    return list(seen.values())


def _center_unit() -> Unit | None:
    return Unit.objects.filter(kind=Unit.Kind.CENTER).order_by("pk").first()


def _lock(resource: Resource) -> Resource:
    try:
        return Resource.objects.select_for_update().select_related("provider").get(pk=resource.pk)
    except Resource.DoesNotExist:
        raise NotFound(CatalogError.NOT_FOUND, _("信息资源不存在。"))


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(CatalogError.NOT_ALLOWED, _("您没有执行此目录操作的权限。"))


# --- registration ---------------------------------------------------------------------------


@transaction.atomic
def resource_create(
    *, by: Any, fields: dict[str, Any], items: list[dict[str, Any]], provider: Unit | None = None
) -> Resource:
    """A unit's data officer registers a resource with its data items as a draft (S§15)."""
    provider = provider or by.unit
    _require(permissions.can_register(by, provider))
    fields = _clean_fields(fields)
    _validate(fields=fields, items=items, provider=provider)
    resource = Resource(provider=provider, created_by=by, **fields)
    resource.save()
    _write_items(resource, items)
    search.index_resource(resource)
    audit.record(action="catalog.resource.create", actor=by, target=resource, details={"items": len(items)})
    return resource


@transaction.atomic
def resource_update(
    *, resource: Resource, by: Any, fields: dict[str, Any], items: list[dict[str, Any]] | None = None
) -> Resource:
    """Edit a draft or returned resource. Published resources change through
    :func:`resource_change_propose` (a new version through the same review)."""
    resource = _lock(resource)
    _require(permissions.can_register(by, resource.provider))
    if resource.status not in EDITABLE:
        raise Conflict(CatalogError.ILLEGAL_TRANSITION, _("只有草稿或已退回的资源可以直接修改。"))
    fields = _clean_fields(fields)
    current = resource_snapshot(resource)
    merged = {**{f: current[f] for f in RESOURCE_FIELDS}, **fields}
    new_items = current["items"] if items is None else items
    _validate(fields=merged, items=new_items, provider=resource.provider)
    for f, v in fields.items():
        setattr(resource, f, v)
    resource.save()
    if items is not None:
        _write_items(resource, items)
    search.index_resource(resource)
    audit.record(
        action="catalog.resource.update",
        actor=by,
        target=resource,
        details=snapshot_diff(current, resource_snapshot(resource)),
    )
    return resource


@transaction.atomic
def resource_delete(*, resource: Resource, by: Any) -> None:
    """Delete a draft that was never published."""
    resource = _lock(resource)
    _require(permissions.can_register(by, resource.provider))
    if resource.status not in EDITABLE or resource.first_published_at:
        raise Conflict(CatalogError.ILLEGAL_TRANSITION, _("只有从未发布的草稿可以删除。"))
    audit.record(action="catalog.resource.delete", actor=by, target=resource)
    pk = resource.pk
    resource.delete()
    search.unindex_resource(pk)


# --- single source (S§20, S§26) -------------------------------------------------------------


def concept_held_by(concept: AuthoritativeConcept, items: list[dict[str, Any]]) -> bool:
    """Whether data items (dicts with name/identifier_kind) hold ``concept``."""
    kinds = {(i.get("identifier_kind") or "") for i in items}
    names = {(i.get("name") or "").strip() for i in items}
    if concept.identifier_kind and concept.identifier_kind not in kinds:
        return False
    wanted = [n for n in concept.item_names if n]
    if not concept.identifier_kind and not wanted:
        return False
    return all(n in names for n in wanted)


def single_source_overlaps(*, provider: Unit, items: list[dict[str, Any]]) -> list[AuthoritativeConcept]:
    """Authoritative concepts of *other* units that these data items duplicate (S§20)."""
    return [
        c
        for c in AuthoritativeConcept.objects.exclude(unit=provider).select_related("unit")
        if concept_held_by(c, items)
    ]


def _record_claims(*, subject: Resource, items: list[dict[str, Any]], justification: str) -> None:
    overlaps = single_source_overlaps(provider=subject.provider, items=items)
    if not overlaps:
        return
    if not (justification or "").strip():
        raise Invalid(
            CatalogError.SINGLE_SOURCE_JUSTIFICATION_REQUIRED,
            _("所登记的信息项与其他单位的权威数据重复（一数一源，S§20），请说明重复采集的理由。"),
            {"concepts": [{"id": c.pk, "name": c.name, "unit": c.unit.name} for c in overlaps]},
        )
    for concept in overlaps:
        claim, created = SingleSourceClaim.objects.get_or_create(
            resource=subject, concept=concept, defaults={"justification": justification}
        )
        if not created and (claim.status != ClaimStatus.ACCEPTED or claim.justification != justification):
            claim.justification = justification
            claim.status = ClaimStatus.PENDING
            claim.decided_by = None
            claim.decided_at = None
            claim.save()


def _check_claims_decided(resource: Resource, items: list[dict[str, Any]]) -> None:
    concept_ids = {c.pk for c in single_source_overlaps(provider=resource.provider, items=items)}
    claims = list(resource.source_claims.filter(concept_id__in=concept_ids))
    if len(claims) < len(concept_ids) or any(c.status == ClaimStatus.PENDING for c in claims):
        raise Conflict(CatalogError.SINGLE_SOURCE_UNDECIDED, _("请先审核该资源的一数一源重复说明。"))
    if any(c.status == ClaimStatus.REJECTED for c in claims):
        raise Conflict(
            CatalogError.SINGLE_SOURCE_REJECTED, _("一数一源重复说明未获同意，只能退回，不能发布。")
        )


@transaction.atomic
def concept_create(
    *,
    by: Any,
    name: str,
    unit: Unit,
    identifier_kind: str = "",
    item_names: list[str] | None = None,
    description: str = "",
) -> AuthoritativeConcept:
    """The center designates ``unit`` as the authoritative source of a concept (S§20)."""
    _require(permissions.can_manage_concepts(by))
    concept = AuthoritativeConcept(
        name=name,
        unit=unit,
        identifier_kind=identifier_kind or "",
        item_names=list(item_names or []),
        description=description,
        created_by=by,
    )
    if not concept.identifier_kind and not concept.item_names:
        raise Invalid(CatalogError.INVALID, _("请至少指定标识类型或一个信息项名称。"))
    try:
        concept.full_clean()
    except ValidationError as exc:
        from core.errors import from_validation_error

        raise from_validation_error(exc, CatalogError.INVALID)
    concept.save()
    audit.record(action="catalog.concept.create", actor=by, target=concept, details={"unit": unit.pk})
    return concept


@transaction.atomic
def single_source_claim_decide(
    *, claim: SingleSourceClaim, by: Any, accept: bool, note: str = ""
) -> SingleSourceClaim:
    """The center accepts or rejects a unit's reason for duplicating an authoritative concept
    (S§26); the decision is recorded."""
    _require(permissions.can_manage_concepts(by))
    claim = SingleSourceClaim.objects.select_for_update().get(pk=claim.pk)
    if not accept and not note.strip():
        raise Invalid(CatalogError.REASON_REQUIRED, _("不同意时须填写理由。"))
    claim.status = ClaimStatus.ACCEPTED if accept else ClaimStatus.REJECTED
    claim.decided_by = by
    claim.decided_at = timezone.now()
    claim.decision_note = note
    claim.save()
    audit.record(
        action="catalog.single_source_claim.decide",
        actor=by,
        target=claim,
        details={"accept": accept, "resource": claim.resource_id, "concept": claim.concept_id},
        note=note,
    )
    return claim


# --- workflow of a resource -----------------------------------------------------------------


@transaction.atomic
def resource_submit(*, resource: Resource, by: Any, justification: str = "") -> Resource:
    """The registrar sends a draft to the unit's secrecy review (S§37). Items duplicating
    another unit's authoritative concept need a justification (S§20)."""
    resource = _lock(resource)
    _require(permissions.can_register(by, resource.provider))
    resource.status = next_status(resource.status, Action.SUBMIT)
    snapshot = resource_snapshot(resource)
    _validate(
        fields={f: snapshot[f] for f in RESOURCE_FIELDS}, items=snapshot["items"], provider=resource.provider
    )
    _record_claims(subject=resource, items=snapshot["items"], justification=justification)
    resource.return_reason = ""
    resource.save()
    audit.record(action="catalog.resource.submit", actor=by, target=resource)
    notify(
        event="catalog.resource.secrecy_review",
        title=_("信息资源待保密审查：%(name)s") % {"name": resource.name},
        url=f"/catalog/resources/{resource.pk}/",
        roles=[Role.DATA_OFFICER, Role.UNIT_ADMIN],
        unit=resource.provider,
    )
    return resource


@transaction.atomic
def resource_secrecy_confirm(
    *, resource: Resource, by: Any, no_state_secrets: bool, note: str = ""
) -> Resource:
    """S§37: the unit confirms the entry holds no state secrets; it goes to the center and the
    review clock starts (Rule.CATALOG_REVIEW)."""
    resource = _lock(resource)
    _require(permissions.can_secrecy_review(by, resource.provider))
    resource.status = next_status(resource.status, Action.SECRECY_CONFIRM)
    if resource.is_classified:
        raise Invalid(CatalogError.CLASSIFIED, _("涉密资源不得在共享平台登记（S§37）。"))
    if not no_state_secrets:
        raise Invalid(CatalogError.SECRECY_NOT_CONFIRMED, _("须确认该资源不涉及国家秘密（S§37）。"))
    now = timezone.now()
    resource.secrecy_reviewed_by = by
    resource.secrecy_reviewed_at = now
    resource.submitted_at = now
    resource.save()
    deadlines.start(target=resource, rule=Rule.CATALOG_REVIEW, responsible_unit=_center_unit())
    audit.record(action="catalog.resource.secrecy_confirm", actor=by, target=resource, note=note)
    notify(
        event="catalog.resource.submitted",
        title=_("信息资源待审核：%(name)s") % {"name": resource.name},
        url=f"/catalog/resources/{resource.pk}/",
        roles=[Role.CENTER_REVIEWER, Role.CENTER_ADMIN],
    )
    return resource


@transaction.atomic
def resource_secrecy_reject(*, resource: Resource, by: Any, reason: str) -> Resource:
    """The unit's secrecy review refuses the entry; it goes back to the registrar."""
    resource = _lock(resource)
    _require(permissions.can_secrecy_review(by, resource.provider))
    resource.status = next_status(resource.status, Action.SECRECY_REJECT)
    if not (reason or "").strip():
        raise Invalid(CatalogError.REASON_REQUIRED, _("退回须填写理由。"))
    resource.return_reason = reason
    resource.save()
    audit.record(action="catalog.resource.secrecy_reject", actor=by, target=resource, note=reason)
    return resource


def _assign_code(resource: Resource) -> str:
    """``CC`` classification + provider ``Unit.code`` + 5-digit sequence per prefix.

    The sequence row is locked (``select_for_update``) so concurrent publications of the
    same unit and classification get different numbers; the unique column is the backstop.
    """
    unit_code = (resource.provider.code or "").strip()
    if not unit_code:
        raise Invalid(CatalogError.UNIT_CODE_MISSING, _("提供单位未设置单位代码，无法生成信息资源代码。"))
    prefix = f"{resource.classification}{unit_code}"
    try:
        with transaction.atomic():
            ResourceCodeSequence.objects.get_or_create(prefix=prefix)
    except IntegrityError:
        pass
    seq = ResourceCodeSequence.objects.select_for_update().get(prefix=prefix)
    while True:
        seq.last += 1
        code = f"{prefix}{seq.last:0{CODE_SEQUENCE_DIGITS}d}"
        if not Resource.objects.filter(code=code).exists():
            break
    seq.save(update_fields=["last"])
    return code


def _publish_version(
    resource: Resource, *, by: Any, reason: str = "", version: ResourceVersion | None = None
) -> ResourceVersion:
    previous = resource.versions.filter(status=ChangeStatus.PUBLISHED).order_by("-number").first()
    snapshot = resource_snapshot(resource)
    diff = snapshot_diff(previous.snapshot if previous else {}, snapshot) if previous else {}
    resource.version += 1
    version = version or ResourceVersion(resource=resource, created_by=by, reason=reason)
    version.number = resource.version
    version.status = ChangeStatus.PUBLISHED
    version.snapshot = snapshot
    version.diff = diff
    version.reviewed_by = by
    version.published_at = timezone.now()
    version.save()
    return version


@transaction.atomic
def resource_approve(
    *, resource: Resource, by: Any, confirm_legal_basis: bool = False, note: str = ""
) -> Resource:
    """S§15: the center publishes a submitted resource (code assigned at first publication).
    A not-shared resource needs the center's explicit confirmation of its legal basis (S§14)."""
    resource = _lock(resource)
    _require(permissions.can_review(by))
    resource.status = next_status(resource.status, Action.APPROVE)
    if resource.is_classified:
        raise Invalid(CatalogError.CLASSIFIED, _("涉密资源不得在共享平台登记（S§37）。"))
    now = timezone.now()
    if resource.sharing_type == SharingType.NOT_SHARED:
        if not confirm_legal_basis:
            raise Invalid(
                CatalogError.LEGAL_BASIS_NOT_CONFIRMED,
                _("不予共享的资源须由中心确认其法律法规依据后方可发布（S§14）。"),
            )
        resource.basis_confirmed_by = by
        resource.basis_confirmed_at = now
    snapshot = resource_snapshot(resource)
    _check_claims_decided(resource, snapshot["items"])
    if not resource.code:
        resource.code = _assign_code(resource)
    resource.reviewed_by = by
    resource.reviewed_at = now
    resource.first_published_at = resource.first_published_at or now
    resource.return_reason = ""
    version = _publish_version(resource, by=by, reason=note)
    resource.save()
    deadlines.meet(target=resource, rule=Rule.CATALOG_REVIEW)
    search.index_resource(resource)
    audit.record(
        action="catalog.resource.publish",
        actor=by,
        target=resource,
        details={
            "code": resource.code,
            "version": version.number,
            "legal_basis_confirmed": confirm_legal_basis,
        },
        note=note,
    )
    notify(
        event="catalog.resource.published",
        title=_("信息资源已发布：%(name)s") % {"name": resource.name},
        url=f"/catalog/resources/{resource.pk}/",
        roles=[Role.DATA_OFFICER],
        unit=resource.provider,
    )
    return resource


@transaction.atomic
def resource_return(*, resource: Resource, by: Any, reason: str) -> Resource:
    """The center returns a submitted resource with reasons (S§15)."""
    resource = _lock(resource)
    _require(permissions.can_review(by))
    resource.status = next_status(resource.status, Action.RETURN)
    if not (reason or "").strip():
        raise Invalid(CatalogError.REASON_REQUIRED, _("退回须填写理由。"))
    resource.return_reason = reason
    resource.reviewed_by = by
    resource.reviewed_at = timezone.now()
    resource.save()
    deadlines.meet(target=resource, rule=Rule.CATALOG_REVIEW)
    audit.record(action="catalog.resource.return", actor=by, target=resource, note=reason)
    notify(
        event="catalog.resource.returned",
        title=_("信息资源被退回：%(name)s") % {"name": resource.name},
        body=reason,
        url=f"/catalog/resources/{resource.pk}/",
        roles=[Role.DATA_OFFICER],
        unit=resource.provider,
    )
    return resource


@transaction.atomic
def resource_withdraw(*, resource: Resource, by: Any, reason: str) -> Resource:
    """A published resource is withdrawn from the catalog, with a reason; consumers are told."""
    resource = _lock(resource)
    _require(permissions.can_withdraw(by, resource.provider))
    resource.status = next_status(resource.status, Action.WITHDRAW)
    if not (reason or "").strip():
        raise Invalid(CatalogError.REASON_REQUIRED, _("撤销须填写理由。"))
    resource.withdrawn_reason = reason
    resource.withdrawn_at = timezone.now()
    resource.save()
    resource.versions.filter(status__in=OPEN_CHANGE_STATUSES).update(status=ChangeStatus.CANCELLED)
    audit.record(action="catalog.resource.withdraw", actor=by, target=resource, note=reason)
    notify(
        event="catalog.resource.withdrawn",
        title=_("信息资源已撤销：%(name)s") % {"name": resource.name},
        body=reason,
        url=f"/catalog/resources/{resource.pk}/",
        users=resource_consumers(resource),
        roles=[Role.DATA_OFFICER],
        unit=resource.provider,
    )
    return resource


# --- changes to published resources (new versions, same review) ----------------------------


def _lock_change(change: ResourceVersion) -> ResourceVersion:
    try:
        return (
            ResourceVersion.objects.select_for_update().select_related("resource__provider").get(pk=change.pk)
        )
    except ResourceVersion.DoesNotExist:
        raise NotFound(CatalogError.NOT_FOUND, _("变更不存在。"))


@transaction.atomic
def resource_change_propose(
    *,
    resource: Resource,
    by: Any,
    fields: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
    reason: str = "",
) -> ResourceVersion:
    """Propose a change to a published resource (S§16; S§30 not shared → shared goes this way).

    Creates (or edits, while still a draft/returned) the one open change of the resource; the
    published entry stays as it is until the center approves the change.
    """
    resource = _lock(resource)
    _require(permissions.can_register(by, resource.provider))
    if resource.status != ResourceStatus.PUBLISHED:
        raise Conflict(CatalogError.NOT_PUBLISHED, _("只有已发布的资源可以提出变更。"))
    fields = _clean_fields(fields)
    change = resource.versions.filter(status__in=OPEN_CHANGE_STATUSES).first()
    if change and change.status not in EDITABLE:
        raise Conflict(CatalogError.CHANGE_OPEN, _("该资源已有一项审核中的变更。"))
    base = change.snapshot if change else resource_snapshot(resource)
    snapshot = {**base, **fields, "items": base["items"] if items is None else items}
    _validate(
        fields={f: snapshot[f] for f in RESOURCE_FIELDS}, items=snapshot["items"], provider=resource.provider
    )
    if change is None:
        change = ResourceVersion(resource=resource, created_by=by)
    change.snapshot = snapshot
    change.diff = snapshot_diff(resource_snapshot(resource), snapshot)
    change.reason = reason or change.reason
    change.save()
    audit.record(
        action="catalog.resource_change.propose",
        actor=by,
        target=resource,
        details={"change": change.pk, **change.diff},
    )
    return change


@transaction.atomic
def resource_change_submit(*, change: ResourceVersion, by: Any, justification: str = "") -> ResourceVersion:
    """Send a proposed change to the unit's secrecy review (S§37)."""
    change = _lock_change(change)
    resource = change.resource
    _require(permissions.can_register(by, resource.provider))
    change.status = next_status(change.status, Action.SUBMIT)
    _record_claims(subject=resource, items=change.snapshot["items"], justification=justification)
    change.return_reason = ""
    change.save()
    audit.record(
        action="catalog.resource_change.submit", actor=by, target=resource, details={"change": change.pk}
    )
    return change


@transaction.atomic
def resource_change_secrecy_confirm(
    *, change: ResourceVersion, by: Any, no_state_secrets: bool
) -> ResourceVersion:
    """S§37 for a change; then the center's review clock starts."""
    change = _lock_change(change)
    resource = change.resource
    _require(permissions.can_secrecy_review(by, resource.provider))
    change.status = next_status(change.status, Action.SECRECY_CONFIRM)
    if change.snapshot.get("is_classified"):
        raise Invalid(CatalogError.CLASSIFIED, _("涉密资源不得在共享平台登记（S§37）。"))
    if not no_state_secrets:
        raise Invalid(CatalogError.SECRECY_NOT_CONFIRMED, _("须确认该资源不涉及国家秘密（S§37）。"))
    change.secrecy_reviewed_by = by
    change.save()
    deadlines.start(target=change, rule=Rule.CATALOG_REVIEW, responsible_unit=_center_unit())
    audit.record(
        action="catalog.resource_change.secrecy_confirm",
        actor=by,
        target=resource,
        details={"change": change.pk},
    )
    notify(
        event="catalog.resource_change.submitted",
        title=_("信息资源变更待审核：%(name)s") % {"name": resource.name},
        url=f"/catalog/resources/{resource.pk}/",
        roles=[Role.CENTER_REVIEWER, Role.CENTER_ADMIN],
    )
    return change


@transaction.atomic
def resource_change_approve(
    *, change: ResourceVersion, by: Any, confirm_legal_basis: bool = False, note: str = ""
) -> ResourceVersion:
    """The center approves a change: it becomes the next published version (snapshot + diff);
    consumers are notified when data items changed (S§25)."""
    change = _lock_change(change)
    resource = _lock(change.resource)
    _require(permissions.can_review(by))
    change.status = next_status(change.status, Action.APPROVE)
    snapshot = change.snapshot
    now = timezone.now()
    becomes_not_shared = snapshot.get("sharing_type") == SharingType.NOT_SHARED
    basis_changed = snapshot.get("not_shared_basis") != resource.not_shared_basis
    if becomes_not_shared and (basis_changed or resource.sharing_type != SharingType.NOT_SHARED):
        if not confirm_legal_basis:
            raise Invalid(
                CatalogError.LEGAL_BASIS_NOT_CONFIRMED,
                _("不予共享的资源须由中心确认其法律法规依据后方可发布（S§14）。"),
            )
        resource.basis_confirmed_by = by
        resource.basis_confirmed_at = now
    elif not becomes_not_shared:
        # S§30: shared again — the old confirmation of a basis no longer applies.
        resource.basis_confirmed_by = None
        resource.basis_confirmed_at = None
    _check_claims_decided(resource, snapshot["items"])
    previous = resource_snapshot(resource)
    for f in RESOURCE_FIELDS:
        setattr(resource, f, snapshot[f])
    _write_items(resource, snapshot["items"])
    resource.reviewed_by = by
    resource.reviewed_at = now
    change.reason = change.reason or note
    version = _publish_version(resource, by=by, version=change)
    resource.save()
    deadlines.meet(target=change, rule=Rule.CATALOG_REVIEW)
    search.index_resource(resource)
    diff = snapshot_diff(previous, version.snapshot)
    audit.record(
        action="catalog.resource_change.publish",
        actor=by,
        target=resource,
        details={"change": change.pk, "version": version.number, **diff},
        note=note,
    )
    if _items_changed(diff):
        notify(
            event="catalog.resource.items_changed",
            title=_("您使用的信息资源信息项已变更：%(name)s") % {"name": resource.name},
            url=f"/catalog/resources/{resource.pk}/",
            users=resource_consumers(resource),
        )
    notify(
        event="catalog.resource_change.published",
        title=_("信息资源变更已生效：%(name)s") % {"name": resource.name},
        url=f"/catalog/resources/{resource.pk}/",
        roles=[Role.DATA_OFFICER],
        unit=resource.provider,
    )
    return version


@transaction.atomic
def resource_change_return(*, change: ResourceVersion, by: Any, reason: str) -> ResourceVersion:
    """The center returns a change with reasons (center review) — or the unit's secrecy review
    refuses it; the published entry is untouched."""
    change = _lock_change(change)
    resource = change.resource
    if change.status == ChangeStatus.SECRECY_REVIEW:
        _require(permissions.can_secrecy_review(by, resource.provider))
        action = Action.SECRECY_REJECT
    else:
        _require(permissions.can_review(by))
        action = Action.RETURN
    change.status = next_status(change.status, action)
    if not (reason or "").strip():
        raise Invalid(CatalogError.REASON_REQUIRED, _("退回须填写理由。"))
    change.return_reason = reason
    change.save()
    if action == Action.RETURN:
        deadlines.meet(target=change, rule=Rule.CATALOG_REVIEW)
    audit.record(
        action="catalog.resource_change.return",
        actor=by,
        target=resource,
        details={"change": change.pk},
        note=reason,
    )
    return change


@transaction.atomic
def resource_change_cancel(*, change: ResourceVersion, by: Any) -> ResourceVersion:
    """The registrar abandons a draft or returned change."""
    change = _lock_change(change)
    _require(permissions.can_register(by, change.resource.provider))
    change.status = next_status(change.status, Action.CANCEL)
    change.save()
    audit.record(
        action="catalog.resource_change.cancel",
        actor=by,
        target=change.resource,
        details={"change": change.pk},
    )
    return change


# --- demand list (S§11) ---------------------------------------------------------------------


@transaction.atomic
def demand_create(*, by: Any, target: Unit, title: str, purpose: str, description: str = "") -> Demand:
    """A unit publishes a data need addressed to another unit (S§11); the answer clock starts."""
    _require(permissions.can_raise_demand(by))
    if target.pk == by.unit_id:
        raise Invalid(CatalogError.INVALID, _("不能向本单位提出数据需求。"))
    demand = Demand(
        requester=by.unit, target=target, title=title, purpose=purpose, description=description, created_by=by
    )
    try:
        demand.full_clean()
    except ValidationError as exc:
        from core.errors import from_validation_error

        raise from_validation_error(exc, CatalogError.INVALID)
    demand.save()
    deadlines.start(target=demand, rule=Rule.DEMAND_ANSWER, responsible_unit=target)
    audit.record(action="catalog.demand.create", actor=by, target=demand, details={"target": target.pk})
    notify(
        event="catalog.demand.created",
        title=_("收到数据需求：%(title)s") % {"title": title},
        url=f"/catalog/demands/{demand.pk}/",
        roles=[Role.DATA_OFFICER],
        unit=target,
    )
    return demand


@transaction.atomic
def demand_answer(*, demand: Demand, by: Any, resource: Resource | None = None, answer: str = "") -> Demand:
    """The named unit (or the center) answers a need by pointing to a resource (S§11)."""
    demand = Demand.objects.select_for_update().get(pk=demand.pk)
    _require(permissions.can_answer_demand(by, demand.target_id))
    if demand.status != DemandStatus.OPEN:
        raise Conflict(CatalogError.DEMAND_CLOSED, _("该需求已答复。"))
    if resource is None:
        raise Invalid(CatalogError.INVALID, _("请指定满足需求的信息资源。"))
    demand.status = DemandStatus.ANSWERED
    demand.resource = resource
    demand.answer = answer
    demand.answered_by = by
    demand.answered_at = timezone.now()
    demand.save()
    deadlines.meet(target=demand, rule=Rule.DEMAND_ANSWER)
    audit.record(action="catalog.demand.answer", actor=by, target=demand, details={"resource": resource.pk})
    notify(
        event="catalog.demand.answered",
        title=_("数据需求已答复：%(title)s") % {"title": demand.title},
        url=f"/catalog/demands/{demand.pk}/",
        roles=[Role.DATA_OFFICER],
        unit=demand.requester,
    )
    return demand


@transaction.atomic
def demand_refuse(*, demand: Demand, by: Any, reason: str) -> Demand:
    """The named unit (or the center) refuses a need, with reasons (S§11)."""
    demand = Demand.objects.select_for_update().get(pk=demand.pk)
    _require(permissions.can_answer_demand(by, demand.target_id))
    if demand.status != DemandStatus.OPEN:
        raise Conflict(CatalogError.DEMAND_CLOSED, _("该需求已答复。"))
    if not (reason or "").strip():
        raise Invalid(CatalogError.REASON_REQUIRED, _("不予满足须填写理由。"))
    demand.status = DemandStatus.REFUSED
    demand.answer = reason
    demand.answered_by = by
    demand.answered_at = timezone.now()
    demand.save()
    deadlines.meet(target=demand, rule=Rule.DEMAND_ANSWER)
    audit.record(action="catalog.demand.refuse", actor=by, target=demand, note=reason)
    notify(
        event="catalog.demand.refused",
        title=_("数据需求不予满足：%(title)s") % {"title": demand.title},
        body=reason,
        url=f"/catalog/demands/{demand.pk}/",
        roles=[Role.DATA_OFFICER],
        unit=demand.requester,
    )
    return demand


# --- yearly review (S§16) -------------------------------------------------------------------


@transaction.atomic
def review_campaign_open(*, by: Any, year: int, due_date: Any) -> ReviewCampaign:
    """The center opens the October review (S§16): every published resource of every unit must
    be confirmed or updated before ``due_date``."""
    _require(permissions.can_manage_campaign(by))
    if isinstance(due_date, str):
        try:
            due_date = dt.date.fromisoformat(due_date)
        except ValueError:
            raise Invalid(CatalogError.INVALID, _("截止日期格式应为 YYYY-MM-DD。"))
    if due_date.year != year:
        raise Invalid(CatalogError.INVALID, _("截止日期须在梳理年度内。"))
    if ReviewCampaign.objects.filter(year=year).exists():
        raise Conflict(CatalogError.CAMPAIGN_EXISTS, _("该年度的目录梳理已开启。"))
    campaign = ReviewCampaign.objects.create(year=year, due_date=due_date, opened_by=by)
    resources = Resource.objects.filter(status=ResourceStatus.PUBLISHED).only("pk", "provider_id")
    CampaignEntry.objects.bulk_create(
        [CampaignEntry(campaign=campaign, resource_id=r.pk, unit_id=r.provider_id) for r in resources]
    )
    audit.record(
        action="catalog.review_campaign.open", actor=by, target=campaign, details={"due": str(due_date)}
    )
    for unit_id in {r.provider_id for r in resources}:
        notify(
            event="catalog.review_campaign.opened",
            title=_("%(year)s 年度目录梳理已开启，请在 %(due)s 前完成") % {"year": year, "due": due_date},
            url=f"/catalog/campaigns/{campaign.pk}/",
            roles=[Role.DATA_OFFICER],
            unit=Unit.objects.get(pk=unit_id),
        )
    return campaign


@transaction.atomic
def review_entry_confirm(*, entry: CampaignEntry, by: Any) -> CampaignEntry:
    """The unit confirms one resource as still correct (or marks it updated when a change is
    open); S§16."""
    entry = CampaignEntry.objects.select_for_update().select_related("campaign", "resource").get(pk=entry.pk)
    _require(permissions.is_unit_officer(by, entry.unit_id))
    if entry.campaign.status != CampaignStatus.OPEN:
        raise Conflict(CatalogError.CAMPAIGN_CLOSED, _("该年度目录梳理已结束。"))
    has_change = entry.resource.versions.filter(status__in=OPEN_CHANGE_STATUSES).exists()
    entry.status = EntryStatus.UPDATED if has_change else EntryStatus.CONFIRMED
    entry.done_by = by
    entry.done_at = timezone.now()
    entry.save()
    Resource.objects.filter(pk=entry.resource_id).update(last_confirmed_at=entry.done_at)
    audit.record(
        action="catalog.review_entry.confirm",
        actor=by,
        target=entry.resource,
        details={"campaign": entry.campaign.year, "status": entry.status},
    )
    return entry


@transaction.atomic
def review_campaign_remind(*, campaign: ReviewCampaign, by: Any | None = None) -> int:
    """Remind every unit with pending entries (by the center, or the daily task); returns how
    many units were reminded."""
    if by is not None:
        _require(permissions.can_manage_campaign(by))
    unit_ids = set(
        CampaignEntry.objects.filter(campaign=campaign, status=EntryStatus.PENDING).values_list(
            "unit_id", flat=True
        )
    )
    for unit in Unit.objects.filter(pk__in=unit_ids):
        notify(
            event="catalog.review_campaign.reminder",
            title=_("请在 %(due)s 前完成 %(year)s 年度目录梳理")
            % {"due": campaign.due_date, "year": campaign.year},
            url=f"/catalog/campaigns/{campaign.pk}/",
            roles=[Role.DATA_OFFICER],
            unit=unit,
        )
    audit.record(
        action="catalog.review_campaign.remind",
        actor=by,
        target=campaign,
        details={"units": sorted(unit_ids)},
    )
    return len(unit_ids)


def review_campaign_overdue_units(*, campaign: ReviewCampaign, today: Any = None) -> list[Unit]:
    """Units that missed the deadline with pending entries — an input to the evaluation (S§38)."""
    today = today or timezone.localdate()
    if today <= campaign.due_date:
        return []
    ids = CampaignEntry.objects.filter(campaign=campaign, status=EntryStatus.PENDING).values_list(
        "unit_id", flat=True
    )
    return list(Unit.objects.filter(pk__in=set(ids)))


@transaction.atomic
def review_campaign_close(*, campaign: ReviewCampaign, by: Any) -> ReviewCampaign:
    _require(permissions.can_manage_campaign(by))
    campaign = ReviewCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.OPEN:
        raise Conflict(CatalogError.CAMPAIGN_CLOSED, _("该年度目录梳理已结束。"))
    campaign.status = CampaignStatus.CLOSED
    campaign.save()
    overdue = [u.pk for u in review_campaign_overdue_units(campaign=campaign)]
    audit.record(
        action="catalog.review_campaign.close", actor=by, target=campaign, details={"overdue_units": overdue}
    )
    return campaign


# --- project catalogs (S§42) ----------------------------------------------------------------


@transaction.atomic
def project_catalog_create(
    *,
    by: Any,
    name: str,
    project_code: str = "",
    app_system_name: str = "",
    planned: list[dict] | None = None,
) -> ProjectCatalog:
    """A unit pre-registers the resources a project will produce, before approval (S§42)."""
    _require(permissions.can_register(by, by.unit))
    if not (name or "").strip():
        raise Invalid(CatalogError.INVALID, _("请填写项目名称。"))
    project = ProjectCatalog.objects.create(
        unit=by.unit, name=name, project_code=project_code, app_system_name=app_system_name, created_by=by
    )
    for data in planned or []:
        _planned_add(project, data)
    audit.record(
        action="catalog.project.create", actor=by, target=project, details={"planned": len(planned or [])}
    )
    return project


def _planned_add(project: ProjectCatalog, data: dict) -> PlannedResource:
    item = PlannedResource(project=project, **data)
    try:
        item.full_clean()
    except ValidationError as exc:
        from core.errors import from_validation_error

        raise from_validation_error(exc, CatalogError.INVALID)
    item.save()
    return item


@transaction.atomic
def planned_resource_add(*, project: ProjectCatalog, by: Any, data: dict) -> PlannedResource:
    project = ProjectCatalog.objects.select_for_update().get(pk=project.pk)
    _require(permissions.can_register(by, project.unit_id))
    item = _planned_add(project, data)
    audit.record(action="catalog.project.planned_add", actor=by, target=project, details={"planned": item.pk})
    return item


@transaction.atomic
def planned_resource_link(*, planned: PlannedResource, by: Any, resource: Resource) -> PlannedResource:
    """Link a pre-registered entry to the registered resource of the same unit."""
    planned = PlannedResource.objects.select_for_update().select_related("project").get(pk=planned.pk)
    _require(permissions.can_register(by, planned.project.unit_id))
    if resource.provider_id != planned.project.unit_id:
        raise Invalid(CatalogError.INVALID, _("只能关联本单位登记的信息资源。"))
    planned.resource = resource
    planned.save()
    Resource.objects.filter(pk=resource.pk).update(project=planned.project)
    audit.record(
        action="catalog.project.planned_link",
        actor=by,
        target=planned.project,
        details={"planned": planned.pk, "resource": resource.pk},
    )
    return planned


def project_catalog_complete(*, project: ProjectCatalog) -> bool:
    """S§42: complete when every planned resource is linked to a published resource."""
    planned = list(project.planned.select_related("resource"))
    return bool(planned) and all(
        p.resource and p.resource.status == ResourceStatus.PUBLISHED for p in planned
    )


#: Days before a yearly review's due date on which the daily sweep reminds units (S§16).
CAMPAIGN_REMINDER_DAYS = (7, 3, 1)


def review_campaign_reminder_sweep(*, today: Any = None) -> int:
    """Daily task: remind units with pending entries 7, 3 and 1 days before the due date;
    returns how many units were reminded."""
    today = today or timezone.localdate()
    reminded = 0
    for campaign in ReviewCampaign.objects.filter(status=CampaignStatus.OPEN):
        if (campaign.due_date - today).days in CAMPAIGN_REMINDER_DAYS:
            reminded += review_campaign_remind(campaign=campaign)
    return reminded
