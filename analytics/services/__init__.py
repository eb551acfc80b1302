"""Retention analytics: metric functions (each an SQL aggregation, explicit keyword arguments,
one shop), the report that assembles them, and the order import.

Analytics reads commerce, loyalty, campaigns and surveys; the only writes are its own settings
and the CSV import (which goes through ``commerce.services``).  The names re-exported here are the
stable interface for the dashboard, segments and the bench.
"""

from analytics.services.base import COUNTED_STATUSES, Period, counted_orders, customer_orders, money_orders
from analytics.services.cohorts import cohort_retention
from analytics.services.options import (
    ReportOptions,
    analytics_settings_get,
    analytics_settings_update,
    report_options,
)
from analytics.services.programs import campaign_return, loyalty_return, nps
from analytics.services.report import (
    active_customers_on_days,
    industry_context,
    report_json,
    report_table,
    retention_report,
    retention_report_for_pages,
    retention_report_from_rollups,
)
from analytics.services.retention import (
    active_customers,
    churn,
    customer_retention,
    loyal_base,
    new_customers,
    purchase_frequency,
    repeat_purchase_rate,
)
from analytics.services.rollups import rollups_refresh, rollups_state
from analytics.services.value import (
    average_order_value,
    clv_customer_summary,
    customer_lifetime_value,
    historic_clv,
    predicted_clv,
    profit_per_order,
)

__all__ = [
    "COUNTED_STATUSES",
    "Period",
    "ReportOptions",
    "active_customers",
    "active_customers_on_days",
    "analytics_settings_get",
    "analytics_settings_update",
    "average_order_value",
    "campaign_return",
    "churn",
    "clv_customer_summary",
    "cohort_retention",
    "counted_orders",
    "customer_lifetime_value",
    "customer_orders",
    "customer_retention",
    "historic_clv",
    "industry_context",
    "loyal_base",
    "loyalty_return",
    "money_orders",
    "new_customers",
    "nps",
    "predicted_clv",
    "profit_per_order",
    "purchase_frequency",
    "repeat_purchase_rate",
    "report_json",
    "report_options",
    "report_table",
    "retention_report",
    "retention_report_for_pages",
    "retention_report_from_rollups",
    "rollups_refresh",
    "rollups_state",
]
