import { type Server, type Socket, createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { socks5Connect } from "./socks5-client.js";

// The client against a scripted SOCKS5 server that checks each byte it is sent and answers as told.

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** Reads exactly n bytes from a socket, however they arrive. */
function readExactly(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < n) return;
      socket.off("data", onData);
      socket.pause();
      if (got.length > n) socket.unshift(got.subarray(n));
      resolve(got.subarray(0, n));
    };
    socket.on("data", onData);
    socket.resume();
  });
}

/** A proxy on a free port whose every connection runs script; what each saw is kept in `seen`. */
async function proxy(script: (socket: Socket, seen: Buffer[]) => Promise<void>) {
  const seen: Buffer[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    void script(socket, seen);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  return { port: (server.address() as { port: number }).port, seen };
}

function open(port: number, host = "10.96.0.20", targetPort = 80, timeoutMs?: number) {
  return new Promise<Socket>((resolve, reject) =>
    socks5Connect(
      { host: "127.0.0.1", port },
      { host, port: targetPort },
      (error, socket) => (error ? reject(error) : (sockets.add(socket!), resolve(socket!))),
      timeoutMs === undefined ? {} : { timeoutMs },
    ),
  );
}

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (d: Buffer) => (text += d.toString()));
    socket.on("end", () => resolve(text));
    socket.resume();
  });
}

/** A server that greets and grants as RFC 1928 has it, with `reply` as the CONNECT reply, then runs `after`. */
const granting = (reply: number[], after: (socket: Socket) => void = () => undefined) =>
  proxy(async (socket, seen) => {
    seen.push(await readExactly(socket, 3));
    socket.write(Buffer.from([5, 0]));
    seen.push(await readExactly(socket, 10));
    socket.write(Buffer.from(reply));
    after(socket);
  });

describe("SOCKS5 CONNECT requests (RFC 1928, section 4), as they reach the proxy", () => {
  it.each([
    ["10.96.0.20", 8080, [5, 1, 0, 1, 10, 96, 0, 20, 0x1f, 0x90]],
    ["fd00:10:96::20", 443, [5, 1, 0, 4, 0xfd, 0, 0, 0x10, 0, 0x96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 1, 0xbb]],
    ["web.default.svc", 80, [5, 1, 0, 3, 15, ...Buffer.from("web.default.svc"), 0, 80]],
  ] as const)(
    "%s:%i: an IPv4 address as 4 bytes, an IPv6 address as 16, anything else by name",
    async (host, port, bytes) => {
      const p = await proxy(async (socket, seen) => {
        seen.push(await readExactly(socket, 3));
        socket.write(Buffer.from([5, 0]));
        seen.push(await readExactly(socket, bytes.length));
        socket.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
        socket.end();
      });
      await open(p.port, host, port);
      expect(p.seen.map((b) => [...b])).toEqual([[5, 1, 0], [...bytes]]);
    },
  );

  it("a port out of range is refused before anything is sent", async () => {
    await expect(open(1, "10.0.0.1", 65_536)).rejects.toThrow("SOCKS5 CONNECT to 10.0.0.1:65536: not a port");
  });
});

describe("socks5Connect", () => {
  it("greets with no authentication only, waits for the method, sends CONNECT, and hands over the socket once granted", async () => {
    const p = await granting([5, 0, 0, 1, 0, 0, 0, 0, 0, 0], (socket) => socket.end("hello from the target"));
    const socket = await open(p.port);
    expect(await readAll(socket)).toBe("hello from the target");
    expect(p.seen.map((b) => [...b])).toEqual([
      [5, 1, 0],
      [5, 1, 0, 1, 10, 96, 0, 20, 0, 80],
    ]);
  });

  it("the target's first bytes, come with the reply in one write, reach the caller first and in order", async () => {
    const p = await granting([5, 0, 0, 1, 0, 0, 0, 0, 0, 0], (socket) => socket.end("second"));
    const withReply = await proxy(async (socket) => {
      await readExactly(socket, 3);
      socket.write(Buffer.from([5, 0]));
      await readExactly(socket, 10);
      socket.write(Buffer.concat([Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from("first,")]));
      socket.end("second");
    });
    expect(await readAll(await open(withReply.port))).toBe("first,second");
    expect(await readAll(await open(p.port))).toBe("second");
  });

  it("replies with an IPv6 or a named bound address, and replies that come a byte at a time, are read whole", async () => {
    const ipv6 = await granting([5, 0, 0, 4, ...Array<number>(16).fill(0), 0, 0], (s) => s.end("v6"));
    expect(await readAll(await open(ipv6.port))).toBe("v6");
    const named = await granting([5, 0, 0, 3, 4, ...Buffer.from("node"), 0, 22], (s) => s.end("named"));
    expect(await readAll(await open(named.port))).toBe("named");
    const trickle = await proxy(async (socket) => {
      await readExactly(socket, 3);
      for (const byte of [5, 0]) socket.write(Buffer.from([byte]));
      await readExactly(socket, 10);
      for (const byte of [5, 0, 0, 1, 0, 0, 0, 0, 0, 0]) socket.write(Buffer.from([byte]));
      socket.end("slow");
    });
    expect(await readAll(await open(trickle.port))).toBe("slow");
  });

  it("a CONNECT the proxy refuses rejects with RFC 1928's words for the reply", async () => {
    const refused = await granting([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    await expect(open(refused.port)).rejects.toThrow(/^SOCKS5 CONNECT to 10\.96\.0\.20:80: .*ConnectionRefused/);
    const unknown = await granting([5, 9, 0, 1, 0, 0, 0, 0, 0, 0]);
    await expect(open(unknown.port, "fd00::1", 443)).rejects.toThrow(/^SOCKS5 CONNECT to \[fd00::1\]:443: /);
  });

  it("a proxy that wants authentication, or is not SOCKS5, is refused by name", async () => {
    const auth = await proxy(async (socket) => {
      await readExactly(socket, 3);
      socket.write(Buffer.from([5, 0xff]));
    });
    await expect(open(auth.port)).rejects.toThrow(/^SOCKS5 CONNECT to 10\.96\.0\.20:80: .*authentication/);
    const socks4 = await proxy(async (socket) => {
      await readExactly(socket, 3);
      socket.write(Buffer.from([0, 0x5a]));
    });
    await expect(open(socks4.port)).rejects.toThrow(/^SOCKS5 CONNECT to 10\.96\.0\.20:80: .*invalid/i);
  });

  it("a proxy that closes during the handshake, is not there, or says nothing rejects instead of hanging", async () => {
    const closing = await proxy(async (socket) => {
      await readExactly(socket, 3);
      socket.end();
    });
    await expect(open(closing.port)).rejects.toThrow(/^SOCKS5 CONNECT to 10\.96\.0\.20:80: .*closed/i);
    const gone = await proxy(async () => undefined);
    const port = gone.port;
    await new Promise((resolve) => servers.pop()!.close(resolve));
    await expect(open(port)).rejects.toThrow(/ECONNREFUSED/);
    const silent = await proxy(async () => undefined);
    await expect(open(silent.port, "10.96.0.20", 80, 50)).rejects.toThrow(
      /^SOCKS5 CONNECT to 10\.96\.0\.20:80: .*timed out/i,
    );
  });
});
