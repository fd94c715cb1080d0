import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import { listenOnLoopback, readBodyWithin } from "./loopback-http.ts";

/**
 * Local mode's emulators (dynalite, s3rver, the Step Functions stand-in) accept any request they
 * can parse: dynalite even answers every origin with `Access-Control-Allow-Origin: *`. Each one
 * therefore listens on a Unix socket in a private folder, and this guard is the only way in, on
 * 127.0.0.1:<port>. It refuses what a web page open in the developer's browser can send (an
 * `Origin` header, `Sec-Fetch-Site: cross-site|same-site`, a Host other than 127.0.0.1:<port>,
 * which DNS rebinding needs) and every request not signed (SigV4) with the credentials made for
 * this start. docs/local-mode.md describes it.
 */
export interface EmulatorCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Fresh credentials for one start of local mode: nothing outside `.byom/local.json` knows them. */
export function newEmulatorCredentials(): EmulatorCredentials {
  return {
    accessKeyId: `BYOM${randomBytes(8).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64url"),
  };
}

export interface GuardOptions {
  /** For messages: "S3 emulator". */
  readonly what: string;
  readonly port: number;
  /** The emulator's own Unix socket. */
  readonly upstreamSocket: string;
  readonly credentials: EmulatorCredentials;
  /**
   * The SDK signs DynamoDB's and Step Functions' bodies without sending their hash: the guard reads
   * the body to check it. S3 requests carry `x-amz-content-sha256` (or are presigned), and are
   * streamed through unread (parts of several GB).
   */
  readonly bodyInSignature: boolean;
}

/** Larger DynamoDB / Step Functions requests than this are refused (DynamoDB's own limit is 16 MB). */
const MAX_SIGNED_BODY_BYTES = 32 * 1024 * 1024;
/** How far a header-signed request's x-amz-date may be from now, as AWS allows. */
const CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface GuardedEndpoint {
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function guardEmulator(options: GuardOptions): Promise<GuardedEndpoint> {
  let host = "";
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) refuse(res, 502, `${options.what}: ${error.message}`);
      else res.destroy(error);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const browser = browserRefusal(req, host);
    if (browser) return refuse(res, 403, `${options.what}: ${browser}`);
    const body = options.bodyInSignature ? await readBodyWithin(req, MAX_SIGNED_BODY_BYTES) : undefined;
    if (options.bodyInSignature && body === undefined)
      return refuse(res, 413, `${options.what}: the request body is too large.`);
    const problem = signatureProblem(req, body, options.credentials, options.bodyInSignature);
    if (problem) return refuse(res, 403, `${options.what}: ${problem}`);
    await forward(req, res, options.upstreamSocket, body);
  }

  const port = await listenOnLoopback(
    server,
    options.port,
    `${options.what}: port ${options.port} on 127.0.0.1 is in use. Stop what holds it or choose another port.`,
  );
  host = `127.0.0.1:${port}`;
  // Multi-GB part uploads take long on a busy machine; S3 itself has no request timeout.
  server.requestTimeout = 0;
  return {
    endpoint: `http://${host}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Why a request looks like it comes from a browser page, or undefined. */
export function browserRefusal(req: IncomingMessage, expectedHost: string): string | undefined {
  if (req.headers.origin !== undefined) {
    return "requests with an Origin header (from a web page) are refused; local mode's emulators serve only local processes.";
  }
  const site = req.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") {
    return `requests with Sec-Fetch-Site: ${site} (from a web page) are refused.`;
  }
  if (req.headers.host !== expectedHost) {
    return `the Host header must be ${expectedHost}; '${req.headers.host ?? ""}' is refused (DNS rebinding).`;
  }
  return undefined;
}

interface ParsedAuth {
  readonly accessKeyId: string;
  /** date/region/service/aws4_request */
  readonly scope: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly amzDate: string;
  readonly presigned: boolean;
  readonly expiresSeconds?: number;
}

const AUTH_HEADER =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** What is wrong with the request's SigV4 signature, or undefined when it was made with `credentials`. */
export function signatureProblem(
  req: IncomingMessage,
  body: Buffer | undefined,
  credentials: EmulatorCredentials,
  bodyInSignature: boolean,
): string | undefined {
  const url = new URL(req.url ?? "/", "http://guard");
  const auth = parseAuth(req, url);
  if (!auth) {
    return "the request is not signed. Sign it (SigV4) with the credentials in .byom/local.json (awsAccessKeyId, awsSecretAccessKey).";
  }
  if (!safeEqual(auth.accessKeyId, credentials.accessKeyId)) {
    return "unknown access key: local mode makes new credentials at every start; take them from .byom/local.json.";
  }
  if (!auth.signedHeaders.includes("host")) return "the signature must cover the Host header.";
  const signedAt = Date.parse(
    auth.amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"),
  );
  if (Number.isNaN(signedAt) || !auth.amzDate.startsWith(auth.scopeDate))
    return "the signing date is malformed.";
  if (auth.presigned) {
    if (Date.now() > signedAt + (auth.expiresSeconds ?? 0) * 1000) return "the presigned URL has expired.";
  } else if (Math.abs(Date.now() - signedAt) > CLOCK_SKEW_MS) {
    return "the signature's date is more than 15 minutes away from now.";
  }
  const payloadHash = (() => {
    const declared = req.headers["x-amz-content-sha256"];
    if (typeof declared === "string" && !bodyInSignature) return declared;
    if (auth.presigned && !bodyInSignature) return "UNSIGNED-PAYLOAD";
    if (body !== undefined) return createHash("sha256").update(body).digest("hex");
    return undefined;
  })();
  if (payloadHash === undefined) return "the request carries no x-amz-content-sha256 header.";
  const canonicalRequest = [
    req.method ?? "GET",
    canonicalPath(url.pathname, auth.service),
    canonicalQuery(req.url ?? "/"),
    ...auth.signedHeaders.map((name) => `${name}:${headerValue(req, name)}`),
    "",
    auth.signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    auth.amzDate,
    auth.scope,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  let key: Buffer = createHmac("sha256", `AWS4${credentials.secretAccessKey}`)
    .update(auth.scopeDate)
    .digest();
  for (const part of [auth.region, auth.service, "aws4_request"])
    key = createHmac("sha256", key).update(part).digest();
  const expected = createHmac("sha256", key).update(stringToSign).digest("hex");
  return safeEqual(expected, auth.signature) ? undefined : "the signature does not match.";
}

function parseAuth(req: IncomingMessage, url: URL): ParsedAuth | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = AUTH_HEADER.exec(header);
    const amzDate = req.headers["x-amz-date"];
    if (!m || typeof amzDate !== "string") return undefined;
    const [, accessKeyId, scopeDate, region, service, signedHeaders, signature] = m as unknown as string[];
    return {
      ...credentialScope(accessKeyId, scopeDate, region, service),
      signedHeaders: (signedHeaders as string).split(";"),
      signature: signature as string,
      amzDate,
      presigned: false,
    };
  }
  const q = url.searchParams;
  if (q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") return undefined;
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(
    q.get("X-Amz-Credential") ?? "",
  );
  const signature = q.get("X-Amz-Signature") ?? "";
  const amzDate = q.get("X-Amz-Date") ?? "";
  const expires = Number(q.get("X-Amz-Expires"));
  if (!credential || !/^[0-9a-f]{64}$/.test(signature) || !Number.isInteger(expires)) return undefined;
  const [, accessKeyId, scopeDate, region, service] = credential as unknown as string[];
  return {
    ...credentialScope(accessKeyId, scopeDate, region, service),
    signedHeaders: (q.get("X-Amz-SignedHeaders") ?? "").split(";"),
    signature,
    amzDate,
    presigned: true,
    expiresSeconds: expires,
  };
}

/**
 * The parts of a SigV4 credential (access key id/date/region/service/aws4_request), as matched
 * from the Authorization header or the presigned URL's X-Amz-Credential.
 */
function credentialScope(
  accessKeyId = "",
  scopeDate = "",
  region = "",
  service = "",
): Pick<ParsedAuth, "accessKeyId" | "scope" | "scopeDate" | "region" | "service"> {
  return { accessKeyId, scope: `${scopeDate}/${region}/${service}/aws4_request`, scopeDate, region, service };
}

/** RFC 3986 encoding, as SigV4 wants it. */
const encode = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** S3 signs the path as sent; every other service signs it encoded once more. */
function canonicalPath(rawPath: string, service: string): string {
  if (service === "s3") return rawPath;
  return rawPath
    .split("/")
    .map((segment) => encode(segment))
    .join("/");
}

function canonicalQuery(rawUrl: string): string {
  const query = rawUrl.includes("?") ? rawUrl.slice(rawUrl.indexOf("?") + 1) : "";
  return query
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const at = pair.indexOf("=");
      const key = decodeURIComponent(at < 0 ? pair : pair.slice(0, at));
      const value = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1));
      return [encode(key), encode(value)] as const;
    })
    .filter(([key]) => key !== "X-Amz-Signature")
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}

function headerValue(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  return text.trim().replace(/\s+/g, " ");
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  socketPath: string,
  body: Buffer | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const upstream = request(
      { socketPath, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on("end", () => resolve());
        answer.on("error", reject);
      },
    );
    upstream.on("error", reject);
    if (body !== undefined) upstream.end(body);
    else req.pipe(upstream);
  });
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ __type: "AccessDenied", message }));
}
