import sanitizeHtml from 'sanitize-html';
import { conflict, unprocessable } from '../platform/errors.ts';

/*
 * Text rules of the catalog: descriptions are sanitised HTML (sanitize-html's allow-list, no
 * scripts, styles or event handlers) with a plain-text twin, handles are slugs, and database
 * constraint violations become the API's clear errors.
 */

const ALLOWED = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img'],
  allowedAttributes: { a: ['href', 'title', 'target', 'rel'], img: ['src', 'alt', 'width', 'height'] },
  allowedSchemes: ['https', 'http', 'mailto'],
};

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
};

/** Safe HTML and its plain text (whitespace collapsed). */
export function cleanDescription(html: string): { html: string; text: string } {
  // Plain text without markup characters is its own safe HTML (a fast path for bulk imports).
  const safe = /[<>&"]/.test(html) ? sanitizeHtml(html, ALLOWED) : html;
  // The sanitised HTML is well-formed with only &amp; &lt; &gt; &quot; escapes left, so removing
  // its tags (after a space for line-breaking ones) and decoding those gives its text.
  const text = safe
    .replace(/<(br|\/p|\/li|\/h[1-6]|\/div)\b[^>]*>/gi, ' $&')
    .replace(/<[^>]*>/g, '')
    .replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e)
    .replace(/\s+/g, ' ')
    .trim();
  return { html: safe, text };
}

/** `"Men's Shirt — Blue"` → `mens-shirt-blue`; empty for titles without letters or digits. */
export function slugify(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 200)
    .replace(/-+$/g, '');
}

/** Messages for the unique indexes and checks the catalog relies on. */
const CONSTRAINTS: Record<string, () => Error> = {
  catalog_products_handle_key: () => conflict('HANDLE_TAKEN', 'Another product already has this handle'),
  catalog_categories_handle_key: () => conflict('HANDLE_TAKEN', 'Another category already has this handle'),
  catalog_inventory_location_fk: () => unprocessable('UNKNOWN_LOCATION', 'The location does not exist'),
  catalog_locations_name_key: () => conflict('LOCATION_TAKEN', 'Another location already has this name'),
  catalog_variants_sku_key: () => conflict('SKU_TAKEN', 'Another variant already has this SKU'),
  catalog_variants_options_key: () =>
    conflict('DUPLICATE_OPTIONS', 'Two variants of one product cannot have the same options'),
  catalog_products_category_fk: () => unprocessable('UNKNOWN_CATEGORY', 'The category does not exist'),
  catalog_categories_parent_fk: () =>
    conflict('CATEGORY_IN_USE', 'The category still has subcategories or a parent that does not exist'),
  catalog_inventory_oversell_check: () =>
    conflict('INSUFFICIENT_STOCK', 'Not enough stock: reserved units cannot exceed what is on hand'),
  catalog_inventory_reserved_check: () =>
    conflict('INSUFFICIENT_STOCK', 'Reserved stock cannot go below zero'),
};

/** Runs `fn`, turning a known constraint violation into its API error (the transaction rolls back). */
export async function withConstraintErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const name = (error as { constraint?: string }).constraint;
    const mapped = name ? CONSTRAINTS[name] : undefined;
    if (mapped) throw mapped();
    if ((error as { code?: string }).code === '23514' && name?.startsWith('catalog_inventory'))
      throw conflict('INSUFFICIENT_STOCK', 'Not enough stock');
    throw error;
  }
}
