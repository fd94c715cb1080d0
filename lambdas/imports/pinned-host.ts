import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
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

const LOOKUP_TIMEOUT_MS = 5_000;

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

/**
 * Resolves the URI's host and returns the address to connect to. Refuses (400) a host any of whose
 * addresses is loopback, private, unique-local, link-local and the like, unless `allowedHosts`
 * names it (the name as written in the URI, or the address literal).
 */
export async function pinHost(url: URL, allowedHosts: readonly string[]): Promise<PinnedHost> {
  const hostname = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(hostname)) {
    addresses = [{ address: hostname, family: isIP(hostname) }];
  } else {
    try {
      addresses = await Promise.race([
        lookup(hostname, { all: true, verbatim: true }),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(Object.assign(new Error("timeout"), { code: "ETIMEOUT" })),
            LOOKUP_TIMEOUT_MS,
          ),
        ),
      ]);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "lookup failed";
      throw new TrackingHostNotFoundError(hostname, code);
    }
  }
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
