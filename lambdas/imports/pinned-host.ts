import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { NotFoundError, UpstreamError, ValidationFailedError } from "#lambdas/shared/errors.ts";

/**
 * Where an import may connect. A tracking URI is the caller's to choose, so without a check it
 * could aim Byom at the cloud's metadata service or at anything inside the VPC. The host is
 * resolved once, every address it resolves to is checked, and the connection goes to the checked
 * address (never a second lookup that DNS rebinding could answer differently). docs/ingestion.md.
 */
export interface PinnedHost {
  readonly hostname: string;
  readonly address: string;
  readonly family: 4 | 6;
}

const RANGES: ReadonlyArray<readonly [string, number, "ipv4" | "ipv6", string]> = [
  ["0.0.0.0", 8, "ipv4", "unspecified"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "shared (carrier-grade NAT)"],
  ["169.254.0.0", 16, "ipv4", "link-local (cloud metadata)"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["fc00::", 7, "ipv6", "unique local"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["ff00::", 8, "ipv6", "multicast"],
  ["64:ff9b::", 96, "ipv6", "NAT64 (embeds an IPv4 address)"],
];

const LISTS = RANGES.map(([network, prefix, type, kind]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, type);
  return { list, type, kind };
});

/** Why Byom will not connect to `address` ("loopback", "private" …), or undefined for a public one. */
export function refusedKind(address: string): string | undefined {
  // ::ffff:a.b.c.d (IPv4-mapped, also written ::ffff:7f00:1) reaches the IPv4 address it carries.
  const mapped = /^::ffff:(?:0:)?(.+)$/i.exec(address)?.[1];
  if (mapped !== undefined) {
    const v4 = isIP(mapped) === 4 ? mapped : hexToIpv4(mapped);
    if (v4) return refusedKind(v4);
  }
  const type = isIP(address) === 4 ? "ipv4" : "ipv6";
  return LISTS.find((entry) => entry.type === type && entry.list.check(address, type))?.kind;
}

function hexToIpv4(text: string): string | undefined {
  const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(text);
  if (!m) return undefined;
  const high = Number.parseInt(m[1] as string, 16);
  const low = Number.parseInt(m[2] as string, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/**
 * How long a lookup may take. The request handler resolves too (a refused host is a 400 at once),
 * and API Gateway stops waiting at 29 s: a resolver that never answers must end in an answer.
 */
export const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * Hosts an import may reach although they resolve to loopback, private or link-local addresses:
 * MLFLOW_ALLOWED_HOSTS, comma-separated. The CDK app sets it from `byom:mlflowAllowedHosts` on the
 * import request's function and on the job worker; local mode allows loopback (docs/ingestion.md).
 */
export function allowedMlflowHosts(): string[] {
  return optionalEnv("MLFLOW_ALLOWED_HOSTS", "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
}

/**
 * The tracking URI names a host that does not resolve: the model version it points at cannot be
 * found (404, as for an unknown model or version); not a failing server (502), not malformed input.
 */
export class TrackingHostNotFoundError extends NotFoundError {
  constructor(hostname: string, code: string) {
    super("MLflow tracking host", hostname);
    this.message = `trackingUri's host '${hostname}' does not resolve (${code}). Check the tracking server's name.`;
  }
}

type Lookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemLookup: Lookup = (hostname) => lookup(hostname, { all: true, verbatim: true });

export interface PinOptions {
  /** @default LOOKUP_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** @default the system resolver (getaddrinfo) */
  readonly lookup?: Lookup;
}

/**
 * Resolves the URI's host and returns the address to connect to. Refuses (400) a host any of whose
 * addresses is loopback, private, unique-local, link-local and the like, unless `allowedHosts`
 * names it (the name as written in the URI, or the address literal), and a host whose lookup does
 * not answer within the timeout. The one check of both the import request and its job.
 */
export async function pinHost(
  url: URL,
  allowedHosts: readonly string[],
  options: PinOptions = {},
): Promise<PinnedHost> {
  const hostname = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const addresses = isIP(hostname)
    ? [{ address: hostname, family: isIP(hostname) }]
    : await resolveWithin(hostname, options.timeoutMs ?? LOOKUP_TIMEOUT_MS, options.lookup ?? systemLookup);
  const allowed = allowedHosts.map((h) => h.replace(/^\[|\]$/g, "").toLowerCase()).includes(hostname);
  if (!allowed) {
    for (const { address } of addresses) {
      const kind = refusedKind(address);
      if (kind) {
        throw new ValidationFailedError(
          `trackingUri's host '${hostname}' is ${address === hostname ? "" : `at ${address}, `}a ${kind} address, which Byom does not call unless the installation allows the host (context value byom:mlflowAllowedHosts; local mode allows loopback).`,
          [{ path: "body.trackingUri", message: `${kind} address`, host: hostname }],
        );
      }
    }
  }
  const first = addresses[0];
  if (!first) throw new UpstreamError(`The MLflow tracking server's host '${hostname}' has no address.`);
  return { hostname, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * The lookup, or a 400 once `timeoutMs` passes. The answer stops waiting, not the lookup: a
 * getaddrinfo that hangs keeps one of libuv's threads until the system resolver gives up.
 */
async function resolveWithin(
  hostname: string,
  timeoutMs: number,
  resolve: Lookup,
): Promise<Array<{ address: string; family: number }>> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ValidationFailedError(
            `trackingUri's host '${hostname}' did not resolve within ${timeoutMs / 1000} s (the DNS lookup got no answer), so Byom cannot check where it points. Check the tracking server's name, or try again once it resolves.`,
            [{ path: "body.trackingUri", message: "DNS lookup timed out", host: hostname }],
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      resolve(hostname).catch((error: unknown) => {
        throw new TrackingHostNotFoundError(hostname, (error as { code?: string }).code ?? "lookup failed");
      }),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
