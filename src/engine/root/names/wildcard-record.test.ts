import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PlainFiles } from "../../system/file-access.js";
import { RESPONDER_CANDIDATES, isResponderCandidate, responderCandidate } from "./domain-router.js";
import { WildcardRecords } from "./wildcard-record.js";

const self = { pid: 4242, started: "81234567" };
const files = new PlainFiles(() => false);

describe("WildcardRecords: what cleanup finds of a responder", () => {
  let runtime: string;
  beforeEach(async () => {
    runtime = await mkdtemp(join(tmpdir(), "mkt-wildcard-record-"));
  });
  afterEach(async () => {
    await rm(runtime, { recursive: true, force: true });
  });

  it("round trip: written, found with its pid, taken by another process only, removed", async () => {
    const mine = new WildcardRecords(self, join(runtime, "run"), files);
    await mine.write("mktdns1", "127.65.255.255");
    const other = new WildcardRecords({ pid: 999_999, started: "1" }, join(runtime, "run"), files);
    expect((await other.all()).map(({ forget: _, ...r }) => r)).toEqual([
      { pid: 4242, started: "81234567", link: "mktdns1", address: "127.65.255.255" },
    ]);
    expect(await mine.takenByOther("mktdns1")).toBe(false);
    expect(await other.takenByOther("mktdns1")).toBe(true);
    expect(await other.takenByOther("mktdns2")).toBe(false);
    await mine.remove();
    expect(await readdir(join(runtime, "run"))).toEqual([]);
  });

  it("follows only a record naming one candidate's link and its address, never another link or address", async () => {
    const records = new WildcardRecords(self, runtime, files);
    const bad = [
      { link: "eth0", address: "127.64.255.255" },
      { link: "mktdns", address: "127.64.255.255" },
      { link: "mktdns01", address: "127.65.255.255" },
      { link: "mktdns1", address: "127.64.255.255" },
      { link: "mktdns0", address: "127.0.0.2" },
      { link: `mktdns${RESPONDER_CANDIDATES}`, address: `127.${64 + RESPONDER_CANDIDATES}.255.255` },
      { link: "mktdns0\nx", address: "127.64.255.255" },
    ].map((r) => ({ started: "1", ...r }));
    bad.push({ started: 1 as unknown as string, link: "mktdns0", address: "127.64.255.255" });
    for (const [i, r] of bad.entries()) await writeFile(join(runtime, `wildcards-${1000 + i}.json`), JSON.stringify(r));
    await writeFile(join(runtime, "wildcards-2000.json"), "not json");
    const last = responderCandidate(RESPONDER_CANDIDATES - 1);
    await writeFile(join(runtime, "wildcards-3000.json"), JSON.stringify({ started: "1", ...last }));
    expect((await records.all()).map((r) => [r.pid, r.link, r.address])).toEqual([[3000, last.link, last.address]]);
  });

  it("every candidate's link and address pass the rule, a multi-digit one included", () => {
    for (let i = 0; i < RESPONDER_CANDIDATES; i++) {
      const { link, address } = responderCandidate(i);
      expect(isResponderCandidate(link, address)).toBe(true);
    }
    expect(isResponderCandidate("mktdns10", "127.74.255.255")).toBe(RESPONDER_CANDIDATES > 10);
    expect(isResponderCandidate(7, "127.71.255.255")).toBe(false);
  });
});
