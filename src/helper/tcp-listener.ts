import { type Server, type Socket, createServer } from "node:net";
import { type SecureLines, acceptChannel } from "../engine/elevation/tcp-channel.js";
import type { HelperConnection, HelperServer } from "./helper-server.js";

/**
 * The helper on a loopback TCP port (Windows; and the Linux tests of the same
 * code): each client proves the secret in the channel's handshake before the
 * helper reads a request, so requests no longer carry it; the helper adds it
 * back for the server's own check, which then runs unchanged. How many
 * connections may be in their handshake is the channel's to bound
 * (`acceptChannel` evicts the oldest).
 */
export async function listenTcp(
  helper: HelperServer,
  secret: string,
  log: (line: string) => void,
  host = "127.0.0.1",
): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    acceptChannel(socket, secret).then(
      (lines) => helper.accept(channelConnection(socket, lines, secret)),
      (error: Error) => {
        socket.destroy();
        log(`refused a TCP client: ${error.message}`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => resolve());
  });
  return { port: (server.address() as { port: number }).port, server };
}

function channelConnection(socket: Socket, lines: SecureLines, secret: string): HelperConnection {
  return {
    onLine: (listener) =>
      lines.onLine((body) => {
        let request: unknown;
        try {
          request = JSON.parse(body);
        } catch {
          return listener(body);
        }
        listener(
          request !== null && typeof request === "object" && !Array.isArray(request)
            ? JSON.stringify({ ...request, secret })
            : body,
        );
      }),
    send: (response) => lines.write(JSON.stringify(response)),
    onClose: (listener) => void socket.on("close", listener),
    end: (response) => {
      if (response) lines.write(JSON.stringify(response));
      socket.end();
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}
