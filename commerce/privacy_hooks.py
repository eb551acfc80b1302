"""How apps that keep personal data of their own (survey answers, profiles...) take part in the
platform's privacy requests without ``commerce`` importing them: they connect to
``customer_redacted`` and register an export section in their ``AppConfig.ready``."""

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

# Sent inside the redaction's transaction: sender=Shop, shop=<the Shop>, customer_ids=list[int].
customer_redacted = Signal()

ExportSection = Callable[[Any, Any], Any]  # (shop, customer) -> JSON-ready data
_export_sections: dict[str, ExportSection] = {}


def export_section(name: str, section: ExportSection) -> None:
    _export_sections[name] = section


def export_sections(*, shop: Any, customer: Any) -> dict[str, Any]:
    return {name: section(shop, customer) for name, section in sorted(_export_sections.items())}
