import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { z } from 'zod';
import { isAppError, unprocessable } from '../platform/errors.ts';
import {
  type Cells,
  type Column,
  mapHeader,
  type ProductCells,
  productCells,
  VARIANT_COLUMNS,
  type VariantCells,
  variantCells,
} from './csv-columns.ts';

/*
 * Reads a product CSV as a stream (csv-parse) and turns consecutive rows of one Handle into one
 * product with its variants, checking every row with Zod and the rules that span rows: option
 * names and values, an option set or SKU used twice, a handle whose rows are not together. Each
 * problem becomes a row error with the CSV line it starts on; only products without errors are
 * yielded (the caller writes nothing once there is any error, but keeps reading to report them).
 */

/** One problem in the file: `line` is 1-based, counted as a text editor does (the header is line 1). */
export type RowError = { line: number; column?: string; message: string };

/** Collects row errors, keeping the first `cap` of them. */
export class RowErrors {
  readonly list: RowError[] = [];
  count = 0;
  readonly cap: number;
  constructor(cap: number) {
    this.cap = cap;
  }
  add(error: RowError) {
    this.count++;
    if (this.list.length < this.cap) this.list.push(error);
  }
}

export type CsvVariant = {
  line: number;
  options: [string | null, string | null, string | null];
  cells: VariantCells;
};

export type CsvProduct = {
  handle: string;
  line: number;
  cells: ProductCells;
  /** Option names 1–3 as given (Shopify's `Title` for a product without options is dropped). */
  optionNames: string[];
  variants: CsvVariant[];
  /** Rows with an Image Src, which the import does not fetch (the model stores uploads only). */
  images: number;
};

/** The file's columns, known once the header is read. */
export type CsvHeader = { present: Set<Column> };

const MAX_VARIANTS = 100;
const DEFAULT_TITLE = 'Default Title';

function issues(error: z.ZodError, line: number, errors: RowErrors) {
  for (const issue of error.issues) {
    const column = String(issue.path[0] ?? '');
    const message = issue.code === 'invalid_type' ? 'is required' : issue.message;
    errors.add({ line, column: column || undefined, message });
  }
}

/** The header's problems as one 422 (nothing can be read without Handle, Title, Variant Price). */
function checkHeader(index: Map<Column, number>, duplicates: string[]) {
  const missing = (['Handle', 'Title', 'Variant Price'] as const).filter((c) => !index.has(c));
  const problems = [
    ...missing.map((c) => ({ line: 1, column: c, message: 'column is missing from the header' })),
    ...duplicates.map((c) => ({ line: 1, column: c, message: 'column appears twice in the header' })),
  ];
  if (problems.length)
    throw unprocessable('CSV_INVALID', 'The CSV header is not that of a Shopify product CSV', {
      errors: problems,
      errorCount: problems.length,
    });
}

/** Option names from a product's first row; Shopify's `Title` / `Default Title` means none. */
function optionNamesOf(cells: ProductCells, line: number, errors: RowErrors): string[] {
  const names = [cells['Option1 Name'], cells['Option2 Name'], cells['Option3 Name']];
  for (let i = 1; i < 3; i++)
    if (names[i] && !names[i - 1])
      errors.add({ line, column: `Option${i + 1} Name`, message: `needs Option${i} Name first` });
  return names.filter((n): n is string => Boolean(n));
}

/** The checks that span a product's rows; false when the product has an error. */
function checkProduct(product: CsvProduct, errors: RowErrors): boolean {
  const before = errors.count;
  if (product.optionNames[0] === 'Title' && product.variants.every((v) => v.options[0] === null))
    product.optionNames = [];
  const named = product.optionNames.length;
  const seen = new Map<string, number>();
  for (const v of product.variants) {
    if (named > 0)
      v.options.forEach((value, i) => {
        if (i < named && value === null)
          errors.add({
            line: v.line,
            column: `Option${i + 1} Value`,
            message: `is required: the product has Option${i + 1} Name "${product.optionNames[i]}"`,
          });
        if (i >= named && value !== null)
          errors.add({
            line: v.line,
            column: `Option${i + 1} Value`,
            message: `is set but the product has no Option${i + 1} Name`,
          });
      });
    const key = JSON.stringify(v.options);
    const first = seen.get(key);
    if (first !== undefined)
      errors.add({
        line: v.line,
        message: `duplicates the options of the variant on line ${first} (every variant needs its own option set)`,
      });
    else seen.set(key, v.line);
  }
  if (product.variants.length > MAX_VARIANTS)
    errors.add({
      line: product.line,
      column: 'Handle',
      message: `a product can have at most ${MAX_VARIANTS} variants`,
    });
  return errors.count === before;
}

/**
 * Yields the valid products of a CSV in file order. `onHeader` sees the columns before the first
 * product; `errors` collects every problem. Throws 422 for a file that cannot be read as CSV.
 */
export async function* readCsvProducts(
  source: Readable,
  options: {
    exponent: number;
    errors: RowErrors;
    onHeader?: (header: CsvHeader) => void;
    stats: { rows: number };
  },
): AsyncGenerator<CsvProduct> {
  const { errors, stats } = options;
  const variantSchema = variantCells(options.exponent);
  const parser = parse({
    bom: true,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: 1_048_576,
  });
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);

  let index = new Map<Column, number>();
  let width = 0;
  let previousEnd = 0;
  let previousEmpty = 0;
  let current: CsvProduct | undefined;
  let currentOk = true;
  const handles = new Map<string, number>();
  const skus = new Map<string, number>();

  const finish = function* (): Generator<CsvProduct> {
    if (current && checkProduct(current, errors) && currentOk) yield current;
    current = undefined;
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; empty_lines: number };
    }>) {
      // The line a record starts on: after the previous record and the empty lines skipped since.
      const line = previousEnd + 1 + (info.empty_lines - previousEmpty);
      previousEnd = info.lines;
      previousEmpty = info.empty_lines;
      if (width === 0) {
        const mapped = mapHeader(record);
        checkHeader(mapped.index, mapped.duplicates);
        index = mapped.index;
        width = record.length;
        options.onHeader?.({ present: new Set(index.keys()) });
        continue;
      }
      stats.rows++;
      if (record.length !== width) {
        errors.add({ line, message: `has ${record.length} cells but the header has ${width}` });
        continue;
      }
      const cells: Cells = {};
      for (const [column, i] of index) cells[column] = record[i].trim();
      const handle = (cells.Handle ?? '').toLowerCase();

      if (!current || handle !== current.handle) {
        yield* finish();
        const parsed = productCells.safeParse(cells);
        const first = handles.get(handle);
        if (first !== undefined && handle)
          errors.add({
            line,
            column: 'Handle',
            message: `"${handle}" also starts a product on line ${first}: rows of one product must be together`,
          });
        else if (handle) handles.set(handle, line);
        if (!parsed.success) issues(parsed.error, line, errors);
        currentOk = parsed.success && first === undefined;
        current = {
          handle,
          line,
          cells: parsed.success ? parsed.data : (undefined as unknown as ProductCells),
          optionNames: parsed.success ? optionNamesOf(parsed.data, line, errors) : [],
          variants: [],
          images: 0,
        };
      } else if (VARIANT_COLUMNS.every((c) => !cells[c])) {
        // An image row: Handle plus Image Src, Image Position, Image Alt Text.
        if (cells['Image Src']) current.images++;
        continue;
      }
      if (cells['Image Src']) current.images++;

      const parsed = variantSchema.safeParse(cells);
      if (!parsed.success) {
        issues(parsed.error, line, errors);
        currentOk = false;
        continue;
      }
      const v = parsed.data;
      const sku = v['Variant SKU'];
      if (sku) {
        const first = skus.get(sku);
        if (first !== undefined) {
          errors.add({ line, column: 'Variant SKU', message: `"${sku}" is also the SKU on line ${first}` });
          currentOk = false;
        } else skus.set(sku, line);
      }
      const defaultTitle = current.optionNames[0] === 'Title' && v['Option1 Value'] === DEFAULT_TITLE;
      current.variants.push({
        line,
        options: [
          defaultTitle ? null : (v['Option1 Value'] ?? null),
          v['Option2 Value'] ?? null,
          v['Option3 Value'] ?? null,
        ],
        cells: v,
      });
    }
    yield* finish();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!isAppError(error) && code?.startsWith('CSV_')) {
      errors.add({
        line: (error as { lines?: number }).lines ?? previousEnd + 1,
        message: `the file is not valid CSV: ${(error as Error).message}`,
      });
      return;
    }
    throw error;
  } finally {
    source.unpipe(parser);
  }
}
