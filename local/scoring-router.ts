import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import { pipeline } from "node:stream/promises";
import type { TrafficRule } from "#lambdas/deployments/serving/serving-port.ts";
import { listenOnLoopback, readBodyWithin } from "./loopback-http.ts";

/** Larger request bodies are refused with 413, as the runtime would. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
/**
 * Columnar score bodies (Arrow, Parquet, CSV) are streamed through, not buffered: the runtime
 * spools them and reads them batch by batch (docs/runtimes.md), up to its own, larger limit.
 */
const COLUMNAR = new Set([
  "application/vnd.apache.arrow.stream",
  "application/vnd.apache.parquet",
  "text/csv",
]);

/** What the router forwards to: the replicas registered in target groups (local/local-serving.ts). */
export interface RouterTargets {
  /** The next replica of a target group (round robin), none of `tried`; undefined when none runs. */
  pick(targetGroupArn: string, tried: ReadonlySet<string>): { id: string; port: number } | undefined;
  /** A request to the group began / ended: the in-flight count local autoscaling tracks. */
  begin(targetGroupArn: string): void;
  end(targetGroupArn: string): void;
  /**
   * A request is sent to a replica picked for it; the returned function is called once it has
   * been answered (or failed): a replica leaving the rotation is stopped only once it has none.
   */
  forwarding(id: string): () => void;
  /** A replica refused or dropped the connection before answering. */
  unreachable(targetGroupArn: string, id: string): void;
}

/** Which replica answered (local mode only: the ALB names none). */
export const REPLICA_HEADER = "x-byom-replica";

/** Connection failures before any answer: the request can go to another replica. */
const NOT_ANSWERED = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE"]);

/**
 * Local mode's stand-in for the scoring ALB and its listeners' rules. A rule matches a path prefix
 * (`/{deploymentId}`, a slot's own prefix, or the shadow prefix champions send their copies to),
 * strips it (the ALB's URL rewrite transform) and forwards to one of its weighted target groups.
 * One loopback port serves the scoring and the shadow listener's rules alike. Within a target group
 * it goes round robin over the healthy replicas; a replica that refuses or drops the connection
 * before answering (it was killed) gets the request's next try on another one (scoring is free of
 * side effects, and a buffered body can be sent again), so a dead replica costs no failed request.
 */
export class ScoringRouter {
  private readonly rules = new Map<string, TrafficRule>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private server: Server | undefined;

  constructor(private readonly targets: RouterTargets) {}

  putRule(ruleId: string, rule: TrafficRule): void {
    this.rules.set(ruleId, rule);
  }

  deleteRule(ruleId: string): void {
    this.rules.delete(ruleId);
  }

  async listen(port: number): Promise<number> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) reply(res, 502, `The router failed: ${(error as Error).message}`);
        else res.destroy();
      });
    });
    this.server = server;
    return listenOnLoopback(
      server,
      port,
      `Scoring port ${port} on 127.0.0.1 is in use. Set BYOM_SCORING_PORT to another port.`,
    );
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    this.agent.destroy();
  }

  private match(path: string): TrafficRule | undefined {
    let best: TrafficRule | undefined;
    for (const rule of this.rules.values()) {
      const prefix = rule.pathPrefix;
      if (
        (path === prefix || path.startsWith(`${prefix}/`)) &&
        (!best || prefix.length > best.pathPrefix.length)
      ) {
        best = rule;
      }
    }
    return best;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://router");
    const rule = this.match(url.pathname);
    if (!rule) {
      reply(res, 404, "No deployment answers at this path. Score at /{deploymentId}/model/score.");
      return;
    }
    const mediaType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    const body = COLUMNAR.has(mediaType) ? req : await readBodyWithin(req, MAX_BODY_BYTES);
    if (body === undefined) {
      reply(res, 413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
      return;
    }
    const target = pickWeighted(rule);
    if (!target) {
      reply(res, 503, "The deployment has no running runtime right now; retry shortly.");
      return;
    }
    const group = target.targetGroupArn;
    const path = (url.pathname.slice(rule.pathPrefix.length) || "/") + url.search;
    const tried = new Set<string>();
    this.targets.begin(group);
    try {
      for (;;) {
        const replica = this.targets.pick(group, tried);
        if (!replica) {
          reply(res, 503, "The deployment has no running runtime right now; retry shortly.");
          return;
        }
        tried.add(replica.id);
        const answered = this.targets.forwarding(replica.id);
        try {
          const upstream = await forward(this.agent, replica.port, req, path, body).catch(
            (error: NodeJS.ErrnoException) => error,
          );
          if (upstream instanceof Error) {
            const unanswered = NOT_ANSWERED.has(upstream.code ?? "") || upstream.message === "socket hang up";
            if (unanswered) this.targets.unreachable(group, replica.id);
            if (unanswered && Buffer.isBuffer(body)) continue;
            reply(res, 502, `The runtime did not answer: ${upstream.message}`);
          } else {
            res.writeHead(upstream.status, { ...upstream.headers, [REPLICA_HEADER]: replica.id });
            if (Buffer.isBuffer(upstream.body)) res.end(upstream.body);
            // A columnar answer is passed on as it comes (it can be as large as its body); the
            // replica counts as answering until its last byte is relayed.
            else await pipeline(upstream.body, res).catch(() => res.destroy());
          }
          return;
        } finally {
          answered();
        }
      }
    } finally {
      this.targets.end(group);
    }
  }
}

function pickWeighted(rule: TrafficRule) {
  const candidates = rule.targets.filter((t) => t.weight > 0);
  const total = candidates.reduce((sum, t) => sum + t.weight, 0);
  let draw = Math.random() * total;
  for (const candidate of candidates) {
    draw -= candidate.weight;
    if (draw < 0) return candidate;
  }
  return candidates[candidates.length - 1];
}

interface UpstreamAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  /** Buffered for a buffered request (which can be retried elsewhere), a stream for a streamed one. */
  readonly body: Buffer | IncomingMessage;
}

const HOP_BY_HOP = new Set([
  "connection",
  "expect", // this router answered the client's 100-continue itself
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

function forward(
  agent: Agent,
  port: number,
  req: IncomingMessage,
  path: string,
  body: Buffer | IncomingMessage,
): Promise<UpstreamAnswer> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  if (Buffer.isBuffer(body)) headers["content-length"] = String(body.length);
  else if (req.headers["content-length"]) headers["content-length"] = req.headers["content-length"];
  else headers["transfer-encoding"] = "chunked";
  headers["x-forwarded-for"] = req.socket.remoteAddress ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const upstream = request(
      { host: "127.0.0.1", port, method: req.method, path, headers, agent, timeout: 60_000 },
      (response) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        }
        const status = response.statusCode ?? 502;
        if (!Buffer.isBuffer(body)) {
          resolve({ status, headers: out, body: response });
          return;
        }
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => resolve({ status, headers: out, body: Buffer.concat(chunks) }));
      },
    );
    upstream.on("timeout", () => upstream.destroy(new Error("timed out after 60 s")));
    upstream.on("error", reject);
    if (Buffer.isBuffer(body)) upstream.end(body);
    else body.pipe(upstream);
  });
}

function reply(res: ServerResponse, status: number, detail: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ detail }));
}
