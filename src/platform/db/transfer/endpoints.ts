import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { QueryFn } from '../client.ts';
import type { TableInfo } from './inspect.ts';

/**
 * Both ends of a copy speak COPY's text format (one row per line, newlines inside values escaped),
 * so rows move as opaque byte chunks and a row count is a count of newline bytes.
 */
export type CopySource = {
  /** SQL inside the source's snapshot. */
  query: QueryFn;
  /** True when `rows(…, 'binary')` yields whole binary COPY outputs (header, tuples, trailer). */
  binarySlices: boolean;
  /** The table's rows as COPY text chunks (not necessarily split on row boundaries). */
  rows(table: TableInfo, format?: 'text' | 'binary'): AsyncIterable<Buffer>;
  close(): Promise<void>;
};

export type CopyTarget = {
  /** SQL inside the target's one data transaction. */
  query: QueryFn;
  /** Loads COPY text chunks into the table; `onRows` hears how many rows went in so far. */
  load(table: TableInfo, chunks: AsyncIterable<Buffer>, onRows: (n: number) => void): Promise<void>;
  /** Loads whole binary COPY outputs (one per chunk) as one binary COPY, when the target can. */
  loadBinary?(table: TableInfo, slices: AsyncIterable<Buffer>, onRows: (n: number) => void): Promise<void>;
  /** Runs `fn` as a savepoint: a failing statement inside does not abort the transaction. */
  attempt(sql: string): Promise<boolean>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
};

const NEWLINE = 0x0a;

function countLines(chunk: Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

const columnList = (t: TableInfo) => t.columns.join(', ');

/** PostgreSQL as a source: one connection in a REPEATABLE READ, READ ONLY snapshot. */
export async function postgresSource(url: string): Promise<CopySource> {
  const client = new pg.Client({ connectionString: url, application_name: 'storeops db copy' });
  await client.connect();
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  return {
    query: async (text, params) => client.query(text, params as unknown[]) as any,
    binarySlices: false,
    async *rows(table) {
      const stream = client.query(
        copyTo(`COPY (SELECT ${columnList(table)} FROM ${table.qualified}) TO STDOUT`),
      );
      for await (const chunk of stream) yield chunk as Buffer;
    },
    async close() {
      await client.query('COMMIT').catch(() => {});
      await client.end();
    },
  };
}

// PGlite has no streaming COPY TO STDOUT: tables are read in slices of heap pages (a TID range
// scan each), so memory stays bounded by one slice whatever the table's size.
const PAGES_PER_SLICE = 2048;

/** PGlite as a source: the single embedded connection, inside one transaction. */
export async function pgliteSource(pglite: PGlite, pagesPerSlice = PAGES_PER_SLICE): Promise<CopySource> {
  await pglite.exec('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const query: QueryFn = async (text, params) => pglite.query(text, params) as any;
  return {
    query,
    binarySlices: true,
    async *rows(table, format = 'text') {
      const { rows } = await query<{ pages: number }>(
        // pg_partition_tree lists nothing for a plain table, hence the table's own size beside it.
        `SELECT greatest(pg_relation_size($1::regclass),
                  (SELECT coalesce(max(pg_relation_size(relid)), 0) FROM pg_partition_tree($1::regclass)))
                / current_setting('block_size')::int AS pages`,
        [table.qualified],
      );
      const pages = Number(rows[0].pages);
      for (let first = 0; first <= pages; first += pagesPerSlice) {
        const result = await pglite.query(
          `COPY (SELECT ${columnList(table)} FROM ${table.qualified}
                  WHERE ctid >= '(${first},0)'::tid AND ctid < '(${first + pagesPerSlice},0)'::tid)
             TO '/dev/blob'${format === 'binary' ? ' WITH (FORMAT binary)' : ''}`,
        );
        if (result.blob && result.blob.size > 0) yield Buffer.from(await result.blob.arrayBuffer());
      }
    },
    async close() {
      await pglite.exec('COMMIT').catch(() => {});
    },
  };
}

/** Counts rows passing through a COPY stream for the progress bar. */
function lineCounter(onRows: (n: number) => void): Transform {
  let rows = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      rows += countLines(chunk);
      onRows(rows);
      callback(null, chunk);
    },
  });
}

/** PostgreSQL as a target: one connection, one transaction, one `COPY … FROM STDIN` per table. */
export async function postgresTarget(url: string): Promise<CopyTarget> {
  const client = new pg.Client({ connectionString: url, application_name: 'storeops db copy' });
  await client.connect();
  await client.query('BEGIN');
  let savepoint = 0;
  return {
    query: async (text, params) => client.query(text, params as unknown[]) as any,
    async load(table, chunks, onRows) {
      // One COPY statement per table: foreign keys within the table (a category's parent) are
      // checked at its end, so the order of rows inside the table does not matter.
      await pipeline(
        Readable.from(chunks),
        lineCounter(onRows),
        client.query(copyFrom(`COPY ${table.qualified} (${columnList(table)}) FROM STDIN`)),
      );
    },
    async loadBinary(table, slices, onRows) {
      await pipeline(
        Readable.from(joinBinarySlices(slices, onRows)),
        client.query(
          copyFrom(`COPY ${table.qualified} (${columnList(table)}) FROM STDIN WITH (FORMAT binary)`),
        ),
      );
    },
    async attempt(sql) {
      const name = `attempt_${++savepoint}`;
      await client.query(`SAVEPOINT ${name}`);
      try {
        await client.query(sql);
        await client.query(`RELEASE SAVEPOINT ${name}`);
        return true;
      } catch {
        await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
        return false;
      }
    },
    async commit() {
      await client.query('COMMIT');
      await client.end();
    },
    async rollback() {
      await client.query('ROLLBACK').catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

// Rows are handed to PGlite's COPY FROM '/dev/blob' in blobs of about this size.
const BLOB_BYTES = 16 * 1024 * 1024;

/** PGlite as a target (a fresh data dir only this process holds): one transaction. */
export async function pgliteTarget(pglite: PGlite): Promise<CopyTarget> {
  await pglite.exec('BEGIN');
  const query: QueryFn = async (text, params) => pglite.query(text, params) as any;
  let savepoint = 0;
  return {
    query,
    async load(table, chunks, onRows) {
      const sql = `COPY ${table.qualified} (${columnList(table)}) FROM '/dev/blob'`;
      let parts: Buffer[] = [];
      let size = 0;
      let rows = 0;
      const flush = async (all: Buffer) => {
        await pglite.query(sql, [], { blob: new Blob([all]) });
        rows += countLines(all);
        onRows(rows);
      };
      for await (const chunk of chunks) {
        parts.push(chunk);
        size += chunk.length;
        if (size < BLOB_BYTES) continue;
        const joined = Buffer.concat(parts, size);
        const end = joined.lastIndexOf(NEWLINE) + 1;
        if (end > 0) await flush(joined.subarray(0, end));
        parts = end < joined.length ? [joined.subarray(end)] : [];
        size = joined.length - end;
      }
      if (size > 0) await flush(Buffer.concat(parts, size));
    },
    async attempt(sql) {
      const name = `attempt_${++savepoint}`;
      await pglite.exec(`SAVEPOINT ${name}`);
      try {
        await pglite.exec(sql);
        await pglite.exec(`RELEASE SAVEPOINT ${name}`);
        return true;
      } catch {
        await pglite.exec(`ROLLBACK TO SAVEPOINT ${name}`);
        return false;
      }
    },
    async commit() {
      await pglite.exec('COMMIT');
    },
    async rollback() {
      await pglite.exec('ROLLBACK').catch(() => {});
    },
  };
}

// Binary COPY: an 11-byte signature, 32-bit flags, 32-bit header extension length (+ extension),
// tuples (16-bit field count, then per field a 32-bit length, -1 for NULL, and the bytes), and a
// 16-bit -1 trailer. Several outputs become one input by keeping the first header and one trailer.
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

async function* joinBinarySlices(slices: AsyncIterable<Buffer>, onRows: (n: number) => void) {
  let rows = 0;
  let first = true;
  for await (const slice of slices) {
    if (slice.length < 21 || !slice.subarray(0, 11).equals(SIGNATURE))
      throw new Error('unexpected binary COPY output from the source');
    const start = 19 + slice.readInt32BE(15);
    if (first) yield slice.subarray(0, start);
    first = false;
    let pos = start;
    const end = slice.length - 2;
    while (pos < end) {
      const fields = slice.readInt16BE(pos);
      pos += 2;
      for (let i = 0; i < fields; i++) {
        const length = slice.readInt32BE(pos);
        pos += 4 + Math.max(length, 0);
      }
      rows++;
    }
    if (pos !== end || slice.readInt16BE(end) !== -1)
      throw new Error('malformed binary COPY output from the source');
    yield slice.subarray(start, end);
    onRows(rows);
  }
  if (first) return;
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  yield trailer;
}
