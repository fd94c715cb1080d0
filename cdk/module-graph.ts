import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { REPO_ROOT } from "./paths.ts";

const IMPORT_SPECIFIER =
  /(?:^|[;\s])(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The package and module specifiers a source file imports (static, re-exports and dynamic). */
function specifiersOf(file: string): string[] {
  const source = readFileSync(file, "utf8");
  return [...source.matchAll(IMPORT_SPECIFIER)].map((m) => (m[1] ?? m[2]) as string);
}

/** A repository module for `#lambdas/…`, `#local/…` or a relative specifier; undefined for packages. */
function resolveLocal(fromFile: string, specifier: string): string | undefined {
  if (specifier.startsWith("#")) {
    const [alias, ...rest] = specifier.slice(1).split("/");
    return join(REPO_ROOT, alias as string, ...rest);
  }
  if (specifier.startsWith(".")) return resolve(dirname(fromFile), specifier);
  return undefined;
}

interface ModuleGraph {
  /** npm packages reached (type-only imports included, which only over-approximates). */
  readonly packages: ReadonlySet<string>;
  /** Repository modules reached, relative to the repository root (e.g. "lambdas/shared/env.ts"). */
  readonly modules: ReadonlySet<string>;
}

const graphCache = new Map<string, ModuleGraph>();

function graphOf(entry: string): ModuleGraph {
  const start = resolve(REPO_ROOT, entry);
  const cached = graphCache.get(start);
  if (cached) return cached;
  const packages = new Set<string>();
  const seen = new Set<string>();
  const pending = [start];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!existsSync(file)) {
      throw new Error(`${relative(REPO_ROOT, file)} (imported from ${entry}) does not exist`);
    }
    for (const specifier of specifiersOf(file)) {
      const local = resolveLocal(file, specifier);
      if (local) pending.push(local);
      else packages.add(specifier);
    }
  }
  const graph = { packages, modules: new Set([...seen].map((file) => relative(REPO_ROOT, file))) };
  graphCache.set(start, graph);
  return graph;
}

/**
 * Every npm package that a handler module reaches through its repository imports (type-only
 * imports included, which only over-approximates). The CDK app grants a function access to a
 * service only when its code imports that service's SDK client, so permissions follow the code.
 */
export function packagesImportedBy(entry: string): ReadonlySet<string> {
  return graphOf(entry).packages;
}

/** Whether the handler's code resolves MLflow tracking hosts, so needs their allow-list (MLFLOW_ALLOWED_HOSTS). */
export function checksMlflowHosts(entry: string): boolean {
  return graphOf(entry).modules.has("lambdas/imports/pinned-host.ts");
}

/** Whether the handler's code talks to S3 (imports the S3 client or the presigner). */
export function usesS3(entry: string): boolean {
  return [...packagesImportedBy(entry)].some(
    (p) => p === "@aws-sdk/client-s3" || p === "@aws-sdk/s3-request-presigner",
  );
}

/** Whether the handler's code starts jobs (sends to the job queue: lambdas/jobs/job-queue.ts). */
export function usesJobQueue(entry: string): boolean {
  return packagesImportedBy(entry).has("@aws-sdk/client-sqs");
}

/** Whether the handler's code reads CloudWatch metrics. */
export function usesCloudWatchMetrics(entry: string): boolean {
  return packagesImportedBy(entry).has("@aws-sdk/client-cloudwatch");
}

/** Whether the handler's code talks to DynamoDB. */
export function usesDynamoDb(entry: string): boolean {
  return [...packagesImportedBy(entry)].some(
    (p) => p === "@aws-sdk/client-dynamodb" || p === "@aws-sdk/lib-dynamodb",
  );
}
