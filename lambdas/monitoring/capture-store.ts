import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type CaptureRoot, captureRoot } from "#lambdas/monitoring/capture-location.ts";
import { s3Sdk } from "#lambdas/shared/s3-client.ts";

/**
 * One captured request as runtime-images/python/byom_scorer/capture_writer.py writes it (one JSON line,
 * docs/monitoring.md): its time, its row count and its columns, each `rows` values long.
 */
export interface CapturedRequest {
  readonly at: string;
  readonly rows: number;
  readonly input: Readonly<Record<string, readonly unknown[]>>;
  readonly output: Readonly<Record<string, readonly unknown[]>>;
}

/** A batch file: its day partition and its name below `{deploymentId}/{target}/`. */
export interface CaptureFile {
  readonly day: string;
  readonly key: string;
}

const FILE = /^dt=(\d{4}-\d{2}-\d{2})\/[^/]+\.jsonl\.gz$/;

/**
 * Reads what runtimes captured for one deployment target, from the artifact bucket or local mode's
 * folder. Files are listed in name order: by day, then by the time of day their name starts with.
 */
export class CaptureStore {
  constructor(private readonly root: CaptureRoot = captureRoot()) {}

  async files(deploymentId: string, target: string): Promise<CaptureFile[]> {
    const names =
      this.root.kind === "folder"
        ? await folderFiles(join(this.root.path, deploymentId, target))
        : await bucketFiles(this.root.bucket, `${this.root.prefix}${deploymentId}/${target}/`);
    return names
      .map((key) => ({ key, match: FILE.exec(key) }))
      .filter((f): f is { key: string; match: RegExpExecArray } => f.match !== null)
      .map((f) => ({ key: f.key, day: f.match[1] as string }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async requests(deploymentId: string, target: string, file: CaptureFile): Promise<CapturedRequest[]> {
    const bytes =
      this.root.kind === "folder"
        ? await readFile(join(this.root.path, deploymentId, target, file.key))
        : await bucketObject(this.root.bucket, `${this.root.prefix}${deploymentId}/${target}/${file.key}`);
    const text = gunzipSync(bytes).toString("utf8");
    const requests: CapturedRequest[] = [];
    for (const line of text.split("\n")) if (line) requests.push(JSON.parse(line) as CapturedRequest);
    return requests;
  }
}

async function folderFiles(folder: string): Promise<string[]> {
  const days = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  const names: string[] = [];
  for (const day of days) {
    if (!day.startsWith("dt=")) continue;
    for (const name of await readdir(join(folder, day)))
      if (!name.startsWith(".")) names.push(`${day}/${name}`);
  }
  return names;
}

async function bucketFiles(bucket: string, prefix: string): Promise<string[]> {
  const { sdk, client } = await s3Sdk();
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) names.push(object.Key.slice(prefix.length));
    token = page.NextContinuationToken;
  } while (token);
  return names;
}

async function bucketObject(bucket: string, key: string): Promise<Buffer> {
  const { sdk, client } = await s3Sdk();
  const out = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
}
