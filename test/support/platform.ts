import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { REPO_ROOT } from "#cdk/paths.ts";
import type { LocalConfig } from "#local/platform.ts";
import { addLocalUser } from "#local/tokens.ts";

/** Tests take the repository root from here too; its one definition is cdk/paths.ts. */
export { REPO_ROOT };

export interface TestPlatform {
  readonly config: LocalConfig;
  readonly home: string;
  /** The platform's own user (local:admin). */
  readonly api: ApiClient;
  /** A new local user with its own token; not a member of anything yet. */
  newUser(name: string): ApiClient & { principal: string };
  stop(): Promise<void>;
}

/**
 * Starts local mode exactly as `npm start` does, as a child process with its own data folder and
 * ephemeral ports, and waits for its ready line.
 */
export async function startTestPlatform(
  env: Record<string, string> = {},
  /** A data folder to reuse across starts (kept on stop); default a fresh temp folder, removed on stop. */
  keptHome?: string,
): Promise<TestPlatform> {
  const home = keptHome ?? mkdtempSync(join(tmpdir(), "byom-test-"));
  const child = spawn(join(REPO_ROOT, "node_modules/.bin/tsx"), ["local/start.ts"], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      BYOM_HOME: home,
      BYOM_API_PORT: "0",
      BYOM_SCORING_PORT: "0",
      BYOM_S3_PORT: "0",
      BYOM_DYNAMODB_PORT: "0",
      BYOM_LOG_LEVEL: process.env.BYOM_LOG_LEVEL ?? "WARN",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
    if (process.env.BYOM_TEST_VERBOSE) process.stderr.write(chunk);
  });
  await waitForReady(child, () => output);
  const config = JSON.parse(readFileSync(join(home, "local.json"), "utf8")) as LocalConfig;
  return {
    config,
    home,
    api: apiClient(config.apiUrl, config.token),
    newUser(name) {
      const user = addLocalUser(home, name);
      return { ...apiClient(config.apiUrl, user.token), principal: user.principal };
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        await exited;
      }
      if (!keptHome) rmSync(home, { recursive: true, force: true });
    },
  };
}

function waitForReady(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`local mode did not start in 60 s:\n${output()}`)),
      60_000,
    );
    const onData = () => {
      if (output().includes("Byom local mode is ready")) {
        clearTimeout(timer);
        resolvePromise();
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`local mode exited with ${code}:\n${output()}`));
    });
  });
}

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface ApiClient {
  readonly token: string;
  call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
}

/**
 * GETs `path?limit=<limit>` and the pages after it, following nextCursor until there is none or
 * `maxPages` pages have been read; the caller checks each response.
 */
export async function listPages(
  client: ApiClient,
  path: string,
  limit: number,
  maxPages: number,
): Promise<ApiResponse[]> {
  const pages: ApiResponse[] = [];
  let cursor: string | null = null;
  do {
    const page: ApiResponse = await client.call(
      "GET",
      `${path}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    pages.push(page);
    cursor = page.body?.nextCursor ?? null;
  } while (cursor && pages.length < maxPages);
  return pages;
}

export function apiClient(apiUrl: string, token: string): ApiClient {
  return {
    token,
    async call(method, path, body, headers = {}) {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === "" ? undefined : JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed as any, headers: response.headers };
    },
  };
}

/**
 * The status of a HEAD on an object of the platform's bucket, signed with the start's emulator
 * credentials (local mode's S3 answers nothing unsigned): 200 or 404.
 */
export async function objectStatus(config: LocalConfig, key: string): Promise<number> {
  const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
  const s3 = await s3ClientFor(config);
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key }));
    return out.$metadata.httpStatusCode ?? 200;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === undefined) throw error;
    return status;
  } finally {
    s3.destroy();
  }
}

/** An S3 client for local mode's emulator, with this start's credentials from local.json. */
export async function s3ClientFor(config: LocalConfig): Promise<S3Client> {
  // Loaded on first use: most tests that start a platform never talk to S3 directly.
  const { S3Client } = await import("@aws-sdk/client-s3");
  return new S3Client({
    endpoint: config.s3Endpoint,
    region: config.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.awsAccessKeyId, secretAccessKey: config.awsSecretAccessKey },
  });
}
