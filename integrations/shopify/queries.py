"""The GraphQL Admin API documents Comeback sends to Shopify.

These strings are the contract with Shopify (and with the local sandbox in
``sandbox/shopify``, which must answer every one of them).  Field names follow the
Admin API schema of ``version.API_VERSION``.  Node selections are shared between the paginated
reconciliation queries and the bulk-operation queries so both produce the same node shape for the normaliser.
"""

from integrations.shopify.version import API_VERSION as API_VERSION

MONEY = "shopMoney { amount currencyCode }"

CUSTOMER_FIELDS = """
id
firstName
lastName
email
phone
locale
tags
note
state
createdAt
updatedAt
emailMarketingConsent { marketingState consentUpdatedAt }
smsMarketingConsent { marketingState consentUpdatedAt }
birthDate: metafield(namespace: "facts", key: "birth_date") { value }
defaultAddress { countryCodeV2 provinceCode latitude longitude }
"""

VARIANT_FIELDS = """
id
title
sku
price
inventoryItem { unitCost { amount currencyCode } }
"""

PRODUCT_FIELDS = """
id
title
handle
featuredImage { url }
productType
vendor
tags
status
createdAt
updatedAt
category { name fullName }
"""

LINE_ITEM_FIELDS = f"""
id
title
quantity
sku
variant {{ id }}
product {{ id }}
originalUnitPriceSet {{ {MONEY} }}
totalDiscountSet {{ {MONEY} }}
"""

def _refund_fields(lines: int) -> str:
    return f"""
id
createdAt
note
totalRefundedSet {{ {MONEY} }}
refundShippingLines(first: 3) {{ nodes {{ subtotalAmountSet {{ {MONEY} }} }} }}
refundLineItems(first: {lines}) {{
  nodes {{ lineItem {{ id }} quantity subtotalSet {{ {MONEY} }} }}
}}
"""


def _order_fields(refund_lines: int) -> str:
    return f"""
id
name
email
phone
createdAt
processedAt
updatedAt
cancelledAt
cancelReason
closedAt
test
currencyCode
customerLocale
displayFinancialStatus
displayFulfillmentStatus
discountCodes
customer {{ id }}
shippingAddress {{ address1 address2 city zip countryCodeV2 }}
subtotalPriceSet {{ {MONEY} }}
totalDiscountsSet {{ {MONEY} }}
totalTaxSet {{ {MONEY} }}
totalShippingPriceSet {{ {MONEY} }}
totalPriceSet {{ {MONEY} }}
totalRefundedSet {{ {MONEY} }}
refunds {{ {_refund_fields(refund_lines)} }}
"""


# Refunds are a plain list inside an order, so their line items cannot be paged separately:
# the bulk query asks for all of them, the cost-capped page query for fewer.
ORDER_FIELDS = _order_fields(250)
ORDER_PAGE_FIELDS = _order_fields(25)

SHOP_QUERY = """
query ShopDetails {
  shop {
    id
    name
    email
    myshopifyDomain
    primaryDomain { url }
    currencyCode
    ianaTimezone
  }
  shopLocales { locale primary }
}
"""

# --- paginated queries (reconciliation) ------------------------------------------------------
# A single query may cost at most 1,000 points, and a connection costs about
# ``first × (cost of its node)``: nested connections are kept small and the page size per
# resource (``PAGE_SIZES``) keeps each request under the cap (customers: 2 + 150 × (1 + 4
# objects: two consents, the birthday metafield, the default address) = 752).  Orders with more
# line items than a page shows still arrive whole through webhooks and the bulk history sync.
PAGE_SIZES = {"customers": 150, "products": 10, "orders": 3}

CUSTOMERS_PAGE_QUERY = f"""
query CustomersPage($first: Int!, $after: String, $query: String) {{
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {CUSTOMER_FIELDS} }}
  }}
}}
"""

PRODUCTS_PAGE_QUERY = f"""
query ProductsPage($first: Int!, $after: String, $query: String) {{
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {PRODUCT_FIELDS}
      variants(first: 20) {{ nodes {{ {VARIANT_FIELDS} }} }}
    }}
  }}
}}
"""

ORDERS_PAGE_QUERY = f"""
query OrdersPage($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      {ORDER_PAGE_FIELDS}
      lineItems(first: 25) {{ nodes {{ {LINE_ITEM_FIELDS} }} }}
    }}
  }}
}}
"""

# --- bulk operations (history sync) ----------------------------------------------------------
# Inside a bulk query connections take no `first`; child nodes (variants, line items) come back
# as their own JSONL lines carrying `__parentId`.

BULK_CUSTOMERS = f"""
{{
  customers {{ edges {{ node {{ {CUSTOMER_FIELDS} }} }} }}
}}
"""

BULK_PRODUCTS = f"""
{{
  products {{
    edges {{
      node {{
        {PRODUCT_FIELDS}
        variants {{ edges {{ node {{ {VARIANT_FIELDS} }} }} }}
      }}
    }}
  }}
}}
"""

BULK_ORDERS = f"""
{{
  orders {{
    edges {{
      node {{
        {ORDER_FIELDS}
        lineItems {{ edges {{ node {{ {LINE_ITEM_FIELDS} }} }} }}
      }}
    }}
  }}
}}
"""

BULK_OPERATION_FIELDS = """
id
status
errorCode
createdAt
completedAt
objectCount
fileSize
url
partialDataUrl
"""

# groupObjects: each child line follows its parent (the default before 2026-01, opt-in after);
# the streaming parser in sync.py relies on it.
BULK_RUN_MUTATION = f"""
mutation BulkRun($query: String!) {{
  bulkOperationRunQuery(query: $query, groupObjects: true) {{
    bulkOperation {{ {BULK_OPERATION_FIELDS} }}
    userErrors {{ field message }}
  }}
}}
"""

BULK_STATUS_QUERY = f"""
query BulkStatus($id: ID!) {{
  node(id: $id) {{ ... on BulkOperation {{ {BULK_OPERATION_FIELDS} }} }}
}}
"""

CURRENT_BULK_QUERY = f"""
query CurrentBulk {{
  currentBulkOperation {{ {BULK_OPERATION_FIELDS} }}
}}
"""

# --- webhooks --------------------------------------------------------------------------------

WEBHOOK_SUBSCRIPTIONS_QUERY = """
query WebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}
"""

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

# --- discount codes (used by the loyalty program) --------------------------------------------

DISCOUNT_CODE_BASIC_CREATE = """
mutation DiscountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""

DISCOUNT_CODE_FREE_SHIPPING_CREATE = """
mutation DiscountCodeFreeShippingCreate($freeShippingCodeDiscount: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""

DISCOUNT_CODE_BXGY_CREATE = """
mutation DiscountCodeBxgyCreate($bxgyCodeDiscount: DiscountCodeBxgyInput!) {
  discountCodeBxgyCreate(bxgyCodeDiscount: $bxgyCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""

# Topics the app subscribes to through the API.  The privacy topics (customers/data_request,
# customers/redact, shop/redact) are configured on the app itself, not subscribed per shop.
WEBHOOK_TOPICS = {
    "orders/create": "ORDERS_CREATE",
    "orders/updated": "ORDERS_UPDATED",
    "orders/paid": "ORDERS_PAID",
    "orders/cancelled": "ORDERS_CANCELLED",
    "refunds/create": "REFUNDS_CREATE",
    "customers/create": "CUSTOMERS_CREATE",
    "customers/update": "CUSTOMERS_UPDATE",
    "customers/delete": "CUSTOMERS_DELETE",
    "products/create": "PRODUCTS_CREATE",
    "products/update": "PRODUCTS_UPDATE",
    "app/uninstalled": "APP_UNINSTALLED",
    "shop/update": "SHOP_UPDATE",
    "app_subscriptions/update": "APP_SUBSCRIPTIONS_UPDATE",
}
PRIVACY_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")

# --- marketing consent (an unsubscribe or STOP written back to the store) -----------------------

CUSTOMER_EMAIL_MARKETING_CONSENT_UPDATE = """
mutation CustomerEmailMarketingConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } }
    userErrors { field code message }
  }
}
"""

CUSTOMER_SMS_MARKETING_CONSENT_UPDATE = """
mutation CustomerSmsMarketingConsentUpdate($input: CustomerSmsMarketingConsentUpdateInput!) {
  customerSmsMarketingConsentUpdate(input: $input) {
    customer { id smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } }
    userErrors { field code message }
  }
}
"""
