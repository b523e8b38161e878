"""《数据资源服务托管协议》 (C§13) generated from a template with the application's data (DOCX)."""

from __future__ import annotations

import io

from django.utils import timezone

from cloud.models import CloudApplication


def agreement_number(application: CloudApplication) -> str:
    return f"TG-{timezone.localdate():%Y}-{application.pk:06d}"


def build_docx(application: CloudApplication) -> bytes:
    """The agreement as a Word document, filled with the unit, system and allocated resources."""
    from docx import Document  # python-docx

    system = application.system
    doc = Document()
    doc.add_heading("数据资源服务托管协议", level=0)
    doc.add_paragraph(f"申请编号：YS{application.pk:06d}")
    doc.add_paragraph("甲方（托管服务提供方）：芙蓉区数据资源中心")
    doc.add_paragraph(f"乙方（应用单位）：{application.unit.name}")
    doc.add_heading("一、托管对象", level=1)
    doc.add_paragraph(f"应用系统：{system.name}（等保{system.protection_level}级）")
    if system.filing_certificate_no:
        doc.add_paragraph(f"等保备案证明编号：{system.filing_certificate_no}")
    if application.trial_started_at:
        doc.add_paragraph(f"试运行开始日期：{timezone.localtime(application.trial_started_at):%Y年%m月%d日}")
    doc.add_heading("二、托管资源", level=1)
    table = doc.add_table(rows=1, cols=5)
    for cell, title in zip(
        table.rows[0].cells, ["资源", "平台编号", "IP", "规格", "单价（元/月）"], strict=True
    ):
        cell.text = title
    for res in application.provisioned.filter(released_at__isnull=True).select_related("product"):
        row = table.add_row().cells
        row[0].text = res.host_name
        row[1].text = res.external_id
        row[2].text = res.ip or "-"
        row[3].text = f"{res.vcpu}核/{res.memory_gb}GB/{res.storage_gb}GB/{res.bandwidth_mbps}Mbps"
        row[4].text = str(res.product.unit_price_month)
    doc.add_heading("三、双方责任", level=1)
    doc.add_paragraph(
        "甲方保障政务云 7×24 小时运行、数据备份与安全防护（C§26-27、C§33）；乙方对本单位应用系统的"
        "可用性与安全性负责（C§8、C§30），按规定接入统一认证平台（C§18）。"
    )
    doc.add_paragraph("本协议经双方签字盖章后生效，应用系统方可正式运行（C§13）。")
    doc.add_paragraph("甲方（盖章）：                    乙方（盖章）：")
    doc.add_paragraph("日期：                            日期：")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
