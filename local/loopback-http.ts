/**
 * The HTTP pieces every local server shares (the API gateway, the scoring router, the emulator
 * guards): listening on loopback with a message that says which setting to change when the port is
 * taken, and reading a request body with a size bound.
 */
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Listens on 127.0.0.1:`port` (0: any free port) and answers the port bound. */
export function listenOnLoopback(server: Server, port: number, whenInUse: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? new Error(whenInUse) : error),
    );
    server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** The whole request body, or undefined as soon as it exceeds `maxBytes` (the rest is not read). */
export async function readBodyWithin(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
