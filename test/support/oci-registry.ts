import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A tiny OCI distribution registry on loopback (real HTTP): GET manifests and blobs of the images
 * given to it, behind the token authentication Docker Hub and GHCR use (401 with a Bearer
 * challenge, a token from /token for Basic credentials); on request, blob GETs answer 307 to a
 * second server (blob storage on another origin, as Docker Hub's CDN) or fail with an HTTP status.
 * What it does not do: pushes, ranges, and token scopes (any valid token reads every repository).
 */

export interface TestBlob {
  readonly digest: string;
  readonly bytes: Buffer;
}

export interface TestImage {
  readonly repository: string;
  readonly tag: string;
  /** The index's digest (what the tag names) and the linux/amd64 manifest's. */
  readonly indexDigest: string;
  readonly manifestDigest: string;
  readonly layers: readonly TestBlob[];
}

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  readonly requests: string[];
  /** Makes `tag` name an image with new random layers (a moving tag). */
  addImage(repository: string, tag: string, layerSizes: readonly number[]): TestImage;
  /** Removes a manifest (`<repository>:<tag or digest>`): the registry then answers 404 for it. */
  forget(manifest: string): void;
  /** Answers blob GETs with `status` (e.g. 503) until cleared with `failBlobs(undefined)`. */
  failBlobs(status: number | undefined): void;
  /**
   * Answers blob GETs with 307 to a server on another port (another origin), which serves them
   * without authentication; `cdnRequests` then records what reached it, with its Authorization header.
   */
  redirectBlobs(): Promise<void>;
  readonly cdnRequests: Array<{ path: string; authorization: string | undefined }>;
  stop(): Promise<void>;
}

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const TOKEN = "token-for-tests";

export async function startTestRegistry(credentials?: {
  username: string;
  password: string;
}): Promise<TestRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; type: string }>();
  const requests: string[] = [];
  const cdnRequests: Array<{ path: string; authorization: string | undefined }> = [];
  let blobFailure: number | undefined;
  let cdn: Server | undefined;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://registry");
    requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname === "/token") {
      const expected = credentials
        ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
        : undefined;
      if (expected && req.headers.authorization !== expected) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: TOKEN }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      const { port } = server.address() as AddressInfo;
      res
        .writeHead(401, {
          "www-authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry"`,
        })
        .end();
      return;
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest) {
      const found = manifests.get(`${manifest[1]}:${manifest[2]}`);
      if (!found) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": found.type, "docker-content-digest": sha256(found.body) });
      res.end(found.body);
      return;
    }
    const blob = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (blob && blobFailure) {
      res.writeHead(blobFailure).end();
      return;
    }
    if (blob && cdn) {
      const { port } = cdn.address() as AddressInfo;
      res.writeHead(307, { location: `http://127.0.0.1:${port}/blobs/${blob[1]}?signature=test` }).end();
      return;
    }
    const bytes = blob && blobs.get(blob[1] as string);
    if (!bytes) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const put = (bytes: Buffer) => {
    const digest = sha256(bytes);
    blobs.set(digest, bytes);
    return { digest, bytes };
  };
  return {
    host: `127.0.0.1:${port}`,
    requests,
    cdnRequests,
    addImage(repository, tag, layerSizes) {
      const layers = layerSizes.map((size) => put(randomBytes(size)));
      const config = put(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: {} })));
      const manifestBody = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {
            mediaType: "application/vnd.oci.image.config.v1+json",
            digest: config.digest,
            size: config.bytes.length,
          },
          layers: layers.map((l) => ({
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            digest: l.digest,
            size: l.bytes.length,
          })),
        }),
      );
      const manifestDigest = sha256(manifestBody);
      const type = "application/vnd.oci.image.manifest.v1+json";
      manifests.set(`${repository}:${manifestDigest}`, { body: manifestBody, type });
      // An index with an arm64 entry first: the copy must pick linux/amd64.
      const indexBody = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [
            {
              mediaType: type,
              digest: sha256(Buffer.from("arm64")),
              size: 5,
              platform: { os: "linux", architecture: "arm64" },
            },
            {
              mediaType: type,
              digest: manifestDigest,
              size: manifestBody.length,
              platform: { os: "linux", architecture: "amd64" },
            },
          ],
        }),
      );
      const indexDigest = sha256(indexBody);
      const index = { body: indexBody, type: "application/vnd.oci.image.index.v1+json" };
      manifests.set(`${repository}:${tag}`, index);
      manifests.set(`${repository}:${indexDigest}`, index);
      return { repository, tag, indexDigest, manifestDigest, layers };
    },
    forget(manifest) {
      manifests.delete(manifest);
    },
    failBlobs(status) {
      blobFailure = status;
    },
    async redirectBlobs() {
      const storage = createServer((req, res) => {
        const path = new URL(req.url ?? "/", "http://cdn").pathname;
        cdnRequests.push({ path, authorization: req.headers.authorization });
        const bytes = blobs.get(path.replace(/^\/blobs\//, ""));
        if (!bytes) res.writeHead(404).end();
        else res.writeHead(200, { "content-length": bytes.length }).end(bytes);
      });
      await new Promise<void>((resolve) => storage.listen(0, "127.0.0.1", resolve));
      cdn = storage;
    },
    async stop() {
      for (const s of cdn ? [server, cdn] : [server]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  };
}
