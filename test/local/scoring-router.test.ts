import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPLICA_HEADER, ScoringRouter } from "#local/scoring-router.ts";

/** A runtime stand-in that answers with the number of body bytes it received. */
let upstream: Server;
let router: ScoringRouter;
let routerPort: number;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ path: req.url, bytes, forwardedFor: req.headers["x-forwarded-for"] }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", () => resolve()));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  router = new ScoringRouter({
    pick: (arn, tried) => (arn === "tg-1" && !tried.has("a") ? { id: "a", port: upstreamPort } : undefined),
    begin: () => undefined,
    end: () => undefined,
    forwarding: () => () => undefined,
    unreachable: () => undefined,
  });
  routerPort = await serve(router, "d-1", "tg-1");
});

/** The router with one rule: `/{deploymentId}` to target group `targetGroupArn`; its port. */
function serve(router: ScoringRouter, deploymentId: string, targetGroupArn: string): Promise<number> {
  router.putRule("r", {
    deploymentId,
    pathPrefix: `/${deploymentId}`,
    targets: [{ targetGroupArn, weight: 100 }],
  });
  return router.listen(0);
}

afterAll(async () => {
  await router?.close();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

function post(path: string, contentType: string, size: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: routerPort, method: "POST", path, headers: { "content-type": contentType } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on("error", reject);
    // Sent in 1 MiB chunks without a Content-Length (chunked), as a streaming client would.
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += piece.length;
        if (!req.write(piece)) {
          req.once("drain", pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe("the local scoring router", () => {
  it("streams columnar score bodies past the JSON limit to the runtime, and routes /v2", async () => {
    const size = 70 * 1024 * 1024; // over the 64 MiB JSON limit
    const csv = await post("/d-1/model/score", "text/csv; charset=utf-8", size);
    expect(csv.status).toBe(200);
    expect(csv.body).toMatchObject({ path: "/model/score", bytes: size });
    const json = await post("/d-1/model/score", "application/json", size);
    expect(json.status).toBe(413);
    const v2 = await post("/d-1/v2/models/churn/infer", "application/json", 10);
    expect(v2.body).toMatchObject({ path: "/v2/models/churn/infer", bytes: 10, forwardedFor: "127.0.0.1" });
  }, 120_000);
});

describe("the router's replicas", () => {
  it("go round robin, and a request a dead replica refuses goes to another one", async () => {
    // Two live replicas and one whose port refuses connections (its process was killed).
    const servers = await Promise.all(
      ["r0", "r1"].map(async (id) => {
        const server = createServer((_req, res) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ id }));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
        return { id, server, port: (server.address() as AddressInfo).port };
      }),
    );
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", () => resolve()));
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const replicas = [{ id: "dead", port: deadPort }, ...servers.map(({ id, port }) => ({ id, port }))];
    let next = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const unreachable: string[] = [];
    /** Per replica: requests sent and not yet answered (what a draining replica waits for). */
    const open = new Map<string, number>();
    const sent: string[] = [];
    const local = new ScoringRouter({
      pick: (_arn, tried) => {
        const pool = replicas.filter((r) => !tried.has(r.id));
        return pool.length ? pool[next++ % pool.length] : undefined;
      },
      begin: () => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
      },
      end: () => {
        inFlight -= 1;
      },
      forwarding: (id) => {
        sent.push(id);
        open.set(id, (open.get(id) ?? 0) + 1);
        return () => open.set(id, (open.get(id) ?? 0) - 1);
      },
      unreachable: (_arn, id) => {
        unreachable.push(id);
      },
    });
    const port = await serve(local, "d", "tg");
    try {
      const answered: string[] = [];
      for (let i = 0; i < 9; i++) {
        const response = await fetch(`http://127.0.0.1:${port}/d/model/score`, {
          method: "POST",
          body: "{}",
        });
        expect(response.status).toBe(200);
        const { id } = (await response.json()) as { id: string };
        expect(response.headers.get(REPLICA_HEADER)).toBe(id);
        answered.push(id);
      }
      // Every request answered by a live replica; both live replicas took turns.
      expect(new Set(answered)).toEqual(new Set(["r0", "r1"]));
      expect(unreachable.length).toBeGreaterThan(0);
      expect(new Set(unreachable)).toEqual(new Set(["dead"]));
      expect(inFlight).toBe(0);
      expect(maxInFlight).toBe(1);
      // Every try was counted against its replica, the refused ones included, and released.
      expect(sent.filter((id) => id !== "dead")).toHaveLength(9);
      expect(sent).toContain("dead");
      expect([...open.values()]).toEqual([0, 0, 0].slice(0, open.size));
    } finally {
      await local.close();
      for (const { server } of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("a columnar answer", () => {
  it("is relayed as it comes, and its replica counts as answering until the last byte", async () => {
    let finish: (() => void) | undefined;
    const replica = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/csv; charset=utf-8" });
        res.write('"prediction"\n1\n');
        finish = () => res.end("0\n");
      });
    });
    await new Promise<void>((resolve) => replica.listen(0, "127.0.0.1", () => resolve()));
    const port = (replica.address() as AddressInfo).port;
    let answering = 0;
    const streaming = new ScoringRouter({
      pick: (_arn, tried) => (tried.has("s") ? undefined : { id: "s", port }),
      begin: () => undefined,
      end: () => undefined,
      forwarding: () => {
        answering += 1;
        return () => {
          answering -= 1;
        };
      },
      unreachable: () => undefined,
    });
    const routerAt = await serve(streaming, "d-s", "tg");
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: routerAt,
            method: "POST",
            path: "/d-s/model/score",
            headers: { "content-type": "text/csv" },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              text += chunk;
              // The first rows arrived while the replica is still writing the answer.
              if (text === '"prediction"\n1\n') {
                expect(answering).toBe(1);
                finish?.();
              }
            });
            res.on("end", () => resolve(text));
          },
        );
        req.on("error", reject);
        req.end("a,b\n1,2\n");
      });
      expect(body).toBe('"prediction"\n1\n0\n');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(answering).toBe(0);
    } finally {
      await streaming.close();
      await new Promise<void>((resolve) => replica.close(() => resolve()));
    }
  });
});
