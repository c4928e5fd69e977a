import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** One instruction of a Dockerfile (continuation lines joined, comments dropped). */
export type Instruction = { op: string; args: string };
export type Stage = { name: string; base: string; instructions: Instruction[] };

/** Parses the subset of Dockerfile syntax StoreOps' image uses: stages and their instructions. */
export function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push(current + line);
    current = '';
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const op = match[1].toUpperCase();
    const args = match[2].trim();
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`cannot parse FROM ${args}`);
      stages.push({ base: from[1], name: from[2] ?? String(stages.length), instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`${op} before FROM`);
    stages.at(-1)!.instructions.push({ op, args });
  }
  return stages;
}

/** `ENV A=1 B=2` (the only ENV form the image uses) as a record. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((i) => i.op === 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`ENV ${args}: only KEY=value pairs are understood`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** A JSON-array instruction (`CMD ["node", …]`), optionally after `--flag=value` options. */
export function execForm(args: string): string[] {
  const start = args.indexOf('[');
  if (start === -1) throw new Error(`expected the exec form (a JSON array): ${args}`);
  const parsed = JSON.parse(args.slice(start));
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string'))
    throw new Error(`bad exec form: ${args}`);
  return parsed;
}

/**
 * Carries out the COPY and WORKDIR instructions of `stage` into `root` (an image's file system):
 * sources from `context` (the repository) or, with `--from=<stage>`, from that stage's root.
 * Returns the RUN commands, with the working directory each runs in, for the caller to run or check.
 */
export function assembleStage(
  stage: Stage,
  roots: { context: string; root: string; stageRoots: Record<string, string> },
): { runs: { command: string; cwd: string }[]; workdir: string } {
  let workdir = '/';
  const runs: { command: string; cwd: string }[] = [];
  const inRoot = (p: string) => path.join(roots.root, path.resolve(workdir, p));
  for (const { op, args } of stage.instructions) {
    if (op === 'WORKDIR') {
      workdir = path.resolve(workdir, args);
      mkdirSync(inRoot('.'), { recursive: true });
    } else if (op === 'COPY') {
      const parts = args.split(/\s+/);
      const flags = parts.filter((p) => p.startsWith('--'));
      const paths = parts.filter((p) => !p.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      const unknown = flags.filter((f) => !f.startsWith('--from=') && !f.startsWith('--chown='));
      if (unknown.length > 0) throw new Error(`COPY flags not understood: ${unknown.join(' ')}`);
      const destination = paths.pop()!;
      const sourceRoot = from ? roots.stageRoots[from] : roots.context;
      if (!sourceRoot) throw new Error(`COPY --from=${from}: no such stage`);
      for (const source of paths) {
        const sourcePath = path.join(sourceRoot, source);
        const target = destination.endsWith('/')
          ? path.join(inRoot(destination), path.basename(source))
          : inRoot(destination);
        mkdirSync(path.dirname(target), { recursive: true });
        cpSync(sourcePath, target, { recursive: true, dereference: false });
      }
    } else if (op === 'RUN') {
      runs.push({ command: args, cwd: inRoot('.') });
    }
  }
  return { runs, workdir };
}
