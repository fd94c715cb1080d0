import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, ClientError } from "../../client/errors.ts";
import { scoreCsvFile, readText as text } from "../../client/scoring.ts";

// `byom score --csv` sends the file as text/csv, streamed. These servers speak real HTTP on
// loopback and record what reached them; test/cli/deploy.test.ts runs the same path against a
// real scorer.

interface Seen {
  headers: IncomingMessage["headers"];
  bytes: number;
  body: Buffer;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void,
  options: { onExpect?: "refuse" | "ignore" } = {},
): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const record: Seen = { headers: req.headers, bytes: 0, body: Buffer.alloc(0) };
    seen.push(record);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      record.bytes += chunk.length;
      chunks.push(chunk);
    });
    req.on("end", () => {
      record.body = Buffer.concat(chunks);
      handler(req, res, record);
    });
  };
  server.on("request", handle);
  if (options.onExpect === "refuse") {
    // Answers before the body: what the scorer does for a missing passphrase.
    server.on("checkContinue", (req, res) => {
      seen.push({ headers: req.headers, bytes: 0, body: Buffer.alloc(0) });
      res.writeHead(401, { "content-type": "application/json", connection: "close" });
      res.end(
        JSON.stringify({ detail: "this deployment needs the header Authorization: Bearer <passphrase>" }),
      );
    });
  } else if (options.onExpect === "ignore") {
    // Never sends 100 Continue: the client has to send the body anyway.
    server.on("checkContinue", handle);
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dep-1`, seen };
}

describe("byom score --csv: the file goes to the scorer as it is", () => {
  let work: string;
  let file: string;
  const content = `age,income\n${Array.from({ length: 20_000 }, (_, i) => `${i % 90},${i * 1.5}`).join("\n")}\n`;
  const servers: Server[] = [];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "byom-score-csv-"));
    file = join(work, "rows.csv");
    writeFileSync(file, content);
  });
  afterAll(() => {
    for (const server of servers) server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("streams the bytes as text/csv with their length and asks for the answer's format", async () => {
    const { server, url, seen } = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/csv; charset=utf-8" });
      res.end('"prediction"\n1\n0\n');
    });
    servers.push(server);
    const answer = await scoreCsvFile(url, file, "text/csv", "open sesame");
    expect(await text(answer)).toBe('"prediction"\n1\n0\n');
    expect(seen).toHaveLength(1);
    const [request] = seen as [Seen];
    expect(request.headers["content-type"]).toBe("text/csv");
    expect(request.headers["content-length"]).toBe(String(Buffer.byteLength(content)));
    expect(request.headers.accept).toBe("text/csv");
    expect(request.headers.expect).toBe("100-continue");
    expect(request.headers.authorization).toBe("Bearer open sesame");
    expect(request.body.toString("utf8")).toBe(content);
  });

  it("takes a refusal before the body and sends none of it, with the hint to act on", async () => {
    const { server, url, seen } = await listen(() => undefined, { onExpect: "refuse" });
    servers.push(server);
    const refusal = await scoreCsvFile(url, file, "application/json").catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ApiError);
    expect((refusal as ApiError).status).toBe(401);
    expect((refusal as ApiError).message).toContain("pass --passphrase or set BYOM_PASSPHRASE");
    expect(seen.map((s) => s.bytes)).toEqual([0]);
  });

  it("sends the body anyway to a server that never answers 100 Continue", async () => {
    const { server, url, seen } = await listen((_req, res, record) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "m", fields: ["rows"], score: [[String(record.bytes)]] }));
    });
    servers.push(server);
    // listen() above answers 100 Continue itself (Node's default); this one does not.
    const silent = await listen(
      (_req, res, record) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "m", fields: ["rows"], score: [[String(record.bytes)]] }));
      },
      { onExpect: "ignore" },
    );
    servers.push(silent.server);
    for (const target of [url, silent.url]) {
      const answer = JSON.parse(await text(await scoreCsvFile(target, file, "application/json")));
      expect(answer.score).toEqual([[String(Buffer.byteLength(content))]]);
    }
    expect(seen).toHaveLength(1);
    expect(silent.seen).toHaveLength(1);
  });

  it("words the scorer's 400 as it is, and refuses an empty or missing file before any request", async () => {
    const { server, url } = await listen((_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ detail: "missing required column 'tenure' (Float64)" }));
    });
    servers.push(server);
    await expect(scoreCsvFile(url, file, "text/csv")).rejects.toThrow(
      "The scorer refused the request: missing required column 'tenure' (Float64).",
    );
    const empty = join(work, "empty.csv");
    writeFileSync(empty, "");
    await expect(scoreCsvFile(url, empty, "text/csv")).rejects.toThrow(
      new ClientError(`${empty} is empty: it needs a header line of column names.`),
    );
    await expect(scoreCsvFile(url, join(work, "nope.csv"), "text/csv")).rejects.toThrow(/does not exist/);
  });

  it("says the deployment cannot be reached when nothing listens", async () => {
    const { server, url } = await listen(() => undefined);
    await new Promise((resolve) => server.close(resolve));
    await expect(scoreCsvFile(url, file, "text/csv")).rejects.toThrow(
      /Cannot reach the deployment at .*ECONNREFUSED/,
    );
  });
});
