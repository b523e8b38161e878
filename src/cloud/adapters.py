"""The cloud platform behind GovHub, reached through one small interface.

GovHub never records hoped-for resources: services store exactly what ``provision`` /
``resize`` return (host names, IPs, sizes). ``settings.GOVHUB_CLOUD_ADAPTER`` names the class
(default: the in-process platform used by the demo and the tests). An OpenStack adapter
(openstacksdk) implements the same three methods; see docs/cloud.md.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.db.models import Sum
from django.utils.module_loading import import_string


class AdapterError(Exception):
    """The platform refused or failed; nothing was provisioned (the adapter cleans up itself)."""


@dataclass(frozen=True)
class ProvisionedItem:
    """One resource as the platform reports it."""

    product_id: int
    external_id: str
    host_name: str
    ip: str | None
    vcpu: int = 0
    memory_gb: int = 0
    storage_gb: int = 0
    bandwidth_mbps: int = 0


@dataclass(frozen=True)
class LineSpec:
    """What to provision: ``quantity`` units of ``product`` (a CloudProduct)."""

    product: Any
    quantity: int


class CloudAdapter:
    """Interface of a cloud platform. All methods raise ``AdapterError`` on failure."""

    name: ClassVar[str] = "abstract"

    def provision(self, *, application: Any, lines: list[LineSpec]) -> list[ProvisionedItem]:
        raise NotImplementedError

    def resize(self, *, application: Any, current: list[Any], lines: list[LineSpec]) -> list[ProvisionedItem]:
        """Bring ``current`` (ProvisionedResource rows) to the configuration ``lines``; return the full new set."""
        raise NotImplementedError

    def release(self, *, application: Any, resources: list[Any]) -> list[str]:
        """Release the resources; return the external ids really released."""
        raise NotImplementedError


class InProcessAdapter(CloudAdapter):
    """A deterministic in-process platform for the demo and the tests.

    Capacity-aware: it refuses when its pools (the ResourcePool rows) cannot hold the request.
    Block storage is handed out in 10 GB steps, so what is stored can differ from what was
    asked — the stored sizes are this adapter's answer. ``fail_products`` (product codes) makes
    it fail on purpose, to test that nothing is recorded on failure.
    """

    name = "in-process"
    STORAGE_STEP_GB = 10
    fail_products: ClassVar[set[str]] = set()

    def _build(self, application: Any, lines: list[LineSpec]) -> list[ProvisionedItem]:
        items: list[ProvisionedItem] = []
        base = ipaddress.ip_address("10.20.0.0") + (application.pk % 200) * 256
        n = 0
        for line in lines:
            product = line.product
            if product.code in self.fail_products:
                raise AdapterError(f"platform error creating {product.code}")
            for i in range(line.quantity):
                n += 1
                storage = product.storage_gb
                if storage % self.STORAGE_STEP_GB:
                    storage += self.STORAGE_STEP_GB - storage % self.STORAGE_STEP_GB
                has_ip = product.kind in ("host", "database", "ip")
                items.append(
                    ProvisionedItem(
                        product_id=product.pk,
                        external_id=f"inproc-{application.pk}-{product.code}-{i + 1}",
                        host_name=f"{application.unit.code}-ys{application.pk}-{product.kind}{i + 1:02d}",
                        ip=str(base + n) if has_ip else None,
                        vcpu=product.vcpu,
                        memory_gb=product.memory_gb,
                        storage_gb=storage,
                        bandwidth_mbps=product.bandwidth_mbps,
                    )
                )
        return items

    def _check_capacity(self, items: list[ProvisionedItem], releasing: list[Any]) -> None:
        from cloud.models import Allocation, PoolKind, ResourcePool

        need = {
            PoolKind.COMPUTE: sum(i.vcpu for i in items),
            PoolKind.MEMORY: sum(i.memory_gb for i in items),
            PoolKind.STORAGE: sum(i.storage_gb for i in items),
            PoolKind.NETWORK: sum(i.bandwidth_mbps for i in items),
        }
        freed_ids = [r.pk for r in releasing]
        for kind, amount in need.items():
            if not amount:
                continue
            pools = ResourcePool.objects.filter(kind=kind, is_active=True)
            total = pools.aggregate(s=Sum("total"))["s"] or 0
            used = (
                Allocation.objects.filter(pool__in=pools, released_at__isnull=True)
                .exclude(resource_id__in=freed_ids)
                .aggregate(s=Sum("amount"))["s"]
                or 0
            )
            if used + amount > total:
                raise AdapterError(f"platform capacity exhausted: {kind}")

    def provision(self, *, application: Any, lines: list[LineSpec]) -> list[ProvisionedItem]:
        items = self._build(application, lines)
        self._check_capacity(items, releasing=[])
        return items

    def resize(self, *, application: Any, current: list[Any], lines: list[LineSpec]) -> list[ProvisionedItem]:
        items = self._build(application, lines)
        self._check_capacity(items, releasing=current)
        return items

    def release(self, *, application: Any, resources: list[Any]) -> list[str]:
        return [r.external_id for r in resources]


def get_adapter() -> CloudAdapter:
    path = getattr(settings, "GOVHUB_CLOUD_ADAPTER", "cloud.adapters.InProcessAdapter")
    return import_string(path)()
