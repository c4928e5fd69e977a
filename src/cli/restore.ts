import { runRestore } from './backup.ts';

/** `storeops restore FILE`: see src/cli/backup.ts. */
export const run = runRestore;
