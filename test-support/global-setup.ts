import { buildBundles } from "./bundles.js";
import { labUnavailableReason, sweepStaleLabs } from "./netns-lab.js";

export default async function setup(): Promise<void> {
  await buildBundles();
  const reason = labUnavailableReason();
  if (reason) {
    console.log(`[lab] integration tests will be skipped: ${reason}`);
    return;
  }
  const swept = await sweepStaleLabs();
  if (swept.length > 0) console.log(`[lab] removed ${swept.length} namespace(s) left by earlier runs`);
}
