import { createHash } from "node:crypto";
import { formatReference, type ImageReference, manifestSelector } from "./image-reference.ts";

/**
 * A reader of one registry over the OCI distribution API (GET /v2/<repo>/manifests|blobs/<ref>),
 * with the token (Bearer) and Basic authentication registries use. Only what copying an image
 * needs: the linux/amd64 manifest (runtime tasks are x86_64) and its blobs.
 */

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** A single-platform image manifest, exactly as the registry sent it (its digest is of these bytes). */
export interface ImageManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/**
 * The image cannot be read; the message says why, for a person (400 at catalog time). Transient:
 * the registry was unreachable or answered 429/5xx, so a later attempt may succeed (the import job
 * retries; its last attempt fails the entry).
 */
export class ImageUnavailableError extends Error {
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

const isTransientStatus = (status: number) => status === 429 || status >= 500;

const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
const PLATFORM = { os: "linux", architecture: "amd64" };
/** Manifests and tokens are small: adding an entry answers within API Gateway's 29 s. */
const TIMEOUT_MS = 10_000;
/** A blob's response must start within this; its body then streams as long as the job allows. */
const BLOB_TIMEOUT_MS = 60_000;

export const sha256Of = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

/** Loopback registries (tests, a local mirror) speak HTTP; every other one HTTPS. */
const schemeOf = (registry: string) =>
  /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(registry) ? "http" : "https";

export class OciRegistry {
  private token: string | undefined;
  private readonly base: string;

  constructor(
    private readonly ref: ImageReference,
    private readonly credentials?: RegistryCredentials,
  ) {
    this.base = `${schemeOf(ref.registry)}://${ref.registry}/v2/${ref.repository}`;
  }

  /** The image's linux/amd64 manifest: the one named, or the one an index lists for the platform. */
  async manifest(): Promise<ImageManifest> {
    const accept = [...INDEX_TYPES, ...MANIFEST_TYPES].join(", ");
    let fetched = await this.fetchManifest(manifestSelector(this.ref), accept);
    if (INDEX_TYPES.includes(fetched.mediaType)) {
      const index = JSON.parse(fetched.bytes.toString("utf8")) as {
        manifests?: Array<Descriptor & { platform?: { os?: string; architecture?: string } }>;
      };
      const entry = (index.manifests ?? []).find(
        (m) => m.platform?.os === PLATFORM.os && m.platform?.architecture === PLATFORM.architecture,
      );
      if (!entry) {
        const platforms = (index.manifests ?? [])
          .map((m) => `${m.platform?.os}/${m.platform?.architecture}`)
          .join(", ");
        throw new ImageUnavailableError(
          `${formatReference(this.ref)} has no linux/amd64 image (it has ${platforms || "none"}); Fargate runs Byom's tasks on X86_64.`,
        );
      }
      fetched = await this.fetchManifest(entry.digest, MANIFEST_TYPES.join(", "));
    }
    if (!MANIFEST_TYPES.includes(fetched.mediaType)) {
      throw new ImageUnavailableError(
        `${formatReference(this.ref)} answered a manifest of type '${fetched.mediaType}'; an OCI or Docker v2 image manifest is needed.`,
      );
    }
    const parsed = JSON.parse(fetched.bytes.toString("utf8")) as {
      config?: Descriptor;
      layers?: Descriptor[];
    };
    if (!parsed.config || !Array.isArray(parsed.layers)) {
      throw new ImageUnavailableError(
        `The manifest of ${formatReference(this.ref)} has no config or layers.`,
      );
    }
    return { ...fetched, config: parsed.config, layers: parsed.layers };
  }

  /** A blob's body as the registry streams it (the caller checks its digest). */
  async blob(digest: string): Promise<ReadableStream<Uint8Array>> {
    const response = await this.get(`${this.base}/blobs/${digest}`, {}, BLOB_TIMEOUT_MS);
    if (!response.ok || !response.body) {
      throw new ImageUnavailableError(
        `Reading blob ${digest} of ${formatReference(this.ref)} failed: HTTP ${response.status}.`,
        isTransientStatus(response.status),
      );
    }
    return response.body;
  }

  private async fetchManifest(
    selector: string,
    accept: string,
  ): Promise<{ bytes: Buffer; mediaType: string; digest: string }> {
    const response = await this.get(`${this.base}/manifests/${selector}`, { accept });
    const what = formatReference(this.ref);
    if (response.status === 404)
      throw new ImageUnavailableError(
        `${what}: the registry has no such repository or tag (HTTP 404). Check the name and tag.`,
      );
    if (response.status === 401 || response.status === 403)
      throw new ImageUnavailableError(
        `${what}: the registry refused access (HTTP ${response.status}). ${this.credentials ? "Check the credentials in imageCredentialsArn." : 'For a private registry, give imageCredentialsArn: a Secrets Manager secret with {"username","password"}.'}`,
      );
    if (!response.ok)
      throw new ImageUnavailableError(
        `${what}: the registry answered HTTP ${response.status}.`,
        isTransientStatus(response.status),
      );
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256Of(bytes);
    if (selector.startsWith("sha256:") && selector !== digest)
      throw new ImageUnavailableError(`${what}: the registry sent a manifest whose digest is ${digest}.`);
    const mediaType =
      response.headers.get("content-type")?.split(";")[0]?.trim() ||
      ((JSON.parse(bytes.toString("utf8")) as { mediaType?: string }).mediaType ?? "");
    return { bytes, mediaType, digest };
  }

  /** GET with the registry's authentication: answers a 401 challenge once, then reuses the token. */
  private async get(url: string, headers: Record<string, string>, timeoutMs = TIMEOUT_MS): Promise<Response> {
    // The time limit covers the answer's headers only: a blob's body may take minutes to stream.
    const send = async () => {
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new Error(`no answer within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      try {
        return await fetch(url, {
          headers: { ...headers, ...(this.token ? { authorization: this.token } : {}) },
          signal: controller.signal,
        });
      } catch (error) {
        const cause = (error as Error).cause as Error | undefined;
        throw new ImageUnavailableError(
          `The registry ${this.ref.registry} cannot be reached: ${cause?.message ?? (error as Error).message}.`,
          true,
        );
      } finally {
        clearTimeout(timer);
      }
    };
    let response = await send();
    if (response.status !== 401) return response;
    const challenge = response.headers.get("www-authenticate") ?? "";
    this.token = await this.authenticate(challenge);
    if (!this.token) return response;
    await response.body?.cancel();
    response = await send();
    return response;
  }

  private async authenticate(challenge: string): Promise<string | undefined> {
    const basic = this.credentials
      ? `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString("base64")}`
      : undefined;
    if (/^basic/i.test(challenge)) return basic;
    if (!/^bearer/i.test(challenge)) return undefined;
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    if (!params.realm) return undefined;
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set("service", params.service);
    tokenUrl.searchParams.set("scope", params.scope ?? `repository:${this.ref.repository}:pull`);
    const response = await fetch(tokenUrl, {
      headers: basic ? { authorization: basic } : {},
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }).catch((error: Error) => {
      throw new ImageUnavailableError(
        `The registry's token service ${tokenUrl.host} cannot be reached: ${error.message}.`,
      );
    });
    if (!response.ok)
      throw new ImageUnavailableError(
        `The registry's token service refused ${this.credentials ? "the credentials in imageCredentialsArn" : "anonymous access"} (HTTP ${response.status}).`,
      );
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }
}
