import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { z } from 'zod';

/** Thrown for bad command-line input; main prints the message and exits 2. */
export class UsageError extends Error {}

/**
 * Parses `argv` with node:util and validates the result with a Zod schema, so a CLI flag gets
 * the same checking as an HTTP field. Prints `help` and returns undefined for --help.
 */
export function parseCommandArgs<S extends z.ZodType>(
  argv: string[],
  spec: { options: ParseArgsOptionsConfig; schema: S; help: string; positionals?: boolean },
): z.infer<S> | undefined {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: spec.positionals ?? false,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${spec.help}`);
  }
  if (parsed.values.help) {
    console.log(spec.help);
    return undefined;
  }
  const result = spec.schema.safeParse({ ...parsed.values, positionals: parsed.positionals });
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  --${i.path.join('.')}: ${i.message}`);
    throw new UsageError(`invalid arguments:\n${lines.join('\n')}\n\n${spec.help}`);
  }
  return result.data;
}
