import { stripeSimCommand } from '../devtools/stripe-sim/cli.ts';

/** `storeops stripe-sim`: the local Stripe for tests, benchmarks and trying checkout without an account. */
export async function run(argv: string[]): Promise<number | undefined> {
  await stripeSimCommand(argv);
  return undefined;
}
