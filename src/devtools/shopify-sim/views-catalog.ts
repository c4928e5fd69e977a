/** GraphQL views of products, variants, images and inventory items (read by graphql-js and bulk export). */
import { getRecord } from './collection.ts';
import { type PageArgs, pageFromArray } from './connection.ts';
import type { Ctx } from './context.ts';
import { decimalString, gid, isoTime, moneyString } from './format.ts';
import { childIndex, recordIndex } from './ids.ts';
import type { ImageRec, ProductRec, VariantRec } from './types.ts';

/** A product's GraphQL view; the record loads lazily so `{ product { id } }` costs no generation. */
export class ProductView {
  readonly __typename = 'Product';
  private rec: ProductRec | null;
  readonly ctx: Ctx;
  readonly numericId: number;
  constructor(ctx: Ctx, numericId: number, rec: ProductRec | null = null) {
    this.ctx = ctx;
    this.numericId = numericId;
    this.rec = rec;
  }
  get r(): ProductRec {
    if (!this.rec) {
      const index = recordIndex('Product', this.ctx.shop.ctx.offset, this.numericId);
      const rec = getRecord(this.ctx.shop.products, index);
      if (!rec) throw new Error(`product ${this.numericId} vanished`);
      this.rec = rec;
    }
    return this.rec;
  }
  get id() {
    return gid('Product', this.numericId);
  }
  get legacyResourceId() {
    return String(this.numericId);
  }
  get title() {
    return this.r.title;
  }
  get handle() {
    return this.r.handle;
  }
  get description() {
    return this.r.descriptionHtml.replace(/<[^>]+>/g, '');
  }
  get descriptionHtml() {
    return this.r.descriptionHtml;
  }
  get vendor() {
    return this.r.vendor;
  }
  get productType() {
    return this.r.productType;
  }
  get status() {
    return this.r.status;
  }
  get tags() {
    return this.r.tags;
  }
  get createdAt() {
    return isoTime(this.r.createdAt);
  }
  get updatedAt() {
    return isoTime(this.r.updatedAt);
  }
  get publishedAt() {
    return this.r.publishedAt === null ? null : isoTime(this.r.publishedAt);
  }
  get totalInventory() {
    return this.r.variants.reduce((sum, v) => sum + v.inventoryQuantity, 0);
  }
  get tracksInventory() {
    return true;
  }
  get onlineStoreUrl() {
    return this.r.status === 'ACTIVE' ? `https://${this.ctx.shop.domain}/products/${this.r.handle}` : null;
  }
  options() {
    const r = this.r;
    return [
      {
        id: gid('ProductOption', r.id),
        name: r.optionName,
        position: 1,
        values: r.variants.map((v) => v.optionValue),
      },
    ];
  }
  get priceRangeV2() {
    const prices = this.r.variants.map((v) => v.priceCents);
    const currencyCode = this.ctx.shop.currency;
    return {
      minVariantPrice: { amount: decimalString(Math.min(...prices)), currencyCode },
      maxVariantPrice: { amount: decimalString(Math.max(...prices)), currencyCode },
    };
  }
  get featuredImage() {
    const img = this.r.images[0];
    return img ? new ImageView(img) : null;
  }
  images(args: PageArgs) {
    return pageFromArray(
      this.r.images,
      args,
      (i) => i.id,
      (i) => new ImageView(i),
    );
  }
  variants(args: PageArgs) {
    const r = this.r;
    return pageFromArray(
      r.variants,
      args,
      (v) => v.id,
      (v) => new VariantView(this.ctx, r, v),
    );
  }
  /** Bulk export iterates every child of a nested connection. */
  allVariants() {
    const r = this.r;
    return r.variants.map((v) => new VariantView(this.ctx, r, v));
  }
  allImages() {
    return this.r.images.map((i) => new ImageView(i));
  }
  get variantsCount() {
    return { count: this.r.variants.length, precision: 'EXACT' };
  }
}

/** An image's GraphQL view. */
export class ImageView {
  readonly __typename = 'Image';
  readonly img: ImageRec;
  constructor(img: ImageRec) {
    this.img = img;
  }
  get id() {
    return gid('ProductImage', this.img.id);
  }
  get url() {
    return this.img.url;
  }
  get altText() {
    return this.img.altText;
  }
  get width() {
    return this.img.width;
  }
  get height() {
    return this.img.height;
  }
}

/** A variant's GraphQL view. */
export class VariantView {
  readonly __typename = 'ProductVariant';
  readonly ctx: Ctx;
  readonly numericId: number;
  private loaded: { p: ProductRec; v: VariantRec } | null;
  constructor(ctx: Ctx, p: ProductRec | null, v: VariantRec | { id: number }) {
    this.ctx = ctx;
    this.numericId = v.id;
    this.loaded = p ? { p, v: v as VariantRec } : null;
  }
  /** Loaded on first use: an order line's `variant { id }` needs no product generated. */
  private get record() {
    if (!this.loaded) {
      const view = variantById(this.ctx, this.numericId);
      if (!view) throw new Error(`variant ${this.numericId} vanished`);
      this.loaded = { p: view.p, v: view.v };
    }
    return this.loaded;
  }
  get p(): ProductRec {
    return this.record.p;
  }
  get v(): VariantRec {
    return this.record.v;
  }
  get id() {
    return gid('ProductVariant', this.numericId);
  }
  get legacyResourceId() {
    return String(this.numericId);
  }
  get title() {
    return this.v.title;
  }
  get displayName() {
    return `${this.p.title} - ${this.v.title}`;
  }
  get sku() {
    return this.v.sku;
  }
  get barcode() {
    return this.v.barcode;
  }
  get price() {
    return moneyString(this.v.priceCents);
  }
  get compareAtPrice() {
    return this.v.compareAtCents === null ? null : moneyString(this.v.compareAtCents);
  }
  get position() {
    return this.v.position;
  }
  get inventoryQuantity() {
    return this.v.inventoryQuantity;
  }
  get availableForSale() {
    return this.p.status === 'ACTIVE' && this.v.inventoryQuantity > 0;
  }
  get taxable() {
    return this.v.taxable;
  }
  get selectedOptions() {
    return [{ name: this.p.optionName, value: this.v.optionValue }];
  }
  get inventoryItem() {
    return {
      __typename: 'InventoryItem',
      id: gid('InventoryItem', this.v.inventoryItemId),
      legacyResourceId: String(this.v.inventoryItemId),
      sku: this.v.sku,
      tracked: true,
      requiresShipping: true,
      createdAt: isoTime(this.p.createdAt),
      updatedAt: isoTime(this.p.updatedAt),
    };
  }
  get product() {
    return new ProductView(this.ctx, this.p.id, this.p);
  }
  get createdAt() {
    return isoTime(this.p.createdAt);
  }
  get updatedAt() {
    return isoTime(this.p.updatedAt);
  }
}

/** The variant view for a variant id, or null if it (or its product) does not exist. */
export function variantById(ctx: Ctx, numericId: number): VariantView | null {
  const at = childIndex('ProductVariant', ctx.shop.ctx.offset, numericId);
  if (!at) return null;
  const p = getRecord(ctx.shop.products, at.parentIndex);
  const v = p?.variants.find((x) => x.id === numericId);
  return p && v ? new VariantView(ctx, p, v) : null;
}

/** The product view for a product id, or null if it does not exist. */
export function productById(ctx: Ctx, numericId: number): ProductView | null {
  const index = recordIndex('Product', ctx.shop.ctx.offset, numericId);
  const rec = index < 0 ? null : getRecord(ctx.shop.products, index);
  return rec ? new ProductView(ctx, rec.id, rec) : null;
}
