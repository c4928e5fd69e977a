// Lambda resolves handlers in .js/.mjs/.cjs files only; this one loads the TypeScript source
// (Node strips the types; NODE_OPTIONS=--experimental-strip-types on runtimes older than 22.18).
export { handler } from '../../src/lambda/http-handler.ts';
