import { defineConfig } from 'drizzle-kit';

// One schema for PGlite and PostgreSQL: every module keeps its tables in its own `tables.ts`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/**/tables.ts',
  out: './drizzle',
});
