#!/usr/bin/env node
/**
 * DNS load for forward mode's UDP path (test-support/dns-load.ts runs it
 * inside a network namespace): the tests' proof and the benchmark's figures.
 *
 *   udp ADDR PORT RATE SECONDS SOCKETS [WINDOW]  (WINDOW: at most that many unanswered at once) RATE queries a second for SECONDS from SOCKETS sockets (each its own source
 *                                       port, so its own flow), each answer matched to its query by ID and required to
 *                                       be exactly one DNS message: two merged, or one cut, is "malformed".
 *   tcp ADDR PORT N                     N queries one after another, each on a new connection, as a resolver that
 *                                       falls back to TCP asks.
 *   one ADDR PORT TIMEOUT_MS            one query over UDP: the A record answered, TIMEOUT, MALFORMED or an error code.
 *
 * Prints one JSON line (one word for "one").
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket from "dns-packet";

const [mode, address, portText, a, b, c] = process.argv.slice(2);
const port = Number(portText);
const NAME = "q.svc.test";

const query = (id) =>
  dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: NAME }] });

/** The message's ID when it is exactly one answer to our question, else null. */
function answerId(message) {
  try {
    const decoded = dnsPacket.decode(message);
    // Every byte read as this one message: a second one merged behind it, or one cut short, is not an answer.
    if (dnsPacket.decode.bytes !== message.length) return null;
    if (decoded.type !== "response" || decoded.answers[0]?.type !== "A") return null;
    return { id: decoded.id, data: decoded.answers[0].data };
  } catch {
    return null;
  }
}

const percentile = (values, q) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted.length
    ? Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] * 1000) / 1000
    : null;
};

function udp(rate, seconds, sockets, window) {
  const total = Math.round(rate * seconds);
  const sentAt = new Float64Array(total).fill(-1);
  const gotAt = new Float64Array(total).fill(-1);
  let received = 0,
    malformed = 0,
    duplicates = 0,
    reordered = 0,
    lastSeq = -1,
    maxLag = 0,
    sent = 0;
  const socks = Array.from({ length: sockets }, (_, k) => {
    const s = createSocket("udp4");
    s.on("message", (m) => {
      const now = performance.now();
      const answer = answerId(m);
      if (!answer) return void malformed++;
      const seq = answer.id * sockets + k;
      if (seq >= total || sentAt[seq] < 0) return void malformed++;
      if (gotAt[seq] >= 0) return void duplicates++;
      gotAt[seq] = now;
      received++;
      if (seq < lastSeq) reordered++;
      else lastSeq = seq;
    });
    s.on("error", () => undefined);
    return s;
  });
  let bound = 0;
  const begin = () => {
    const t0 = performance.now();
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate) + 1);
      // With a window, at most that many queries wait for answers: a sender that never outruns a starved machine.
      for (; sent < due && (!window || sent - received < window); sent++) {
        maxLag = Math.max(maxLag, now - (t0 + (sent * 1000) / rate));
        sentAt[sent] = performance.now();
        socks[sent % sockets].send(query(Math.floor(sent / sockets)), port, address);
      }
      if (sent < total && performance.now() - t0 < (seconds * 3 + 10) * 1000) setTimeout(tick, 1);
      else {
        const windowMs = performance.now() - t0;
        // Answers still on their way: up to 2 s after the last query, a DNS client's first retry.
        setTimeout(() => finish(windowMs), 2000);
      }
    };
    tick();
  };
  const finish = (windowMs) => {
    const latencies = [];
    for (let i = 0; i < total; i++) if (gotAt[i] >= 0) latencies.push(gotAt[i] - sentAt[i]);
    const result = { sent, received, lost: sent - received, malformed, duplicates, reordered };
    Object.assign(result, { rate: Math.round((sent / windowMs) * 1000), maxSendLagMs: Math.round(maxLag) });
    Object.assign(result, {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: percentile(latencies, 1),
    });
    console.log(JSON.stringify(result));
    process.exit(0);
  };
  for (const s of socks) s.bind(0, "127.0.0.1", () => ++bound === sockets && begin());
}

function tcpOne(id) {
  return new Promise((resolve) => {
    const started = performance.now();
    let buffer = Buffer.alloc(0);
    const s = connect(port, address, () => s.end(dnsPacket.streamEncode(dnsPacket.decode(query(id)))));
    s.setTimeout(5000, () => (s.destroy(), resolve(null)));
    s.on("data", (d) => {
      buffer = Buffer.concat([buffer, d]);
      if (buffer.length < 2 || buffer.length < 2 + buffer.readUInt16BE(0)) return;
      const answer = answerId(buffer.subarray(2, 2 + buffer.readUInt16BE(0)));
      s.destroy();
      resolve(answer?.id === id ? performance.now() - started : null);
    });
    s.on("error", () => resolve(null));
  });
}

async function tcp(n) {
  const latencies = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const ms = await tcpOne(i & 0xffff);
    if (ms === null) failed++;
    else latencies.push(ms);
  }
  console.log(
    JSON.stringify({
      samples: latencies.length,
      failed,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
    }),
  );
}

function one(timeoutMs) {
  const s = createSocket("udp4");
  s.on("message", (m) => {
    const answer = answerId(m);
    console.log(answer?.id === 4242 ? answer.data : "MALFORMED");
    process.exit(0);
  });
  s.on("error", (e) => (console.log(e.code), process.exit(0)));
  s.send(query(4242), port, address);
  setTimeout(() => (console.log("TIMEOUT"), process.exit(0)), timeoutMs);
}

if (mode === "udp") udp(Number(a), Number(b), Number(c || 1), Number(process.argv[7] || 0));
else if (mode === "tcp") void tcp(Number(a));
else if (mode === "one") one(Number(a));
else {
  console.error(`dns-load-proc: unknown mode ${mode}`);
  process.exit(64);
}
