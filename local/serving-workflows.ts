import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PYTHON_IMAGES } from "#cdk/image-builds.ts";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import type { StepSetting } from "#lambdas/deployments/serving-contract.ts";
import type { EmulatorCredentials } from "./emulator-guard.ts";
import { LocalServing } from "./local-serving.ts";
import { prepareImage } from "./python-env.ts";
import { RuntimeSupervisor } from "./runtime-supervisor.ts";
import { ScoringRouter } from "./scoring-router.ts";
import { localStateMachineArn, stateMachineDefinitions } from "./state-machines.ts";
import { LocalStepFunctions } from "./step-functions.ts";

const MONITOR_INTERVAL_MS = 3_000;
/** Images whose environments (venv or jar) local mode prepares at start (others on their first use). */
export const PREPARED_IMAGES = [
  ...new Set([...BUILTIN_CATALOG.artifactProcessors.map((p) => p.image), "tabular-runtime"]),
  // Python first: the default runtime should not wait behind a Maven build of the Java images.
].sort((a, b) => Number(!(a in PYTHON_IMAGES)) - Number(!(b in PYTHON_IMAGES)));

/**
 * The first start on a machine installs the processors' and the tabular runtime's pinned
 * requirements in the background, so the first deployment does not wait for pip (or, if it comes
 * sooner, its events say which install step it waits for: python-env.ts environmentPreparation).
 */
async function prepareImageEnvs(): Promise<void> {
  for (const image of PREPARED_IMAGES) {
    await prepareImage(image).catch((error: Error) =>
      console.error(`local mode: could not prepare the environment of ${image}: ${error.message}`),
    );
  }
}

export interface LocalServingWorkflows {
  /** Environment the API handlers and workflow steps read, as the CDK app sets it for the Lambdas. */
  readonly env: Readonly<Record<string, string>>;
  readonly scoringUrl: string;
  readonly stepFunctions: LocalStepFunctions;
  readonly supervisor: RuntimeSupervisor;
  /** Starts the health monitor; call once the platform's environment is set. */
  startMonitor(): void;
  stop(): Promise<void>;
}

/**
 * Local mode's serving workflows (cdk/constructs/serving-workflows.ts on AWS): the scoring router (the ALB), the runtime supervisor (ECS services),
 * and the Step Functions stand-in running the synthesized deploy and delete definitions.
 */
export async function startServingWorkflows(options: {
  home: string;
  repoRoot: string;
  scoringPort: number;
  /** What the Step Functions stand-in accepts (local/emulator-guard.ts). */
  credentials: EmulatorCredentials;
}): Promise<LocalServingWorkflows> {
  const { home, repoRoot } = options;
  const supervisor = new RuntimeSupervisor(home);
  let serving: LocalServing | undefined;
  const router = new ScoringRouter({
    pick: (group, tried) => serving?.pick(group, tried),
    begin: (group) => serving?.begin(group),
    end: (group) => serving?.end(group),
    forwarding: (id) => serving?.forwarding(id) ?? (() => undefined),
    unreachable: (group, id) => serving?.unreachable(group, id),
  });
  const scoringPort = await router.listen(options.scoringPort);
  const scoringUrl = `http://127.0.0.1:${scoringPort}`;
  serving = new LocalServing(home, supervisor, router, scoringUrl, {
    BYOM_WORKERS: process.env.BYOM_LOCAL_RUNTIME_WORKERS || "1",
    // Metric lines every 10 s rather than CloudWatch's minute: a local try-out sees them soon.
    BYOM_METRICS_INTERVAL_SECONDS: process.env.BYOM_LOCAL_METRICS_INTERVAL_SECONDS || "10",
  });
  const localServing = serving;
  // GET a deployment reads replica counts from here (the API handlers run in this process). The
  // module is loaded by file URL, as the gateway loads handlers, so both share one instance.
  const replicaStatus = await import(
    pathToFileURL(join(repoRoot, "lambdas/deployments/serving/replica-status.ts")).href
  );
  replicaStatus.installReplicaStatusSource(localServing);
  void localServing.restore();
  void prepareImageEnvs();

  const stepFunctions = new LocalStepFunctions(home, options.credentials, async () => {
    // Loaded at the first execution: the step modules read their environment when they load.
    const { localTaskHandlers } = await import("./workflow-tasks.ts");
    return localTaskHandlers(localServing);
  });
  // Synthesized in the background (seconds the first time, cached after): the first StartExecution
  // waits for it, local mode's start does not.
  const definitions = stateMachineDefinitions(repoRoot, join(repoRoot, ".byom", "cache", "state-machines"));
  stepFunctions.register(
    localStateMachineArn("deploy"),
    definitions.then((d) => d.deploy),
  );
  stepFunctions.register(
    localStateMachineArn("delete"),
    definitions.then((d) => d.delete),
  );
  const endpoint = await stepFunctions.listen();

  const readyTimeout = Number(process.env.BYOM_RUNTIME_READY_TIMEOUT_SECONDS || "180");
  const env = {
    AWS_ENDPOINT_URL_SFN: endpoint,
    DEPLOY_STATE_MACHINE_ARN: localStateMachineArn("deploy"),
    DELETE_STATE_MACHINE_ARN: localStateMachineArn("delete"),
    MODELS_ROOT: join(home, "models"),
    // Runtimes capture into the data folder, in the layout they use under s3://<bucket>/capture.
    CAPTURE_ROOT: join(home, "capture"),
    HEALTH_CHECK_INTERVAL_SECONDS: "1",
    // Each check polls /readyz every 200 ms for up to 10 s: readiness is seen within 0.2 s.
    HEALTH_CHECK_POLL_SECONDS: "10",
    HEALTH_CHECK_TIMEOUT_SECONDS: String(Math.max(1, Math.round(readyTimeout))),
    DRAIN_SECONDS: process.env.BYOM_DRAIN_SECONDS || "2",
    // No container engine here: built-in images run as processes, image-only entries get 409.
    CONTAINER_ENGINE: "none",
  } satisfies Partial<Record<StepSetting | "AWS_ENDPOINT_URL_SFN", string>>;
  // The health monitor the CDK app schedules every minute, every few seconds here; started once the
  // platform has set the environment its modules read when they load.
  let monitoring: Promise<unknown> = Promise.resolve();
  let monitor: NodeJS.Timeout | undefined;
  const startMonitor = () => {
    monitor ??= setInterval(() => {
      monitoring = monitoring
        .then(async () => {
          const { monitorDeployments } = await import("#lambdas/deployments/workflow/health-monitor.ts");
          await monitorDeployments(localServing);
          const { sweepOrphans } = await import("#lambdas/deployments/workflow/orphan-sweep.ts");
          await sweepOrphans(localServing);
          const { sweepAlbReservations } = await import("#lambdas/deployments/alb-reservations.ts");
          await sweepAlbReservations();
        })
        .catch((error: Error) => console.error(`local mode: health monitor failed: ${error.message}`));
    }, MONITOR_INTERVAL_MS);
  };
  return {
    env,
    scoringUrl,
    stepFunctions,
    supervisor,
    startMonitor,
    stop: async () => {
      clearInterval(monitor);
      await monitoring;
      await stepFunctions.close();
      localServing.close();
      await supervisor.stopAll();
      await router.close();
    },
  };
}
