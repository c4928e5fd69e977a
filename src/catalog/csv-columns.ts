import { z } from 'zod';
import { HANDLE, PRODUCT_STATUSES } from './api.ts';
import { decimalToMinor } from './money.ts';

/*
 * The columns of Shopify's product CSV (https://help.shopify.com/en/manual/products/import-export/using-csv)
 * as StoreOps reads and writes them, and the Zod rules one row's cells must meet. Export writes
 * `CSV_COLUMNS` in this order; import finds columns by name (case-insensitive, Shopify's newer
 * template names accepted too) and ignores columns it does not know.
 */

export const CSV_COLUMNS = [
  'Handle',
  'Title',
  'Body (HTML)',
  'Vendor',
  'Product Category',
  'Type',
  'Tags',
  'Published',
  'Option1 Name',
  'Option1 Value',
  'Option2 Name',
  'Option2 Value',
  'Option3 Name',
  'Option3 Value',
  'Variant SKU',
  'Variant Grams',
  'Variant Inventory Tracker',
  'Variant Inventory Qty',
  'Variant Inventory Policy',
  'Variant Price',
  'Variant Compare At Price',
  'Variant Barcode',
  'Image Src',
  'Image Position',
  'Image Alt Text',
  'SEO Title',
  'SEO Description',
  'Variant Weight Unit',
  'Status',
] as const;
export type Column = (typeof CSV_COLUMNS)[number];

/** Shopify's newer template names (and a few spellings) → the classic column. Keys lower-case. */
const ALIASES: Record<string, Column> = {
  'url handle': 'Handle',
  description: 'Body (HTML)',
  'body html': 'Body (HTML)',
  'product type': 'Type',
  'published on online store': 'Published',
  sku: 'Variant SKU',
  'weight value (grams)': 'Variant Grams',
  'inventory quantity': 'Variant Inventory Qty',
  'continue selling when out of stock': 'Variant Inventory Policy',
  price: 'Variant Price',
  'compare-at price': 'Variant Compare At Price',
  'compare at price': 'Variant Compare At Price',
  barcode: 'Variant Barcode',
  'product image url': 'Image Src',
};
const BY_NAME = new Map<string, Column>([
  ...CSV_COLUMNS.map((c) => [c.toLowerCase(), c] as [string, Column]),
  ...Object.entries(ALIASES),
]);

/** Where each known column is in a file's header; a column named twice is an error. */
export function mapHeader(header: string[]): { index: Map<Column, number>; duplicates: string[] } {
  const index = new Map<Column, number>();
  const duplicates: string[] = [];
  header.forEach((name, i) => {
    const column = BY_NAME.get(name.trim().toLowerCase());
    if (!column) return;
    if (index.has(column)) duplicates.push(name);
    else index.set(column, i);
  });
  return { index, duplicates };
}

/** Columns a variant row fills (a later row of a product with none of them is an image row). */
export const VARIANT_COLUMNS: readonly Column[] = [
  'Option1 Value',
  'Option2 Value',
  'Option3 Value',
  'Variant SKU',
  'Variant Grams',
  'Variant Inventory Qty',
  'Variant Inventory Policy',
  'Variant Price',
  'Variant Compare At Price',
  'Variant Barcode',
];

/** Cells of one row by column: undefined when the file lacks the column, '' when the cell is empty. */
export type Cells = Partial<Record<Column, string>>;

// Cell rules. Output: undefined = column absent (keep what is stored), null = empty cell.
const cell = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .transform((v) => v || null)
    .optional();
const upper = (values: readonly string[], message: string) =>
  z
    .string()
    .transform((v) => v.toLowerCase())
    .refine((v) => v === '' || values.includes(v), message)
    .transform((v) => v || null)
    .optional();
const wholeNumber = (max: number, what: string) =>
  z
    .string()
    .regex(/^(\d{1,10}(\.0*)?)?$/, `must be a whole number of ${what}`)
    .transform((v) => (v === '' ? null : Number.parseInt(v, 10)))
    .refine((v) => v === null || v <= max, `must be at most ${max}`)
    .optional();
const money = (exponent: number, required: boolean) =>
  z.string().transform((v, ctx) => {
    if (v === '') {
      if (required) ctx.addIssue({ code: 'custom', message: 'is required on every variant row' });
      return null;
    }
    const minor = decimalToMinor(v, exponent);
    if (minor === undefined || minor > 1_000_000_000_000) {
      ctx.addIssue({
        code: 'custom',
        message:
          exponent === 0
            ? 'must be a whole, non-negative amount (this currency has no decimals)'
            : `must be a non-negative amount with at most ${exponent} decimals, such as 19.99`,
      });
      return z.NEVER;
    }
    return minor;
  });

const TRUE_FALSE = ['true', 'false'];

/** What the first row of a product carries. */
export const productCells = z.object({
  Handle: z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(
      z
        .string()
        .min(1, 'is required')
        .max(255)
        .regex(HANDLE, 'must be lower-case letters, digits and dashes'),
    ),
  Title: z.string().min(1, 'is required on the first row of a product').max(255),
  'Body (HTML)': cell(100_000),
  Vendor: cell(255),
  'Product Category': cell(1000),
  Type: cell(255),
  Tags: z
    .string()
    .max(64_000)
    .transform((v) => [
      ...new Set(
        v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(z.array(z.string().max(255, 'a tag must be at most 255 characters')).max(250, 'at most 250 tags'))
    .optional(),
  Published: upper(TRUE_FALSE, 'must be TRUE or FALSE'),
  Status: upper(PRODUCT_STATUSES, `must be one of ${PRODUCT_STATUSES.join(', ')}`),
  'Option1 Name': cell(255),
  'Option2 Name': cell(255),
  'Option3 Name': cell(255),
  'SEO Title': cell(255),
  'SEO Description': cell(1000),
});
export type ProductCells = z.infer<typeof productCells>;

/** What every variant row carries; prices in minor units of the store's currency. */
export function variantCells(exponent: number) {
  return z.object({
    'Option1 Value': cell(255),
    'Option2 Value': cell(255),
    'Option3 Value': cell(255),
    'Variant SKU': cell(100),
    'Variant Grams': wholeNumber(10_000_000, 'grams'),
    'Variant Inventory Qty': wholeNumber(100_000_000, 'units (0 or more)'),
    'Variant Inventory Policy': upper(
      ['deny', 'continue', ...TRUE_FALSE],
      'must be deny or continue (TRUE/FALSE also read)',
    ),
    'Variant Price': money(exponent, true),
    'Variant Compare At Price': money(exponent, false).optional(),
    'Variant Barcode': cell(64),
  });
}
export type VariantCells = z.infer<ReturnType<typeof variantCells>>;
