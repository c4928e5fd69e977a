import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Every module's `api.ts` (its Zod schemas and types) is what the web dashboard imports, so it must
// load in a browser: its static import graph may reach only relative files and the packages
// below, never a Node built-in (`node:fs`, `crypto`…) or any other package (a native binding such as
// argon2 would not even bundle). `import type` / `export type … from` are erased before running, so
// they are not followed; `import { type X }` still loads the module and counts as a value import.

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');
/** Packages an api.ts may import (by package name). */
const ALLOWED_PACKAGES = new Set(['zod']);

const rel = (file: string) => path.relative(ROOT, file);

/** The specifiers a file loads at run time (type-only imports and re-exports left out). */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      if (!node.isTypeOnly) specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];

/** Why `specifier` may not be loaded in a browser, or undefined when it may. */
function refusal(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return 'a Node built-in';
  const name = packageName(specifier);
  if (ts.isExternalModuleNameRelative(specifier)) return undefined;
  if (ALLOWED_PACKAGES.has(name)) return undefined;
  // `import 'fs'` works in Node without the prefix; name it as what it is.
  if (builtinModules.includes(name)) return 'a Node built-in';
  return 'a package outside the browser-safe allow-list';
}

/** Each offending chain from `entry`: `a.ts → b.ts → node:fs (a Node built-in)`. */
function browserUnsafeChains(entry: string): string[] {
  const chains: string[] = [];
  const seen = new Set<string>();
  const walk = (file: string, trail: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of valueImports(file)) {
      const why = refusal(specifier);
      if (why) {
        chains.push(`${[...trail, rel(file)].join(' → ')} → ${specifier} (${why})`);
        continue;
      }
      if (!ts.isExternalModuleNameRelative(specifier)) continue;
      const target = path.resolve(path.dirname(file), specifier);
      if (!existsSync(target)) {
        chains.push(`${[...trail, rel(file)].join(' → ')} → ${specifier} (not found)`);
        continue;
      }
      walk(target, [...trail, rel(file)]);
    }
  };
  walk(entry, []);
  return chains;
}

/** Every `src/<module>/api.ts`, found afresh each run (new modules are covered without edits). */
const apiFiles = readdirSync(SRC, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => path.join(SRC, entry.name, 'api.ts'))
  .filter((file) => existsSync(file));

describe('browser-safe api.ts', () => {
  it('finds the modules’ api.ts files', () => {
    expect(apiFiles.map(rel)).toContain(path.join('src', 'identity', 'api.ts'));
  });

  it.each(apiFiles.map((file) => [rel(file), file]))(
    '%s reaches no Node built-in or native package',
    (_, file) => {
      expect(browserUnsafeChains(file)).toEqual([]);
    },
  );

  it('the walk follows relative imports, skips type-only ones and names the chain', () => {
    // A known unsafe file: the argon2 binding behind the password hashing.
    const chains = browserUnsafeChains(path.join(SRC, 'platform', 'crypto', 'passwords.ts'));
    expect(chains).toEqual([
      'src/platform/crypto/passwords.ts → @node-rs/argon2 (a package outside the browser-safe allow-list)',
    ]);
    const auth = browserUnsafeChains(path.join(SRC, 'platform', 'http', 'auth.ts'));
    expect(auth).toContain(
      'src/platform/http/auth.ts → src/platform/crypto/tokens.ts → node:crypto (a Node built-in)',
    );
    // auth.ts imports fastify and the db client only as types: those are not followed.
    expect(auth.join('\n')).not.toContain('fastify');
  });
});
