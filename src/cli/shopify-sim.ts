import { preferSmallHeap, shopifySimCommand } from '../devtools/shopify-sim/cli.ts';

/** `storeops shopify-sim`: the local Shopify for tests, benchmarks and trying StoreOps without a store. */
export async function run(argv: string[]): Promise<number | undefined> {
  // This process runs nothing but the simulator, so V8's small-heap mode is safe here (it keeps a
  // 1,000,000-order shop under 300 MB; see docs/shopify-simulator.md).
  preferSmallHeap();
  await shopifySimCommand(argv);
  return undefined;
}
