"""The schema can be sharded by shop (e.g. Citus, distribution column ``shop_id``).

A distributed table's unique constraints must include the distribution column: PostgreSQL can
only check uniqueness within one shard.  So every tenant table (one with a ``shop`` foreign key)
carries ``shop`` in each of its unique constraints, and its lookup indexes lead with or include
it.  The few exceptions are named here with the reason and how those rows are routed instead;
README "Deployment -> Running on several nodes" says what else the distribution step does.
"""

from django.apps import apps
from django.db import models

from commerce.models import Shop

#: Tenant tables whose uniqueness is checked before the shop is known (or without it).  They stay
#: on the coordinator (a local table), not distributed by shop.
UNIQUE_EXCEPTIONS = {
    "integrations.WebhookDelivery": (
        "the inbox: a delivery is unique per (platform, delivery_id) and is stored before its "
        "shop is resolved (an unknown or uninstalled shop's delivery is stored too).  It stays a "
        "local table on the coordinator, where the ack path inserts; drainers route each "
        "delivery's writes to the shard of its shop (shop_id, set when resolved)."),
    "woocommerce_platform.WooConnection": (
        "a wc-auth handshake: WooCommerce posts the keys with only our state token, before any "
        "shop exists (shop is set once the keys are verified).  One row per connect, a handful "
        "per shop: a local (or reference) table on the coordinator."),
}

#: Indexes without the shop: for jobs that scan every shop at once (a beat task, a drainer), where
#: each shard has its part of the index and the scan runs on every shard; and one per-account
#: index.  Plain indexes need not include the distribution column; these are listed so that a new
#: one is a decision.
CROSS_SHOP_INDEXES = {
    ("commerce.DomainEvent", ("created_at",)): "the outbox's pending events, oldest first (the dispatcher's age check)",
    ("commerce.EventDelivery", ("next_attempt_at",)): "failed deliveries due for a retry (the beat, each minute)",
    ("campaigns.ScheduledStep", ("due_at",)): "pending campaign steps that are due (the scheduler, each minute)",
    ("loyalty.LedgerEntry", ("account", "available_at")): (
        "an account's balance: its readers (the widget, redemption, expiry) hold the account, which belongs to "
        "one shop; leading with the account keeps the index as narrow as those reads"),
    ("integrations.WebhookDelivery", ("shop_domain", "received_at")): "the inbox (a local table, see above)",
    ("integrations.WebhookDelivery", ("shop_domain", "event_id")): "the inbox (a local table, see above)",
    ("integrations.WebhookDelivery", ("id",)): "the inbox (a local table, see above)",
    ("integrations.WebhookDelivery", ("next_attempt_at",)): "the inbox (a local table, see above)",
    ("integrations.WebhookDelivery", ("received_at",)): "the inbox (a local table, see above)",
    ("woocommerce_platform.WooConnection", ("domain", "status")): "wc-auth handshakes (a local table, see above)",
}

#: Tables without a shop column whose rows belong to a tenant row.  Co-locating them with their
#: parent needs shop_id; they are small configuration tables, so they can be reference tables.
CHILDREN_WITHOUT_SHOP = {
    "campaigns.FlowStep": "a flow's steps (a few per flow): a reference table, or shop_id added at distribution",
}


def tenant_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if model is not Shop and shop_fields(model)]


def shop_fields(model: type[models.Model]) -> set[str]:
    return {field.name for field in model._meta.concrete_fields
            if isinstance(field, models.ForeignKey) and field.related_model is Shop}


def unique_problems(model: type[models.Model]) -> list[str]:
    """The model's unique rules that do not include its shop column."""
    shop = shop_fields(model)
    problems = [f"field {field.name} is unique on its own" for field in model._meta.concrete_fields
                if field.unique and not field.primary_key and field.name not in shop]
    problems += [f"unique_together {together}" for together in model._meta.unique_together
                 if not shop & set(together)]
    problems += [f"constraint {constraint.name} {constraint.fields or constraint.expressions}"
                 for constraint in model._meta.constraints
                 if isinstance(constraint, models.UniqueConstraint) and not shop & set(constraint.fields)]
    return problems


def index_problems(model: type[models.Model]) -> list[tuple[str, ...]]:
    shop = shop_fields(model)
    return [tuple(index.fields) for index in model._meta.indexes
            if not shop & {name.lstrip("-") for name in index.fields}]


def test_every_unique_rule_of_a_tenant_table_includes_the_shop():
    problems = {model._meta.label: unique_problems(model) for model in tenant_models()
                if model._meta.label not in UNIQUE_EXCEPTIONS}
    assert {label: found for label, found in problems.items() if found} == {}


def test_every_lookup_index_of_a_tenant_table_includes_the_shop():
    problems = [(model._meta.label, fields) for model in tenant_models() for fields in index_problems(model)
                if (model._meta.label, fields) not in CROSS_SHOP_INDEXES]
    assert problems == []


def test_the_exceptions_are_still_needed():
    """A table fixed later leaves the lists: each exception names a table (and index) that has it."""
    labels = {model._meta.label: model for model in tenant_models()}
    assert {label for label in UNIQUE_EXCEPTIONS if not unique_problems(labels[label])} == set()
    assert {(label, fields) for label, fields in CROSS_SHOP_INDEXES
            if fields not in index_problems(labels[label])} == set()
    assert all(len(reason) > 20 for reason in [*UNIQUE_EXCEPTIONS.values(), *CROSS_SHOP_INDEXES.values()])


def test_every_table_below_a_tenant_table_has_the_shop_or_is_listed():
    tenants = set(tenant_models())
    children = {model._meta.label for model in apps.get_models()
                if model is not Shop and model not in tenants
                and any(isinstance(field, models.ForeignKey) and field.related_model in tenants
                        for field in model._meta.concrete_fields)}
    assert children == set(CHILDREN_WITHOUT_SHOP)
