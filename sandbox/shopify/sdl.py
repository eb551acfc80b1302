"""The Admin API subset the sandbox serves, as SDL (names and shapes follow Shopify 2025-10)."""

from __future__ import annotations

CURRENCIES = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL "
    "GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JEP JMD JOD JPY KES KGS "
    "KHR KID KMF KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD MMK MNT MOP MRU "
    "MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD "
    "RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS SRD SSP STD STN SYP SZL THB TJS TMT TND TOP TRY "
    "TTD TWD TZS UAH UGX USD USDC UYU UZS VED VES VND VUV WST XAF XCD XOF XPF XXX YER ZAR ZMW"
).split()

COUNTRIES = (
    "AC AD AE AF AG AI AL AM AN AO AR AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR "
    "BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET FI FJ FK FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GW GY HK "
    "HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA "
    "LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MK ML MM MN MO MQ MR MS MT MU MV MW MX MY MZ "
    "NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PS PT PY QA RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TF TG TH TJ TK TL TM "
    "TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VN VU WF WS XK YE YT ZA ZM ZW ZZ"
).split()

#: WebhookSubscriptionTopic enum value -> REST topic name.
WEBHOOK_TOPICS = {
    "APP_UNINSTALLED": "app/uninstalled",
    "APP_SCOPES_UPDATE": "app/scopes_update",
    "APP_SUBSCRIPTIONS_UPDATE": "app_subscriptions/update",
    "BULK_OPERATIONS_FINISH": "bulk_operations/finish",
    "CUSTOMERS_CREATE": "customers/create",
    "CUSTOMERS_UPDATE": "customers/update",
    "CUSTOMERS_DELETE": "customers/delete",
    "CUSTOMERS_DISABLE": "customers/disable",
    "CUSTOMERS_ENABLE": "customers/enable",
    "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE": "customers_email_marketing_consent/update",
    "CUSTOMERS_MARKETING_CONSENT_UPDATE": "customers_marketing_consent/update",
    "DISCOUNTS_CREATE": "discounts/create",
    "DISCOUNTS_DELETE": "discounts/delete",
    "DISCOUNTS_UPDATE": "discounts/update",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_CREATE": "orders/create",
    "ORDERS_DELETE": "orders/delete",
    "ORDERS_EDITED": "orders/edited",
    "ORDERS_FULFILLED": "orders/fulfilled",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "ORDERS_UPDATED": "orders/updated",
    "PRODUCTS_CREATE": "products/create",
    "PRODUCTS_DELETE": "products/delete",
    "PRODUCTS_UPDATE": "products/update",
    "REFUNDS_CREATE": "refunds/create",
    "SHOP_UPDATE": "shop/update",
}
TOPIC_ENUM = {v: k for k, v in WEBHOOK_TOPICS.items()}

_CONNECTIONS = (
    "Customer", "Product", "ProductVariant", "Order", "LineItem", "RefundLineItem",
    "RefundShippingLine", "WebhookSubscription", "DiscountRedeemCode", "DiscountCodeNode",
)

_PAGE_ARGS = "first: Int, after: String, last: Int, before: String, reverse: Boolean = false"


def _connection(name: str) -> str:
    return f"""
type {name}Connection {{
  edges: [{name}Edge!]!
  nodes: [{name}!]!
  pageInfo: PageInfo!
}}
type {name}Edge {{
  cursor: String!
  node: {name}!
}}
"""


SDL = (
    f"""
scalar DateTime
scalar Date
scalar Decimal
scalar Money
scalar UnsignedInt64
scalar URL
scalar JSON
scalar HTML

enum CurrencyCode {{ {" ".join(CURRENCIES)} }}
enum CountryCode {{ {" ".join(COUNTRIES)} }}
enum WebhookSubscriptionTopic {{ {" ".join(WEBHOOK_TOPICS)} }}
"""
    + "".join(_connection(n) for n in _CONNECTIONS)
    + f"""
interface Node {{ id: ID! }}

type PageInfo {{
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}}

type Query {{
  shop: Shop!
  shopLocales(published: Boolean): [ShopLocale!]!
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  customer(id: ID!): Customer
  customers({_PAGE_ARGS}, query: String, sortKey: CustomerSortKeys = ID): CustomerConnection!
  product(id: ID!): Product
  products({_PAGE_ARGS}, query: String, sortKey: ProductSortKeys = ID): ProductConnection!
  productVariant(id: ID!): ProductVariant
  productVariants({_PAGE_ARGS}, query: String, sortKey: ProductVariantSortKeys = ID):
    ProductVariantConnection!
  order(id: ID!): Order
  orders({_PAGE_ARGS}, query: String, sortKey: OrderSortKeys = PROCESSED_AT): OrderConnection!
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
  webhookSubscription(id: ID!): WebhookSubscription
  webhookSubscriptions({_PAGE_ARGS}, topics: [WebhookSubscriptionTopic!], uri: String,
    callbackUrl: URL, format: WebhookSubscriptionFormat, query: String,
    sortKey: WebhookSubscriptionSortKeys = CREATED_AT): WebhookSubscriptionConnection!
  codeDiscountNode(id: ID!): DiscountCodeNode
  codeDiscountNodeByCode(code: String!): DiscountCodeNode
  codeDiscountNodes({_PAGE_ARGS}, query: String, sortKey: CodeDiscountSortKeys = ID):
    DiscountCodeNodeConnection!
  currentAppInstallation: AppInstallation!
}}

enum AppSubscriptionStatus {{ ACCEPTED ACTIVE CANCELLED DECLINED EXPIRED FROZEN PENDING }}
enum AppPricingInterval {{ ANNUAL EVERY_30_DAYS }}
enum AppSubscriptionReplacementBehavior {{ APPLY_IMMEDIATELY APPLY_ON_NEXT_BILLING_CYCLE STANDARD }}
type AppRecurringPricing {{ price: MoneyV2! interval: AppPricingInterval! }}
type AppPlanV2 {{ pricingDetails: AppRecurringPricing! }}
type AppSubscriptionLineItem {{ id: ID! plan: AppPlanV2! }}
type AppSubscription {{
  id: ID!
  name: String!
  status: AppSubscriptionStatus!
  test: Boolean!
  trialDays: Int!
  createdAt: DateTime!
  currentPeriodEnd: DateTime
  returnUrl: URL!
  lineItems: [AppSubscriptionLineItem!]!
}}
type AppInstallation {{ id: ID! launchUrl: URL! activeSubscriptions: [AppSubscription!]! }}
input MoneyInput {{ amount: Decimal! currencyCode: CurrencyCode! }}
input AppRecurringPricingInput {{ price: MoneyInput! interval: AppPricingInterval = EVERY_30_DAYS }}
input AppPlanInput {{ appRecurringPricingDetails: AppRecurringPricingInput }}
input AppSubscriptionLineItemInput {{ plan: AppPlanInput! }}
type AppSubscriptionCreatePayload {{
  appSubscription: AppSubscription
  confirmationUrl: URL
  userErrors: [UserError!]!
}}
type AppSubscriptionCancelPayload {{ appSubscription: AppSubscription userErrors: [UserError!]! }}

enum CustomerSortKeys {{ CREATED_AT ID LOCATION NAME RELEVANCE UPDATED_AT }}
enum ProductSortKeys {{
  CREATED_AT ID INVENTORY_TOTAL PRODUCT_TYPE PUBLISHED_AT RELEVANCE TITLE UPDATED_AT VENDOR
}}
enum ProductVariantSortKeys {{ ID INVENTORY_QUANTITY NAME POSITION RELEVANCE SKU TITLE }}
enum OrderSortKeys {{
  CREATED_AT CUSTOMER_NAME DESTINATION FINANCIAL_STATUS FULFILLMENT_STATUS ID ORDER_NUMBER
  PO_NUMBER PROCESSED_AT RELEVANCE TOTAL_ITEMS_QUANTITY TOTAL_PRICE UPDATED_AT
}}
enum WebhookSubscriptionSortKeys {{ CREATED_AT ID RELEVANCE }}
enum CodeDiscountSortKeys {{ CREATED_AT ENDS_AT ID RELEVANCE STARTS_AT TITLE UPDATED_AT }}
enum LineItemSortKeys {{ ID }}

type Shop implements Node {{
  id: ID!
  name: String!
  email: String!
  contactEmail: String!
  myshopifyDomain: String!
  url: URL!
  currencyCode: CurrencyCode!
  enabledPresentmentCurrencies: [CurrencyCode!]!
  ianaTimezone: String!
  timezoneAbbreviation: String!
  timezoneOffset: String!
  timezoneOffsetMinutes: Int!
  weightUnit: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  primaryDomain: Domain!
  plan: ShopPlan!
  taxesIncluded: Boolean!
  taxShipping: Boolean!
}}
type Domain {{ id: ID! host: String! url: URL! sslEnabled: Boolean! }}
type ShopPlan {{ displayName: String! partnerDevelopment: Boolean! shopifyPlus: Boolean! }}
type ShopLocale {{ locale: String! name: String! primary: Boolean! published: Boolean! }}

type MoneyV2 {{ amount: Decimal! currencyCode: CurrencyCode! }}
type MoneyBag {{ shopMoney: MoneyV2! presentmentMoney: MoneyV2! }}

enum CustomerState {{ DECLINED DISABLED ENABLED INVITED }}
enum CustomerEmailMarketingState {{
  INVALID NOT_SUBSCRIBED PENDING REDACTED SUBSCRIBED UNSUBSCRIBED
}}
enum CustomerSmsMarketingState {{ NOT_SUBSCRIBED PENDING REDACTED SUBSCRIBED UNSUBSCRIBED }}
enum CustomerMarketingOptInLevel {{ CONFIRMED_OPT_IN SINGLE_OPT_IN UNKNOWN }}
enum CustomerConsentCollectedFrom {{ OTHER SHOPIFY }}

type CustomerEmailMarketingConsentState {{
  marketingState: CustomerEmailMarketingState!
  marketingOptInLevel: CustomerMarketingOptInLevel
  consentUpdatedAt: DateTime
}}
type CustomerSmsMarketingConsentState {{
  marketingState: CustomerSmsMarketingState!
  marketingOptInLevel: CustomerMarketingOptInLevel!
  consentUpdatedAt: DateTime
  consentCollectedFrom: CustomerConsentCollectedFrom
}}
type CustomerEmailAddress {{
  emailAddress: String!
  marketingState: CustomerEmailMarketingState!
  marketingOptInLevel: CustomerMarketingOptInLevel
  marketingUpdatedAt: DateTime
}}
type CustomerPhoneNumber {{
  phoneNumber: String!
  marketingState: CustomerSmsMarketingState!
  marketingOptInLevel: CustomerMarketingOptInLevel
  marketingUpdatedAt: DateTime
  marketingCollectedFrom: CustomerConsentCollectedFrom
}}

type Metafield implements Node {{
  id: ID!
  namespace: String!
  key: String!
  value: String!
  type: String!
  jsonValue: JSON!
  createdAt: DateTime!
  updatedAt: DateTime!
}}

type MailingAddress implements Node {{
  id: ID!
  address1: String
  address2: String
  city: String
  company: String
  coordinatesValidated: Boolean!
  country: String
  countryCodeV2: CountryCode
  firstName: String
  formattedArea: String
  lastName: String
  latitude: Float
  longitude: Float
  name: String
  phone: String
  province: String
  provinceCode: String
  zip: String
}}

type Customer implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  firstName: String
  lastName: String
  displayName: String!
  email: String
  phone: String
  locale: String!
  tags: [String!]!
  note: String
  state: CustomerState!
  verifiedEmail: Boolean!
  taxExempt: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  numberOfOrders: UnsignedInt64!
  amountSpent: MoneyV2!
  lastOrder: Order
  emailMarketingConsent: CustomerEmailMarketingConsentState
  smsMarketingConsent: CustomerSmsMarketingConsentState
  defaultEmailAddress: CustomerEmailAddress
  defaultPhoneNumber: CustomerPhoneNumber
  defaultAddress: MailingAddress
  addresses(first: Int): [MailingAddress!]!
  metafield(namespace: String, key: String!): Metafield
  orders({_PAGE_ARGS}, query: String, sortKey: OrderSortKeys = ID): OrderConnection!
}}

type TaxonomyCategory implements Node {{ id: ID! name: String! fullName: String! }}
enum ProductStatus {{ ACTIVE ARCHIVED DRAFT }}

type Product implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  title: String!
  handle: String!
  description: String!
  descriptionHtml: HTML!
  productType: String!
  vendor: String!
  tags: [String!]!
  status: ProductStatus!
  createdAt: DateTime!
  updatedAt: DateTime!
  publishedAt: DateTime
  totalInventory: Int!
  category: TaxonomyCategory
  featuredImage: Image
  variants({_PAGE_ARGS}, sortKey: ProductVariantSortKeys = POSITION): ProductVariantConnection!
}}

type Image {{ url: URL! altText: String }}

type InventoryItem implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  sku: String
  tracked: Boolean!
  unitCost: MoneyV2
}}

type ProductVariant implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  title: String!
  displayName: String!
  sku: String
  barcode: String
  price: Money!
  compareAtPrice: Money
  position: Int!
  inventoryQuantity: Int
  createdAt: DateTime!
  updatedAt: DateTime!
  product: Product!
  inventoryItem: InventoryItem!
}}

enum OrderCancelReason {{ CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }}
enum OrderDisplayFinancialStatus {{
  AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED
}}
enum OrderDisplayFulfillmentStatus {{
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT REQUEST_DECLINED
  RESTOCKED SCHEDULED UNFULFILLED
}}

type TaxLine {{ title: String! rate: Float ratePercentage: Float priceSet: MoneyBag! }}
type ShippingLine {{ id: ID title: String! code: String originalPriceSet: MoneyBag!
  discountedPriceSet: MoneyBag! }}

type Order implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  name: String!
  email: String
  phone: String
  createdAt: DateTime!
  processedAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  closed: Boolean!
  closedAt: DateTime
  confirmed: Boolean!
  test: Boolean!
  currencyCode: CurrencyCode!
  presentmentCurrencyCode: CurrencyCode!
  customerLocale: String
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  fullyPaid: Boolean!
  discountCode: String
  discountCodes: [String!]!
  tags: [String!]!
  note: String
  sourceName: String
  customerAcceptsMarketing: Boolean!
  customer: Customer
  shippingAddress: MailingAddress
  billingAddress: MailingAddress
  subtotalLineItemsQuantity: Int!
  subtotalPriceSet: MoneyBag
  totalDiscountsSet: MoneyBag
  totalTaxSet: MoneyBag
  totalShippingPriceSet: MoneyBag!
  totalPriceSet: MoneyBag!
  totalRefundedSet: MoneyBag!
  totalRefundedShippingSet: MoneyBag!
  totalOutstandingSet: MoneyBag!
  totalReceivedSet: MoneyBag!
  netPaymentSet: MoneyBag!
  currentSubtotalPriceSet: MoneyBag!
  currentTotalPriceSet: MoneyBag!
  currentTotalDiscountsSet: MoneyBag!
  currentTotalTaxSet: MoneyBag!
  taxLines: [TaxLine!]!
  shippingLine: ShippingLine
  refunds(first: Int): [Refund!]!
  lineItems({_PAGE_ARGS}, sortKey: LineItemSortKeys = ID): LineItemConnection!
}}

type LineItem implements Node {{
  id: ID!
  title: String!
  name: String!
  variantTitle: String
  quantity: Int!
  currentQuantity: Int!
  refundableQuantity: Int!
  sku: String
  vendor: String
  variant: ProductVariant
  product: Product
  originalUnitPriceSet: MoneyBag!
  discountedUnitPriceSet: MoneyBag!
  originalTotalSet: MoneyBag!
  discountedTotalSet: MoneyBag!
  totalDiscountSet: MoneyBag!
  taxLines: [TaxLine!]!
}}

enum RefundLineItemRestockType {{ CANCEL LEGACY_RESTOCK NO_RESTOCK RETURN }}

type Refund implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  createdAt: DateTime
  updatedAt: DateTime!
  note: String
  order: Order!
  totalRefundedSet: MoneyBag!
  refundLineItems({_PAGE_ARGS}): RefundLineItemConnection!
  refundShippingLines({_PAGE_ARGS}): RefundShippingLineConnection!
}}
type RefundLineItem {{
  id: ID
  lineItem: LineItem!
  quantity: Int!
  restockType: RefundLineItemRestockType!
  restocked: Boolean!
  priceSet: MoneyBag!
  subtotalSet: MoneyBag!
  totalTaxSet: MoneyBag!
}}
type RefundShippingLine {{
  id: ID
  subtotalAmountSet: MoneyBag!
  taxAmountSet: MoneyBag!
}}

enum BulkOperationStatus {{ CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }}
enum BulkOperationErrorCode {{ ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }}
enum BulkOperationType {{ MUTATION QUERY }}
enum BulkOperationUserErrorCode {{
  INVALID OPERATION_IN_PROGRESS LIMIT_REACHED NO_SUCH_FILE
}}

type BulkOperation implements Node {{
  id: ID!
  status: BulkOperationStatus!
  errorCode: BulkOperationErrorCode
  createdAt: DateTime!
  completedAt: DateTime
  objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64
  url: URL
  partialDataUrl: URL
  query: String!
  type: BulkOperationType!
}}
type BulkOperationUserError {{
  field: [String!]
  message: String!
  code: BulkOperationUserErrorCode
}}
type BulkOperationRunQueryPayload {{
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}}
type BulkOperationCancelPayload {{
  bulkOperation: BulkOperation
  userErrors: [UserError!]!
}}

type UserError {{ field: [String!] message: String! }}

enum WebhookSubscriptionFormat {{ JSON XML }}
type ApiVersion {{ handle: String! displayName: String! supported: Boolean! }}
type WebhookHttpEndpoint {{ callbackUrl: URL! }}
union WebhookSubscriptionEndpoint = WebhookHttpEndpoint

type WebhookSubscription implements Node {{
  id: ID!
  legacyResourceId: UnsignedInt64!
  topic: WebhookSubscriptionTopic!
  uri: String!
  callbackUrl: URL!
  endpoint: WebhookSubscriptionEndpoint!
  format: WebhookSubscriptionFormat!
  includeFields: [String!]!
  metafieldNamespaces: [String!]!
  filter: String
  apiVersion: ApiVersion!
  createdAt: DateTime!
  updatedAt: DateTime!
}}
input WebhookSubscriptionInput {{
  uri: String
  callbackUrl: URL
  format: WebhookSubscriptionFormat
  includeFields: [String!]
  metafieldNamespaces: [String!]
  filter: String
}}
type WebhookSubscriptionCreatePayload {{
  webhookSubscription: WebhookSubscription
  userErrors: [UserError!]!
}}
type WebhookSubscriptionUpdatePayload {{
  webhookSubscription: WebhookSubscription
  userErrors: [UserError!]!
}}
type WebhookSubscriptionDeletePayload {{
  deletedWebhookSubscriptionId: ID
  userErrors: [UserError!]!
}}

enum DiscountStatus {{ ACTIVE EXPIRED SCHEDULED }}
enum DiscountClass {{ ORDER PRODUCT SHIPPING }}
enum DiscountErrorCode {{
  ACTIVE_PERIOD_OVERLAP BLANK CONFLICT DUPLICATE EQUAL_TO EXCEEDED_MAX GREATER_THAN
  GREATER_THAN_OR_EQUAL_TO IMPLICIT_DUPLICATE INCLUSION INTERNAL_ERROR INVALID
  INVALID_COMBINES_WITH_FOR_DISCOUNT_CLASS INVALID_DISCOUNT_CLASS_FOR_PRICE_RULE LESS_THAN
  LESS_THAN_OR_EQUAL_TO MAX_APP_DISCOUNTS MINIMUM_SUBTOTAL_AND_QUANTITY_RANGE_BOTH_PRESENT
  MISSING_ARGUMENT PRESENT TAKEN TOO_LONG TOO_MANY_ARGUMENTS TOO_SHORT VALUE_OUTSIDE_RANGE
}}
type DiscountUserError {{
  field: [String!]
  message: String!
  code: DiscountErrorCode
  extraInfo: String
}}
type DiscountCombinesWith {{
  orderDiscounts: Boolean!
  productDiscounts: Boolean!
  shippingDiscounts: Boolean!
}}
type DiscountRedeemCode {{ id: ID! code: String! asyncUsageCount: Int! }}
type Count {{ count: Int! precision: String! }}

type DiscountCodeBasic {{
  title: String!
  status: DiscountStatus!
  summary: String!
  startsAt: DateTime!
  endsAt: DateTime
  usageLimit: Int
  appliesOncePerCustomer: Boolean!
  asyncUsageCount: Int!
  createdAt: DateTime!
  updatedAt: DateTime!
  discountClass: DiscountClass!
  combinesWith: DiscountCombinesWith!
  codes({_PAGE_ARGS}): DiscountRedeemCodeConnection!
  codesCount: Count
}}
type DiscountCodeFreeShipping {{
  title: String!
  status: DiscountStatus!
  summary: String!
  startsAt: DateTime!
  endsAt: DateTime
  usageLimit: Int
  appliesOncePerCustomer: Boolean!
  asyncUsageCount: Int!
  createdAt: DateTime!
  updatedAt: DateTime!
  discountClass: DiscountClass!
  combinesWith: DiscountCombinesWith!
  codes({_PAGE_ARGS}): DiscountRedeemCodeConnection!
  codesCount: Count
}}
type DiscountCodeBxgy {{
  title: String!
  status: DiscountStatus!
  summary: String!
  startsAt: DateTime!
  endsAt: DateTime
  usageLimit: Int
  usesPerOrderLimit: Int
  appliesOncePerCustomer: Boolean!
  asyncUsageCount: Int!
  createdAt: DateTime!
  updatedAt: DateTime!
  discountClass: DiscountClass!
  combinesWith: DiscountCombinesWith!
  codes({_PAGE_ARGS}): DiscountRedeemCodeConnection!
  codesCount: Count
}}
union DiscountCode = DiscountCodeBasic | DiscountCodeBxgy | DiscountCodeFreeShipping
type DiscountCodeNode implements Node {{ id: ID! codeDiscount: DiscountCode! }}

input DiscountCustomersInput {{ add: [ID!] remove: [ID!] }}
input DiscountCustomerSegmentsInput {{ add: [ID!] remove: [ID!] }}
input DiscountCustomerSelectionInput {{
  all: Boolean
  customers: DiscountCustomersInput
  customerSegments: DiscountCustomerSegmentsInput
}}
enum DiscountBuyerSelection {{ ALL }}
input DiscountContextInput {{
  all: DiscountBuyerSelection
  customers: DiscountCustomersInput
  customerSegments: DiscountCustomerSegmentsInput
}}
input DiscountAmountInput {{ amount: Decimal appliesOnEachItem: Boolean }}
input DiscountEffectInput {{ percentage: Float amount: Decimal }}
input DiscountOnQuantityInput {{ quantity: UnsignedInt64 effect: DiscountEffectInput }}
input DiscountCustomerGetsValueInput {{
  percentage: Float
  discountAmount: DiscountAmountInput
  discountOnQuantity: DiscountOnQuantityInput
}}
input DiscountProductsInput {{
  productsToAdd: [ID!]
  productsToRemove: [ID!]
  productVariantsToAdd: [ID!]
  productVariantsToRemove: [ID!]
}}
input DiscountCollectionsInput {{ add: [ID!] remove: [ID!] }}
input DiscountItemsInput {{
  all: Boolean
  products: DiscountProductsInput
  collections: DiscountCollectionsInput
}}
input DiscountCustomerGetsInput {{
  value: DiscountCustomerGetsValueInput
  items: DiscountItemsInput
  appliesOnOneTimePurchase: Boolean
  appliesOnSubscription: Boolean
}}
input DiscountMinimumQuantityInput {{ greaterThanOrEqualToQuantity: UnsignedInt64 }}
input DiscountMinimumSubtotalInput {{ greaterThanOrEqualToSubtotal: Decimal }}
input DiscountMinimumRequirementInput {{
  quantity: DiscountMinimumQuantityInput
  subtotal: DiscountMinimumSubtotalInput
}}
input DiscountCombinesWithInput {{
  orderDiscounts: Boolean
  productDiscounts: Boolean
  shippingDiscounts: Boolean
}}
input DiscountCountriesInput {{ add: [CountryCode!] remove: [CountryCode!]
  includeRestOfWorld: Boolean }}
input DiscountShippingDestinationSelectionInput {{
  all: Boolean
  countries: DiscountCountriesInput
}}
input DiscountCustomerBuysValueInput {{ quantity: UnsignedInt64 amount: Decimal }}
input DiscountCustomerBuysInput {{
  value: DiscountCustomerBuysValueInput
  items: DiscountItemsInput
}}

input DiscountCodeBasicInput {{
  title: String
  code: String
  startsAt: DateTime
  endsAt: DateTime
  usageLimit: Int
  appliesOncePerCustomer: Boolean
  customerSelection: DiscountCustomerSelectionInput
  context: DiscountContextInput
  customerGets: DiscountCustomerGetsInput
  minimumRequirement: DiscountMinimumRequirementInput
  combinesWith: DiscountCombinesWithInput
  recurringCycleLimit: Int
}}
input DiscountCodeFreeShippingInput {{
  title: String
  code: String
  startsAt: DateTime
  endsAt: DateTime
  usageLimit: Int
  appliesOncePerCustomer: Boolean
  customerSelection: DiscountCustomerSelectionInput
  context: DiscountContextInput
  destination: DiscountShippingDestinationSelectionInput
  maximumShippingPrice: Decimal
  minimumRequirement: DiscountMinimumRequirementInput
  combinesWith: DiscountCombinesWithInput
  appliesOnOneTimePurchase: Boolean
  appliesOnSubscription: Boolean
  recurringCycleLimit: Int
}}
input DiscountCodeBxgyInput {{
  title: String
  code: String
  startsAt: DateTime
  endsAt: DateTime
  usageLimit: Int
  usesPerOrderLimit: Int
  appliesOncePerCustomer: Boolean
  customerSelection: DiscountCustomerSelectionInput
  context: DiscountContextInput
  customerBuys: DiscountCustomerBuysInput
  customerGets: DiscountCustomerGetsInput
  combinesWith: DiscountCombinesWithInput
}}
input CustomerEmailMarketingConsentInput {{
  marketingState: CustomerEmailMarketingState!
  marketingOptInLevel: CustomerMarketingOptInLevel
  consentUpdatedAt: DateTime
  sourceLocationId: ID
}}
input CustomerEmailMarketingConsentUpdateInput {{
  customerId: ID!
  emailMarketingConsent: CustomerEmailMarketingConsentInput!
}}
input CustomerSmsMarketingConsentInput {{
  marketingState: CustomerSmsMarketingState!
  marketingOptInLevel: CustomerMarketingOptInLevel!
  consentUpdatedAt: DateTime
  sourceLocationId: ID
}}
input CustomerSmsMarketingConsentUpdateInput {{
  customerId: ID!
  smsMarketingConsent: CustomerSmsMarketingConsentInput!
}}
enum CustomerEmailMarketingConsentUpdateUserErrorCode {{ INCLUSION INTERNAL_ERROR INVALID MISSING_ARGUMENT }}
type CustomerEmailMarketingConsentUpdateUserError {{
  field: [String!]
  message: String!
  code: CustomerEmailMarketingConsentUpdateUserErrorCode
}}
enum CustomerSmsMarketingConsentErrorErrorCode {{ INCLUSION INTERNAL_ERROR INVALID MISSING_ARGUMENT }}
type CustomerSmsMarketingConsentError {{
  field: [String!]
  message: String!
  code: CustomerSmsMarketingConsentErrorErrorCode
}}
type CustomerEmailMarketingConsentUpdatePayload {{
  customer: Customer
  userErrors: [CustomerEmailMarketingConsentUpdateUserError!]!
}}
type CustomerSmsMarketingConsentUpdatePayload {{
  customer: Customer
  userErrors: [CustomerSmsMarketingConsentError!]!
}}
type DiscountCodeBasicCreatePayload {{
  codeDiscountNode: DiscountCodeNode
  userErrors: [DiscountUserError!]!
}}
type DiscountCodeFreeShippingCreatePayload {{
  codeDiscountNode: DiscountCodeNode
  userErrors: [DiscountUserError!]!
}}
type DiscountCodeBxgyCreatePayload {{
  codeDiscountNode: DiscountCodeNode
  userErrors: [DiscountUserError!]!
}}
type DiscountCodeDeletePayload {{
  deletedCodeDiscountId: ID
  userErrors: [DiscountUserError!]!
}}

type Mutation {{
  bulkOperationRunQuery(query: String!, groupObjects: Boolean): BulkOperationRunQueryPayload
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!,
    webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionCreatePayload
  webhookSubscriptionUpdate(id: ID!, webhookSubscription: WebhookSubscriptionInput!):
    WebhookSubscriptionUpdatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
  discountCodeBasicCreate(basicCodeDiscount: DiscountCodeBasicInput!):
    DiscountCodeBasicCreatePayload
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: DiscountCodeFreeShippingInput!):
    DiscountCodeFreeShippingCreatePayload
  discountCodeBxgyCreate(bxgyCodeDiscount: DiscountCodeBxgyInput!): DiscountCodeBxgyCreatePayload
  discountCodeDelete(id: ID!): DiscountCodeDeletePayload
  customerEmailMarketingConsentUpdate(input: CustomerEmailMarketingConsentUpdateInput!):
    CustomerEmailMarketingConsentUpdatePayload
  customerSmsMarketingConsentUpdate(input: CustomerSmsMarketingConsentUpdateInput!):
    CustomerSmsMarketingConsentUpdatePayload
  appSubscriptionCreate(name: String!, lineItems: [AppSubscriptionLineItemInput!]!, returnUrl: URL!,
    test: Boolean, trialDays: Int, replacementBehavior: AppSubscriptionReplacementBehavior = STANDARD):
    AppSubscriptionCreatePayload
  appSubscriptionCancel(id: ID!, prorate: Boolean = false): AppSubscriptionCancelPayload
}}
"""
)
