import { readFileSync } from 'node:fs';
import { unprocessable } from '../platform/errors.ts';
import { MAX_PASSWORD_LENGTH } from './policy.ts';

// Loaded once: ~1,500 words, a few kilobytes in a Set.
const COMMON = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim().toLowerCase())
    .filter((line) => line && !line.startsWith('#')),
);

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '@': 'a',
  $: 's',
  '!': 'i',
};

/**
 * The forms of a password worth looking up: itself, without digits and symbols around it
 * (`Summer2024!` → `summer`), and with letter-for-digit swaps undone (`P@ssw0rd` → `password`).
 */
function variants(password: string): string[] {
  const lower = password.toLowerCase();
  const core = lower.replace(/^[^a-z]+|[^a-z]+$/g, '');
  const unleet = lower.replace(/[013457@$!]/g, (c) => LEET[c] ?? c);
  const unleetCore = lower.replace(/^[^a-z@$]+|[^a-z@$]+$/g, '').replace(/[013457@$!]/g, (c) => LEET[c] ?? c);
  return [lower, core, unleet, unleetCore];
}

/** True when the password is (a trivial variation of) a common or breached password. */
export function isCommonPassword(password: string): boolean {
  return variants(password).some((v) => v.length > 0 && COMMON.has(v));
}

/** The reasons a password is refused; empty when it is acceptable. */
export function passwordProblems(password: string, context: { email?: string } = {}): string[] {
  const problems: string[] = [];
  if (password.length < 8) problems.push('must be at least 8 characters');
  if (password.length > MAX_PASSWORD_LENGTH)
    problems.push(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (!/[a-z]/.test(password)) problems.push('must contain a lower-case letter');
  if (!/[A-Z]/.test(password)) problems.push('must contain an upper-case letter');
  if (!/[0-9]/.test(password)) problems.push('must contain a digit');
  if (isCommonPassword(password)) problems.push('is too common (it appears in lists of breached passwords)');
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && password.toLowerCase().includes(local)) {
    problems.push('must not contain your e-mail name');
  }
  return problems;
}

/**
 * Enforces the password policy (issue 4, seeds 002/004: 8+ characters with upper, lower and a
 * digit, plus a common-password check). Throws 422 WEAK_PASSWORD listing every problem.
 */
export function assertStrongPassword(password: string, context: { email?: string } = {}): void {
  const problems = passwordProblems(password, context);
  if (problems.length > 0) {
    throw unprocessable('WEAK_PASSWORD', `The password ${problems.join('; ')}`, { problems });
  }
}
