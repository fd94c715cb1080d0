import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "#cdk/paths.ts";
import { newEmulatorCredentials } from "./emulator-guard.ts";
import { dataDirs, ensureTable, LOCAL_REGION, startDynamo, startS3 } from "./emulators.ts";
import { createGateway } from "./gateway.ts";
import {
  LOCAL_JOB_DEAD_LETTER_ARN,
  LocalIngestQueue,
  type LocalQueue,
  localJobQueue,
} from "./ingest-queue.ts";
import { localMetricsDir } from "./local-serving.ts";
import { listenOnLoopback } from "./loopback-http.ts";
import { type LocalServingWorkflows, startServingWorkflows } from "./serving-workflows.ts";
import { addLocalUser, localPrincipal, TokenVerifier } from "./tokens.ts";

export const LOCAL_TABLE = "byom";
export const LOCAL_BUCKET = "byom-artifacts";
export const LOCAL_USER = "admin";

export interface PlatformOptions {
  /** Where data lives across restarts (default `.byom`). */
  readonly home: string;
  readonly apiPort: number;
  readonly scoringPort: number;
  readonly s3Port: number;
  readonly dynamoPort: number;
}

/** What `.byom/local.json` holds: everything a client needs to talk to local mode. */
export interface LocalConfig {
  readonly apiUrl: string;
  readonly scoringUrl: string;
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  readonly bucket: string;
  /**
   * What the emulators accept, made anew at every start (docs/local-mode.md): e.g.
   * `AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… aws --endpoint-url <s3Endpoint> s3 cp …`.
   */
  readonly awsAccessKeyId: string;
  readonly awsSecretAccessKey: string;
  readonly token: string;
  readonly principal: string;
  readonly region: string;
}

export interface Platform {
  readonly config: LocalConfig;
  readonly ingestQueue: LocalIngestQueue;
  readonly jobQueue: LocalQueue;
  readonly servingWorkflows: LocalServingWorkflows;
  stop(): Promise<void>;
}

/**
 * Starts local mode: the emulators, the same Lambda handlers behind a local API gateway, and the
 * S3 → queue → ingest path. Handlers run in this process and read the same environment variables
 * the CDK app gives the Lambdas.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const home = resolve(options.home);
  // The data folder holds tokens, credentials and models: its owner's only.
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  const dirs = dataDirs(home);
  const credentials = newEmulatorCredentials();

  const dynamo = await startDynamo(dirs.dynamo, options.dynamoPort, credentials);
  const ingestQueue = new LocalIngestQueue(home, LOCAL_BUCKET, REPO_ROOT);
  const s3 = await startS3(dirs.s3, options.s3Port, LOCAL_BUCKET, ingestQueue.onObjectEvent, credentials);
  const servingWorkflows = await startServingWorkflows({
    home,
    repoRoot: REPO_ROOT,
    scoringPort: options.scoringPort,
    credentials,
  });

  Object.assign(process.env, {
    TABLE_NAME: LOCAL_TABLE,
    BUCKET_NAME: LOCAL_BUCKET,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    BYOM_S3_FORCE_PATH_STYLE: "true",
    // The installation admin (catalog writes): the platform's own user, docs/local-mode.md.
    ADMIN_PRINCIPALS: localPrincipal(LOCAL_USER),
    // MLflow imports may reach this machine (the common case: mlflow server on localhost), plus
    // the hosts BYOM_MLFLOW_ALLOWED_HOSTS names; other private addresses stay refused.
    MLFLOW_ALLOWED_HOSTS: ["localhost", "127.0.0.1", "::1", process.env.BYOM_MLFLOW_ALLOWED_HOSTS ?? ""]
      .filter(Boolean)
      .join(","),
    ...servingWorkflows.env,
    // The job worker ends a dead-lettered job FAILED (local/ingest-queue.ts delivers dead letters).
    JOB_DEAD_LETTER_QUEUE_ARN: LOCAL_JOB_DEAD_LETTER_ARN,
    // The metrics API reads the runtimes' metric lines here (docs/monitoring.md).
    METRICS_DIR: localMetricsDir(home),
  });
  await ensureTable(dynamo, LOCAL_TABLE);
  await seedCatalog();

  // Jobs the handlers start go to local mode's queue, drained by the same worker handler as on AWS.
  // The module is loaded by file URL, as the gateway loads handlers, so both share one instance.
  const jobQueue = localJobQueue(home, REPO_ROOT);
  const jobQueueModule = await import(pathToFileURL(join(REPO_ROOT, "lambdas/jobs/job-queue.ts")).href);
  jobQueueModule.useLocalJobQueue((body: string) => jobQueue.enqueue(body));

  // Imported only now: the handlers' modules read their environment when they load.
  const gateway = createGateway(await loadRoutes(), new TokenVerifier(home), REPO_ROOT);
  const apiPort = await listenOnLoopback(
    gateway,
    options.apiPort,
    `API port ${options.apiPort} on 127.0.0.1 is in use. Set BYOM_API_PORT to another port.`,
  );

  const config: LocalConfig = {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    scoringUrl: servingWorkflows.scoringUrl,
    s3Endpoint: s3.endpoint,
    dynamodbEndpoint: dynamo.endpoint,
    bucket: LOCAL_BUCKET,
    region: LOCAL_REGION,
    awsAccessKeyId: credentials.accessKeyId,
    awsSecretAccessKey: credentials.secretAccessKey,
    ...localUser(home),
  };
  writeFileSync(join(home, "local.json"), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(join(home, "local.json"), 0o600);
  ingestQueue.kick();
  jobQueue.kick();
  servingWorkflows.startMonitor();

  return {
    config,
    ingestQueue,
    jobQueue,
    servingWorkflows,
    stop: async () => {
      await new Promise<void>((done) => gateway.close(() => done()));
      gateway.closeAllConnections();
      await servingWorkflows.stop();
      await jobQueue.whenIdle();
      await ingestQueue.whenIdle();
      await s3.close();
      await dynamo.close();
    },
  };
}

async function loadRoutes() {
  const module = await import(pathToFileURL(join(REPO_ROOT, "lambdas/routes.ts")).href);
  return module.ROUTES as import("#lambdas/shared/http/route.ts").Route[];
}

/** Seeds the built-in catalog through the same function the CDK app's seeding custom resource runs. */
async function seedCatalog(): Promise<void> {
  const seedModule = join(REPO_ROOT, "lambdas/catalog/seed.ts");
  if (!existsSync(seedModule)) return;
  const { seedBuiltinCatalog } = await import(pathToFileURL(seedModule).href);
  await seedBuiltinCatalog();
}

/** The local user's principal and token: kept across restarts, created on the first start. */
function localUser(home: string): { principal: string; token: string } {
  const file = join(home, "local.json");
  if (existsSync(file)) {
    const previous = JSON.parse(readFileSync(file, "utf8")) as Partial<LocalConfig>;
    if (previous.token && previous.principal) {
      const verifier = new TokenVerifier(home);
      if (verifier.principalOf(`Bearer ${previous.token}`) === previous.principal) {
        return { principal: previous.principal, token: previous.token };
      }
    }
  }
  return addLocalUser(home, LOCAL_USER);
}
