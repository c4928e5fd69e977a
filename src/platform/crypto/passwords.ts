import { hash, verify } from '@node-rs/argon2';

/**
 * Password hashing with argon2id (OWASP's first choice). Parameters are OWASP's minimum for
 * argon2id (19 MiB, 2 passes, 1 lane) and live in the PHC string, so they can be raised later
 * without breaking stored hashes.
 */
// `algorithm: 2` is Algorithm.Argon2id: the package exports it as an ambient const enum, which type
// stripping cannot inline.
const OPTIONS = { algorithm: 2 as const, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a password into a PHC string (`$argon2id$v=19$m=…`). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** True when `password` matches `passwordHash`; false for a wrong password or a malformed hash. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// A real hash of a random password, made once: verifying against it costs what a real check costs,
// so "no such user" answers as slowly as "wrong password" (no account enumeration by timing).
let dummyHash: Promise<string> | undefined;

/** Burns the same time as a real verification, for unknown accounts. Always false. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}-${Date.now()}`);
  await verifyPassword(await dummyHash, password);
  return false;
}
