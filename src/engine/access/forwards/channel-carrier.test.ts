import { once } from "node:events";
import { type Socket, connect } from "node:net";
import { type Duplex, duplexPair } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import type { CarriedListener } from "./forward-carrier.js";
import { ChannelCarrier, type ChannelOpener } from "./channel-carrier.js";
import { ForwardListeners } from "./forward-listeners.js";

// ChannelCarrier's real listener on 127.0.0.1 (a free port: no root), with a link whose channels
// are in-memory stream pairs: the test holds the node's end of each, where sshd would be.

interface Opened {
  readonly host: string;
  readonly port: number;
  readonly from: { address: string; port: number };
  /** Opens the channel (or fails it) when the test says so, as the SSH server answers later. */
  open(): Duplex;
  fail(error: Error): void;
}

/** Each `channel` call waits for the test: `opened` lists them, and `auto` opens them at once. */
class FakeOpener implements ChannelOpener {
  readonly opened: Opened[] = [];
  /** The node's ends of the channels opened so far. */
  readonly remotes: Duplex[] = [];
  /** The carrier's ends, which ssh2 would own. */
  readonly channels: Duplex[] = [];
  auto = true;

  channel(
    host: string,
    port: number,
    from: { address: string; port: number },
    done: (error: Error | undefined, channel?: Duplex) => void,
  ): void {
    const entry: Opened = {
      host,
      port,
      from,
      open: () => {
        const [ours, theirs] = duplexPair();
        this.channels.push(ours);
        this.remotes.push(theirs);
        done(undefined, ours);
        return theirs;
      },
      fail: (error) => done(error),
    };
    this.opened.push(entry);
    if (this.auto) entry.open();
  }
}

const listeners: CarriedListener[] = [];
const clients: Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

async function setup(target: () => { host: string; port: number } = () => ({ host: "10.96.0.9", port: 80 })) {
  const opener = new FakeOpener();
  const log: string[] = [];
  const carrier = new ChannelCarrier(opener, (line) => log.push(line));
  const listener = await carrier.listen("127.0.0.1", 0, target);
  listeners.push(listener);
  return { opener, carrier, listener, log };
}

async function dial(port: number): Promise<Socket> {
  const client = connect({ host: "127.0.0.1", port });
  clients.push(client);
  await once(client, "connect");
  return client;
}

/** Everything a stream gives until `length` bytes have come. */
async function readBytes(stream: Duplex | Socket, length: number): Promise<string> {
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  await eventually(() => text.length >= length, { what: `${length} bytes` });
  return text;
}

const closed = (stream: Duplex | Socket) =>
  (stream.destroyed && stream.closed) || once(stream, "close").then(() => true);

describe("ChannelCarrier", () => {
  it("targets are per connection: each accepted connection opens a channel to the target read then", async () => {
    let target = { host: "10.96.0.9", port: 80 };
    const { opener, listener } = await setup(() => target);
    expect(listener.port).toBeGreaterThan(0);
    const first = await dial(listener.port);
    await eventually(() => opener.opened.length === 1, { what: "the first channel" });
    target = { host: "10.96.0.77", port: 8080 };
    await dial(listener.port);
    await eventually(() => opener.opened.length === 2, { what: "the second channel" });
    expect(opener.opened.map((o) => `${o.host}:${o.port}`)).toEqual(["10.96.0.9:80", "10.96.0.77:8080"]);
    // sshd is told where the connection came from: our client's own address and port.
    expect(opener.opened[0]!.from).toEqual({ address: "127.0.0.1", port: first.localPort });
  });

  it("bytes flow both ways between the client and the node's end", async () => {
    const { opener, listener } = await setup();
    const client = await dial(listener.port);
    await eventually(() => opener.remotes.length === 1, { what: "a channel" });
    const remote = opener.remotes[0]!;
    const toNode = readBytes(remote, 18);
    client.write("GET / HTTP/1.0\r\n\r\n");
    expect(await toNode).toBe("GET / HTTP/1.0\r\n\r\n");
    const toClient = readBytes(client, 12);
    remote.write("HTTP/1.0 200");
    expect(await toClient).toBe("HTTP/1.0 200");
  });

  it("what the client sent before the channel opened reaches the node first", async () => {
    const { opener, listener } = await setup();
    opener.auto = false;
    const client = await dial(listener.port);
    client.write("early ");
    await eventually(() => opener.opened.length === 1, { what: "a channel request" });
    // The bytes are in the accepted socket's buffer before the channel exists.
    const remote = opener.opened[0]!.open();
    const received = readBytes(remote, 11);
    client.write("later");
    expect(await received).toBe("early later");
  });

  it("the channel closing closes the client's socket", async () => {
    const { opener, listener } = await setup();
    const client = await dial(listener.port);
    await eventually(() => opener.channels.length === 1, { what: "a channel" });
    const gone = closed(client);
    // ssh2 destroys a channel the server closed: that is its 'close'.
    opener.channels[0]!.destroy();
    expect(await gone).toBe(true);
  });

  it("the client's end of stream reaches the node as EOF; the node's answer and close end both", async () => {
    const { opener, listener } = await setup();
    const client = await dial(listener.port);
    await eventually(() => opener.remotes.length === 1, { what: "a channel" });
    const remote = opener.remotes[0]!;
    // Half-close is carried, as TCP's is: a client that sent its request and ended still gets the answer.
    remote.resume();
    const eof = once(remote, "end");
    client.end("request");
    await eof;
    const answer = readBytes(client, 6);
    const channelGone = closed(opener.channels[0]!);
    const clientGone = closed(client);
    remote.end("answer");
    expect(await answer).toBe("answer");
    expect(await channelGone).toBe(true);
    expect(await clientGone).toBe(true);
  });

  it("a client that resets its connection closes the channel", async () => {
    const { opener, listener } = await setup();
    const client = await dial(listener.port);
    await eventually(() => opener.channels.length === 1, { what: "a channel" });
    const gone = closed(opener.channels[0]!);
    client.resetAndDestroy();
    expect(await gone).toBe(true);
  });

  it("a channel that cannot open closes the client's socket", async () => {
    const { opener, listener } = await setup();
    opener.auto = false;
    const client = await dial(listener.port);
    await eventually(() => opener.opened.length === 1, { what: "a channel request" });
    const gone = closed(client);
    opener.opened[0]!.fail(new Error("the SSH link is reconnecting"));
    expect(await gone).toBe(true);
  });

  it("a client that resets before its channel opens: the channel that comes later is closed too", async () => {
    const { opener, listener } = await setup();
    opener.auto = false;
    const client = await dial(listener.port);
    await eventually(() => opener.opened.length === 1, { what: "a channel request" });
    client.resetAndDestroy();
    // Whether the reset is seen before or after the channel opens, no channel may outlive its client.
    opener.opened[0]!.open();
    await eventually(() => opener.channels[0]!.destroyed, { what: "the late channel destroyed" });
  });

  it("close() stops listening and ends the open connections", async () => {
    const { opener, listener } = await setup();
    const client = await dial(listener.port);
    await eventually(() => opener.channels.length === 1, { what: "a channel" });
    const clientGone = closed(client);
    const channelGone = closed(opener.channels[0]!);
    await listener.close();
    listeners.splice(listeners.indexOf(listener), 1);
    expect(await clientGone).toBe(true);
    expect(await channelGone).toBe(true);
    const refused = connect({ host: "127.0.0.1", port: listener.port });
    clients.push(refused);
    const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNREFUSED");
  });

  it("a port already taken rejects as net.Server does (EADDRINUSE), so ForwardListeners can call it port-in-use; the carrier logs nothing of it", async () => {
    const { listener, carrier, log } = await setup();
    await expect(
      carrier.listen("127.0.0.1", listener.port, () => ({ host: "10.96.0.9", port: 80 })),
    ).rejects.toMatchObject({ code: "EADDRINUSE" });
    expect(log).toEqual([]);
  });

  it("with ForwardListeners, a port in use is one line in the log, not two", async () => {
    const { listener } = await setup();
    const log: string[] = [];
    const forwards = new ForwardListeners(
      new ChannelCarrier(new FakeOpener(), (line) => log.push(line)),
      () => null,
      (line) => log.push(line),
      false,
    );
    const taken = {
      namespace: "default",
      name: "web",
      address: "127.0.0.1",
      port: listener.port,
      protocol: "TCP",
      targetHost: "10.96.0.9",
      targetPort: 80,
    };
    await forwards.apply([taken]);
    expect(forwards.statuses()[0]!.state).toBe("port-in-use");
    expect(log).toEqual([
      `default/web: cannot listen on 127.0.0.1:${listener.port}: 127.0.0.1:${listener.port} is in use by another program`,
    ]);
    await forwards.closeAll();
  });

  it("the carrier reads the target per connection, so it never needs a new listener for a new target", () => {
    expect(new ChannelCarrier(new FakeOpener(), () => undefined).fixedTarget).toBe(false);
  });
});
