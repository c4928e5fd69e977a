import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * "One owner per table" (issue 10), checked on the source: each module's tables are the
 * `pgTable('…')` names in its `tables.ts`; no other module may name one of them in SQL, and no
 * module may import another module's `tables.ts` except from its own `tables.ts` (a foreign key).
 * A module that needs another's data calls that module's door.
 */

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The module a file belongs to: `src/<module>/…`; top-level files (app.ts, deps.ts) are `app`. */
const moduleOf = (file: string) => {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0] : 'app';
};

/** Table name → owning module, from every `src/<module>/tables.ts`. */
function tableOwners(files: string[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const file of files.filter((f) => f.endsWith('/tables.ts'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/pgTable\(\s*'([a-z_][a-z0-9_]*)'/g))
      owners.set(match[1], moduleOf(file));
  }
  return owners;
}

/** Tables a source names after an SQL keyword (upper-case, as the code base writes SQL). */
function sqlTables(source: string): Set<string> {
  const found = new Set<string>();
  const pattern =
    /\b(?:FROM|JOIN|INTO|UPDATE|DELETE FROM|TRUNCATE|TABLE)\s+(?:ONLY\s+)?"?([a-z_][a-z0-9_]*)/g;
  for (const match of source.matchAll(pattern)) found.add(match[1]);
  return found;
}

/** Violations of the ownership rule in a set of files (`owners` from `tableOwners`). */
function violations(files: { path: string; source: string }[], owners: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const { path, source } of files) {
    const mine = moduleOf(path);
    for (const table of sqlTables(source)) {
      const owner = owners.get(table);
      if (owner && owner !== mine)
        problems.push(`${relative(SRC, path)} names ${owner}'s table ${table} in SQL`);
    }
    for (const match of source.matchAll(/from\s+'(\.\.\/(?:\.\.\/)*([a-z-]+)\/tables\.ts)'/g)) {
      const other = match[2];
      if (other !== mine && !path.endsWith('/tables.ts'))
        problems.push(
          `${relative(SRC, path)} imports ${other}/tables.ts (only a tables.ts may, for a foreign key)`,
        );
    }
  }
  return problems;
}

/** Imports of another module's files other than its door (`index.ts`), its `api.ts`, or a `tables.ts` FK. */
function doorViolations(files: { path: string; source: string }[]): string[] {
  const problems: string[] = [];
  for (const { path, source } of files) {
    const mine = moduleOf(path);
    // Wiring and commands may reach anywhere; platform imports no module at all (checked elsewhere).
    if (['app', 'cli', 'devtools', 'platform'].includes(mine)) continue;
    for (const match of source.matchAll(/from\s+'((?:\.\.\/)+)([a-z-]+)\/([a-z0-9/-]+\.ts)'/g)) {
      const [, , other, file] = match;
      if (other === mine || other === 'platform') continue;
      if (file === 'index.ts' || file === 'api.ts' || (file === 'tables.ts' && path.endsWith('/tables.ts')))
        continue;
      problems.push(`${relative(SRC, path)} imports ${other}/${file} (use ${other}/index.ts, its door)`);
    }
  }
  return problems;
}

describe('table ownership', () => {
  const files = sourceFiles(SRC);
  const owners = tableOwners(files);

  it('finds the tables of every module', () => {
    const modules = new Set(owners.values());
    for (const module of ['identity', 'shopify', 'mirror', 'sync', 'webhooks'])
      expect(modules).toContain(module);
    expect(owners.get('shop_orders')).toBe('mirror');
    expect(owners.get('shopify_rate_budgets')).toBe('shopify');
    expect(owners.get('sync_state')).toBe('sync');
  });

  it('no module names another module’s table in SQL or imports its tables.ts', () => {
    const sources = files.map((path) => ({ path, source: readFileSync(path, 'utf8') }));
    expect(violations(sources, owners)).toEqual([]);
  });

  it('modules reach each other only through their doors (index.ts) or schemas (api.ts)', () => {
    const sources = files.map((path) => ({ path, source: readFileSync(path, 'utf8') }));
    expect(doorViolations(sources)).toEqual([]);
    expect(
      doorViolations([
        { path: join(SRC, 'sync', 'x.ts'), source: "import { paginate } from '../shopify/paced-client.ts';" },
        { path: join(SRC, 'sync', 'y.ts'), source: "import { type Shopify } from '../shopify/index.ts';" },
      ]),
    ).toEqual(['sync/x.ts imports shopify/paced-client.ts (use shopify/index.ts, its door)']);
  });

  it('catches a module reading another module’s table, and an import of its tables.ts', () => {
    const planted = [
      {
        path: join(SRC, 'sync', 'planted.ts'),
        source: 'await tx.query(`SELECT count(*) FROM shop_orders WHERE tenant_id = $1`)',
      },
      { path: join(SRC, 'sync', 'planted2.ts'), source: "import { shopOrders } from '../mirror/tables.ts';" },
      { path: join(SRC, 'sync', 'tables.ts'), source: "import { tenants } from '../identity/tables.ts';" },
      { path: join(SRC, 'mirror', 'own.ts'), source: 'DELETE FROM shop_orders WHERE tenant_id = $1' },
    ];
    expect(violations(planted, owners)).toEqual([
      "sync/planted.ts names mirror's table shop_orders in SQL",
      'sync/planted2.ts imports mirror/tables.ts (only a tables.ts may, for a foreign key)',
    ]);
  });
});
