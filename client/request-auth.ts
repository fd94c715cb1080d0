import type { SignatureV4 } from "@smithy/signature-v4";

/** The parts of a request that authentication looks at. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

/** Returns the headers to send: the request's own plus whatever proves the caller's identity. */
export type RequestAuth = (request: OutgoingRequest) => Promise<Record<string, string>>;

/** Local mode: the token from `.byom/local.json`. */
export function bearerAuth(token: string): RequestAuth {
  return async ({ headers }) => ({ ...headers, authorization: `Bearer ${token}` });
}

/**
 * AWS: API Gateway with IAM authorization wants SigV4 for the `execute-api` service, signed with
 * credentials from the standard chain (environment, shared config and SSO, web identity, container
 * and instance metadata). The signer and the chain load on first use: local mode never pays for them.
 */
export function sigV4Auth(region: string): RequestAuth {
  let signer: SignatureV4 | undefined;
  return async ({ method, url, headers, body }) => {
    if (!signer) {
      const [{ SignatureV4: Signer }, { Sha256 }, { defaultProvider }] = await Promise.all([
        import("@smithy/signature-v4"),
        import("@aws-crypto/sha256-js"),
        import("@aws-sdk/credential-provider-node"),
      ]);
      signer = new Signer({ service: "execute-api", region, credentials: defaultProvider(), sha256: Sha256 });
    }
    const query: Record<string, string> = {};
    for (const [key, value] of url.searchParams) query[key] = value;
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...headers, host: url.host },
      body,
    });
    return signed.headers;
  };
}
