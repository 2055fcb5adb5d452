// Worker for the registry concurrency test: registers and unregisters entries in a loop.
import { parseCidr } from "../src/shared/cidr.js";
import { entryFromJson, entryToJson } from "../src/shared/tunnel-entry.js";
import { registryAt } from "./registry-at.js";

const [path = "", workerText = "0", countText = "200"] = process.argv.slice(2);
const worker = Number(workerText);
const registry = registryAt(path);
const entryFor = (i: number) =>
  entryToJson({
    destination: parseCidr(`10.${worker}.${i}.0/24`),
    gateway: "192.168.49.2",
    profile: `w${worker}`,
    pid: 1_000_000 + i,
    clusterDomain: "cluster.local",
    clusterDnsIp: "10.96.0.10",
    createdAt: new Date().toISOString(),
  });

for (let i = 0; i < Number(countText); i++) {
  await registry.update((entries) => ({ entries: [...entries, entryFor(i)], result: undefined }));
  if (i % 2 === 1) {
    const gone = `10.${worker}.${i - 1}.0/24`;
    await registry.update((entries) => ({
      entries: entries.filter((e) => entryFromJson(e).destination.text !== gone),
      result: undefined,
    }));
  }
}
