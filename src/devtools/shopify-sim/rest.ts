/**
 * REST-style JSON shapes used as webhook payloads (webhooks keep the REST resource format).
 * https://shopify.dev/docs/api/webhooks?reference=toml (topic payload examples)
 */
import { customerStats } from './customer-stats.ts';
import { gid, moneyString, restTime } from './format.ts';
import type { ShopState } from './shops.ts';
import type { AddressRec, CustomerRec, LineItemRec, OrderRec, ProductRec } from './types.ts';

function moneySet(cents: number, currency: string) {
  const m = { amount: moneyString(cents), currency_code: currency };
  return { shop_money: m, presentment_money: m };
}

function address(a: AddressRec | null) {
  if (!a) return null;
  return {
    first_name: a.firstName,
    last_name: a.lastName,
    name: `${a.firstName} ${a.lastName}`,
    address1: a.address1,
    address2: a.address2,
    city: a.city,
    province: a.province,
    province_code: a.provinceCode,
    country: a.country,
    country_code: a.countryCode,
    zip: a.zip,
    phone: a.phone,
    company: a.company,
  };
}

/** REST product, as in products/create and products/update payloads. */
export function productToRest(p: ProductRec) {
  return {
    id: p.id,
    title: p.title,
    body_html: p.descriptionHtml,
    vendor: p.vendor,
    product_type: p.productType,
    created_at: restTime(p.createdAt),
    handle: p.handle,
    updated_at: restTime(p.updatedAt),
    published_at: p.publishedAt === null ? null : restTime(p.publishedAt),
    template_suffix: null,
    published_scope: 'global',
    tags: p.tags.join(', '),
    status: p.status.toLowerCase(),
    admin_graphql_api_id: gid('Product', p.id),
    variants: p.variants.map((v) => ({
      id: v.id,
      product_id: p.id,
      title: v.title,
      price: moneyString(v.priceCents),
      sku: v.sku,
      position: v.position,
      inventory_policy: 'deny',
      compare_at_price: v.compareAtCents === null ? null : moneyString(v.compareAtCents),
      option1: v.optionValue,
      option2: null,
      option3: null,
      created_at: restTime(p.createdAt),
      updated_at: restTime(p.updatedAt),
      taxable: v.taxable,
      barcode: v.barcode,
      inventory_item_id: v.inventoryItemId,
      inventory_quantity: v.inventoryQuantity,
      admin_graphql_api_id: gid('ProductVariant', v.id),
    })),
    options: [
      {
        id: p.id,
        product_id: p.id,
        name: p.optionName,
        position: 1,
        values: p.variants.map((v) => v.optionValue),
      },
    ],
    images: p.images.map((img, i) => ({
      id: img.id,
      product_id: p.id,
      position: i + 1,
      alt: img.altText,
      width: img.width,
      height: img.height,
      src: img.url,
      admin_graphql_api_id: gid('ProductImage', img.id),
    })),
    image: p.images[0]
      ? { id: p.images[0].id, product_id: p.id, position: 1, alt: p.images[0].altText, src: p.images[0].url }
      : null,
  };
}

/** REST customer, as in customers/* payloads. */
export function customerToRest(c: CustomerRec, shop: ShopState) {
  const stats = customerStats(shop, c.id);
  return {
    id: c.id,
    email: c.email,
    created_at: restTime(c.createdAt),
    updated_at: restTime(c.updatedAt),
    first_name: c.firstName,
    last_name: c.lastName,
    state: c.state.toLowerCase(),
    note: c.note,
    verified_email: c.verifiedEmail,
    multipass_identifier: null,
    tax_exempt: c.taxExempt,
    phone: c.phone,
    tags: c.tags.join(', '),
    orders_count: stats.orders,
    total_spent: moneyString(stats.spentCents),
    currency: shop.currency,
    addresses: [{ id: c.id, customer_id: c.id, default: true, ...address(c.address) }],
    admin_graphql_api_id: gid('Customer', c.id),
    default_address: { id: c.id, customer_id: c.id, default: true, ...address(c.address) },
  };
}

function lineToRest(l: LineItemRec, currency: string) {
  return {
    id: l.id,
    admin_graphql_api_id: gid('LineItem', l.id),
    fulfillable_quantity: l.fulfillableQuantity,
    fulfillment_status: l.fulfillmentStatus,
    gift_card: false,
    grams: l.grams,
    name: l.variantTitle ? `${l.title} - ${l.variantTitle}` : l.title,
    price: moneyString(l.priceCents),
    price_set: moneySet(l.priceCents, currency),
    product_exists: l.productId !== null,
    product_id: l.productId,
    quantity: l.quantity,
    requires_shipping: l.requiresShipping,
    sku: l.sku,
    taxable: l.taxable,
    title: l.title,
    total_discount: moneyString(l.discountCents),
    total_discount_set: moneySet(l.discountCents, currency),
    variant_id: l.variantId,
    variant_title: l.variantTitle,
    vendor: l.vendor,
  };
}

/** REST order, as in orders/* payloads. */
export function orderToRest(o: OrderRec, customer: CustomerRec | null) {
  const cur = o.currency;
  return {
    id: o.id,
    admin_graphql_api_id: gid('Order', o.id),
    cancel_reason: o.cancelReason,
    cancelled_at: o.cancelledAt === null ? null : restTime(o.cancelledAt),
    closed_at: o.closedAt === null ? null : restTime(o.closedAt),
    confirmed: true,
    contact_email: o.email,
    created_at: restTime(o.createdAt),
    currency: cur,
    current_subtotal_price: moneyString(o.subtotalCents),
    current_total_price: moneyString(o.totalCents - o.refundedCents),
    current_total_tax: moneyString(o.taxCents),
    email: o.email,
    financial_status: o.financialStatus,
    fulfillment_status: o.fulfillmentStatus,
    name: o.name,
    note: o.note,
    number: o.orderNumber - 1000,
    order_number: o.orderNumber,
    phone: o.phone,
    presentment_currency: cur,
    processed_at: restTime(o.processedAt),
    source_name: o.sourceName,
    subtotal_price: moneyString(o.subtotalCents),
    subtotal_price_set: moneySet(o.subtotalCents, cur),
    tags: o.tags.join(', '),
    test: false,
    total_discounts: moneyString(o.discountCents),
    total_discounts_set: moneySet(o.discountCents, cur),
    total_line_items_price: moneyString(o.subtotalCents + o.discountCents),
    total_price: moneyString(o.totalCents),
    total_price_set: moneySet(o.totalCents, cur),
    total_shipping_price_set: moneySet(o.shippingCents, cur),
    total_tax: moneyString(o.taxCents),
    total_tax_set: moneySet(o.taxCents, cur),
    updated_at: restTime(o.updatedAt),
    billing_address: address(o.billingAddress),
    customer: customer
      ? {
          id: customer.id,
          email: customer.email,
          first_name: customer.firstName,
          last_name: customer.lastName,
          phone: customer.phone,
          admin_graphql_api_id: gid('Customer', customer.id),
        }
      : null,
    line_items: o.lineItems.map((l) => lineToRest(l, cur)),
    refunds: o.refundedCents
      ? [
          {
            id: o.transactions.find((t) => t.kind === 'refund')?.id ?? o.id,
            order_id: o.id,
            created_at: restTime(o.updatedAt),
            transactions: o.transactions
              .filter((t) => t.kind === 'refund')
              .map((t) => ({ id: t.id, kind: t.kind, amount: moneyString(t.amountCents), status: t.status })),
          },
        ]
      : [],
    shipping_address: address(o.shippingAddress),
  };
}

/** REST shop, as in the app/uninstalled and shop/update payloads. */
export function shopToRest(s: ShopState) {
  return {
    id: s.id,
    name: s.name,
    email: `owner@${s.domain}`,
    domain: s.domain,
    province: 'Oregon',
    country: 'US',
    address1: '1 Main St',
    zip: '97201',
    city: 'Portland',
    phone: null,
    created_at: restTime(s.createdAt),
    updated_at: restTime(s.createdAt),
    country_code: 'US',
    country_name: 'United States',
    currency: s.currency,
    customer_email: `owner@${s.domain}`,
    timezone: '(GMT+00:00) UTC',
    iana_timezone: 'UTC',
    shop_owner: 'Sim Owner',
    money_format: '$' + '{{amount}}',
    plan_name: s.plan === 'plus' ? 'shopify_plus' : s.plan === 'advanced' ? 'unlimited' : 'professional',
    plan_display_name: s.plan === 'plus' ? 'Shopify Plus' : s.plan === 'advanced' ? 'Advanced' : 'Shopify',
    myshopify_domain: s.domain,
  };
}
