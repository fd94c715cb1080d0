import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_RESOURCES,
  desiredReplicas,
  type ReplicaCounts,
  type Replicas,
  SCALING_COOLDOWNS_MS,
  SCALING_TARGETS,
} from "#lambdas/deployments/capacity.ts";
import { type Slot, type SlotResources, slotPathPrefix } from "#lambdas/deployments/deployment-record.ts";
import type { ReplicaStatusSource } from "#lambdas/deployments/serving/replica-status.ts";
import type {
  RuntimeHealth,
  RuntimeLaunch,
  ServingInfrastructure,
  SlotVolume,
  TaggedResource,
  TaggedResources,
  TrafficRule,
} from "#lambdas/deployments/serving/serving-port.ts";
import { processorCommand, runtimeCommand, runtimePreparation } from "./python-env.ts";
import type { RuntimeSupervisor } from "./runtime-supervisor.ts";
import type { RouterTargets, ScoringRouter } from "./scoring-router.ts";
import { LOCAL_ACCOUNT, LOCAL_REGION } from "./state-machines.ts";

/** Where local mode keeps runtimes' metric lines: `<home>/metrics/<deploymentId>.jsonl`. */
export const localMetricsDir = (home: string) => join(home, "metrics");

const ARN = {
  targetGroup: (slotId: string) =>
    `arn:aws:elasticloadbalancing:${LOCAL_REGION}:${LOCAL_ACCOUNT}:targetgroup/byom-${slotId}/local`,
  rule: () =>
    `arn:aws:elasticloadbalancing:${LOCAL_REGION}:${LOCAL_ACCOUNT}:listener-rule/app/byom-local/${randomBytes(6).toString("hex")}`,
  service: (slotId: string) => `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:service/byom-local/${slotId}`,
  taskDefinition: (name: string) => `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:task-definition/${name}`,
  task: (id: string) => `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:task/byom-local/${id}`,
};

/** Processor name → the local "task definition" the deploy workflow passes to RunProcessor. */
export function localProcessorTaskDefinitions(processors: readonly string[]) {
  return Object.fromEntries(
    processors.map((name) => [name, { taskDefinitionArn: ARN.taskDefinition(name), containerName: name }]),
  );
}

/**
 * The serving workflows' infrastructure port in local mode: target groups and rules live in the local
 * router, services are supervised runtime processes, processor tasks are processes run to exit.
 */
interface ServiceSpec {
  /** Absent in a serving.json written before shadow records were routed by deployment. */
  readonly deploymentId?: string;
  readonly runtime: string;
  readonly targetGroupArn: string;
  readonly environment: Readonly<Record<string, string>>;
  /** The target's replica bounds (absent in a serving.json written before replicas: one). */
  readonly replicas?: Replicas;
}

/**
 * A slot's runtime processes, as an ECS service's tasks behind its target group: `desired` of them,
 * each a supervised process of its own (restarted when it dies, as ECS replaces a stopped task).
 * Replica 0 is the service id itself (the slot id), replica k > 0 is `<slotId>.<k>`.
 */
interface ReplicaSet {
  readonly serviceId: string;
  readonly spec: ServiceSpec;
  readonly bounds: Replicas;
  desired: number;
  /** Supervisor ids of the replicas in rotation, in order. */
  readonly members: string[];
  /** Members in rotation: passed a health check (/readyz), not failed UNHEALTHY_THRESHOLD since. */
  readonly healthy: Set<string>;
  /** Consecutive failed checks per member. */
  readonly failures: Map<string, number>;
  /** Round robin position. */
  next: number;
  /** Requests the router has in flight to this target group: the load local autoscaling tracks. */
  inFlight: number;
  /** In-flight samples of the last tick window, averaged into the load. */
  readonly samples: number[];
  lastChange: number;
}

/**
 * Seconds of load locally stand for minutes on AWS: local mode keeps AWS's cooldown ratio
 * (docs/local-mode.md, Replicas) at 1/60 of its length.
 */
const LOCAL_COOLDOWNS_MS = {
  scaleOut: SCALING_COOLDOWNS_MS.scaleOut / 60,
  scaleIn: SCALING_COOLDOWNS_MS.scaleIn / 60,
};
/** How often replicas are health-checked and the scaling rule applied (the ALB checks every 10 s). */
const TICK_MS = 500;
/**
 * A running replica leaves the rotation after this many failed checks in a row, as the ALB's
 * UnhealthyThresholdCount (a busy runtime may answer /readyz late); a dead one leaves at once.
 */
const UNHEALTHY_THRESHOLD = 3;
/** The longest a replica leaving the rotation is given to answer its in-flight requests. */
const DRAIN_TIMEOUT_MS = 30_000;
/** Load is the average of this many ticks' in-flight samples. */
const LOAD_WINDOW = 4;

const replicaId = (serviceId: string, index: number) => (index === 0 ? serviceId : `${serviceId}.${index}`);

/** What ECS and the ALB would keep across a restart: `<home>/serving.json` (hashes only, no secrets). */
interface ServingState {
  readonly services: Record<string, ServiceSpec>;
  readonly rules: Record<string, TrafficRule>;
}

export class LocalServing
  implements ServingInfrastructure, RouterTargets, ReplicaStatusSource, TaggedResources
{
  private readonly serviceOfTargetGroup = new Map<string, string>();
  private readonly services = new Map<string, ServiceSpec>();
  private readonly replicaSets = new Map<string, ReplicaSet>();
  /** Requests the router has sent to each replica and not yet had answered. */
  private readonly inFlightOf = new Map<string, number>();
  private readonly ticker: NodeJS.Timeout;
  private ticking = false;
  private readonly rules = new Map<string, TrafficRule>();
  private readonly taskLogDir: string;
  private readonly shadowDir: string;
  private readonly metricsDir: string;
  private readonly stateFile: string;
  /** Champions mirror through the router too: it serves the shadow rules on the same port. */
  readonly shadowBaseUrl: string;
  /** The router's shadow prefix reaches the same target groups as its scoring paths. */
  readonly shadowTargetGroups = false;

  constructor(
    home: string,
    private readonly supervisor: RuntimeSupervisor,
    private readonly router: ScoringRouter,
    readonly endpointBaseUrl: string,
    /** Runtime processes' settings beyond the catalog's (e.g. BYOM_WORKERS). */
    private readonly runtimeEnv: Readonly<Record<string, string>> = {},
  ) {
    this.taskLogDir = join(home, "logs", "tasks");
    this.shadowDir = join(home, "shadow");
    this.metricsDir = localMetricsDir(home);
    this.stateFile = join(home, "serving.json");
    this.shadowBaseUrl = endpointBaseUrl;
    mkdirSync(this.taskLogDir, { recursive: true });
    this.ticker = setInterval(() => void this.tick(), TICK_MS);
    this.ticker.unref();
  }

  /** Stops health checks and scaling (the processes are the supervisor's to stop). */
  close(): void {
    clearInterval(this.ticker);
  }

  /**
   * Brings back what was serving when local mode stopped, as ECS and the ALB would have kept it:
   * the rules at once, the runtime processes in the background (they take seconds to load).
   */
  restore(): Promise<void> {
    if (!existsSync(this.stateFile)) return Promise.resolve();
    const state = JSON.parse(readFileSync(this.stateFile, "utf8")) as ServingState;
    for (const [ruleArn, rule] of Object.entries(state.rules)) {
      this.rules.set(ruleArn, rule);
      this.router.putRule(ruleArn, rule);
    }
    return Promise.all(
      Object.entries(state.services).map(([serviceId, spec]) =>
        this.launch(serviceId, spec).catch((error: Error) =>
          console.error(`local mode: could not restart runtime ${serviceId}: ${error.message}`),
        ),
      ),
    ).then(() => undefined);
  }

  private persist(): void {
    const state: ServingState = {
      services: Object.fromEntries(this.services),
      rules: Object.fromEntries(this.rules),
    };
    writeFileSync(`${this.stateFile}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${this.stateFile}.tmp`, this.stateFile);
  }

  private async launch(serviceId: string, spec: ServiceSpec): Promise<void> {
    const bounds = spec.replicas ?? DEFAULT_RESOURCES.replicas;
    this.services.set(serviceId, spec);
    this.serviceOfTargetGroup.set(spec.targetGroupArn, serviceId);
    this.persist();
    const set: ReplicaSet = {
      serviceId,
      spec,
      bounds,
      desired: bounds.min,
      members: [],
      healthy: new Set(),
      failures: new Map(),
      next: 0,
      inFlight: 0,
      samples: [],
      lastChange: Date.now(),
    };
    this.replicaSets.set(serviceId, set);
    await this.reconcile(set);
  }

  /** Starts or stops replicas until `desired` are in rotation. */
  private async reconcile(set: ReplicaSet): Promise<void> {
    while (set.members.length < set.desired) {
      // The slot was stopped meanwhile: start nothing more for it.
      if (this.replicaSets.get(set.serviceId) !== set) return;
      const id = replicaId(set.serviceId, set.members.length);
      set.members.push(id);
      await this.startReplica(id, set.spec);
    }
    while (set.members.length > set.desired) {
      // Out of rotation first (no new request reaches it), then drained and stopped in the
      // background: health checks and scaling go on meanwhile.
      const id = set.members.pop() as string;
      set.healthy.delete(id);
      set.failures.delete(id);
      this.drainAndStop(id).catch((error: Error) =>
        console.error(`local mode: could not stop replica ${id}: ${error.message}`),
      );
    }
  }

  /**
   * As the ALB's deregistration delay before ECS stops a task: waits (at most DRAIN_TIMEOUT_MS)
   * until the requests the router sent to a replica out of the rotation are answered, then
   * SIGTERMs it. A runtime exits on SIGTERM without finishing what it answers, and a streamed
   * (columnar) body cannot be sent again to another replica.
   */
  private async drainAndStop(id: string): Promise<void> {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while ((this.inFlightOf.get(id) ?? 0) > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await this.supervisor.stop(id);
  }

  private async startReplica(id: string, spec: ServiceSpec): Promise<void> {
    const { MODEL_PATH, MODEL_ID, ...env } = spec.environment;
    await this.supervisor.start(
      id,
      (port) =>
        runtimeCommand(spec.runtime, {
          modelPath: MODEL_PATH ?? "",
          modelId: MODEL_ID ?? "",
          port,
          // Loopback only: local mode never listens beyond this machine.
          env: { BYOM_HOST: "127.0.0.1", ...this.runtimeEnv, ...env },
        }),
      // A champion's shadow records (stdout), kept by deployment as CloudWatch Logs keeps them on AWS.
      // Its metric lines (EMF), kept by deployment for the metrics API (docs/monitoring.md).
      {
        recordsFile: spec.deploymentId && join(this.shadowDir, `${spec.deploymentId}.jsonl`),
        metricsFile: spec.deploymentId && join(this.metricsDir, `${spec.deploymentId}.jsonl`),
        preparation: () => runtimePreparation(spec.runtime),
      },
    );
  }

  /**
   * Every tick: each replica's /readyz (the ALB's health check; a dead process is unhealthy at
   * once), then the scaling rule AWS's target tracking applies (capacity.ts), on requests in flight.
   */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const set of [...this.replicaSets.values()]) {
        await Promise.all(
          set.members.map(async (id) => {
            if (await this.replicaReady(id)) {
              set.healthy.add(id);
              set.failures.set(id, 0);
              return;
            }
            const failures = (set.failures.get(id) ?? 0) + 1;
            set.failures.set(id, failures);
            if (failures >= UNHEALTHY_THRESHOLD || !this.supervisor.status(id)?.pid) set.healthy.delete(id);
          }),
        );
        set.samples.push(set.inFlight);
        if (set.samples.length > LOAD_WINDOW) set.samples.shift();
        const load = set.samples.reduce((sum, n) => sum + n, 0) / set.samples.length;
        const desired = desiredReplicas({
          replicas: set.bounds,
          current: set.desired,
          load,
          targetPerReplica: SCALING_TARGETS.inFlightPerReplica,
          sinceLastChangeMs: Date.now() - set.lastChange,
          cooldownsMs: LOCAL_COOLDOWNS_MS,
        });
        if (desired !== set.desired && this.replicaSets.get(set.serviceId) === set) {
          set.desired = desired;
          set.lastChange = Date.now();
          await this.reconcile(set);
        }
      }
    } catch (error) {
      console.error(`local mode: replica health check or scaling failed: ${(error as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  private async replicaReady(id: string): Promise<boolean> {
    const status = this.supervisor.status(id);
    if (!status?.pid) return false;
    try {
      const response = await fetch(`http://127.0.0.1:${status.port}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /**
   * For the router: the next replica of a target group, round robin over the healthy ones not yet
   * tried for this request. With none healthy it tries the running ones, as an ALB fails open when
   * every target is unhealthy (a replica that just started answers before its first check).
   */
  pick(targetGroupArn: string, tried: ReadonlySet<string>): { id: string; port: number } | undefined {
    const set = this.setOf(targetGroupArn);
    if (!set) return undefined;
    const running = set.members.filter((id) => !tried.has(id) && this.supervisor.status(id)?.pid);
    const healthy = running.filter((id) => set.healthy.has(id));
    const pool = healthy.length > 0 ? healthy : running;
    if (pool.length === 0) return undefined;
    const id = pool[set.next++ % pool.length] as string;
    const port = this.supervisor.status(id)?.port;
    return port === undefined ? undefined : { id, port };
  }

  begin(targetGroupArn: string): void {
    const set = this.setOf(targetGroupArn);
    if (set) set.inFlight += 1;
  }

  end(targetGroupArn: string): void {
    const set = this.setOf(targetGroupArn);
    if (set) set.inFlight = Math.max(0, set.inFlight - 1);
  }

  forwarding(id: string): () => void {
    this.inFlightOf.set(id, (this.inFlightOf.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.inFlightOf.get(id) ?? 1) - 1;
      if (left > 0) this.inFlightOf.set(id, left);
      else this.inFlightOf.delete(id);
    };
  }

  /** A replica refused or dropped a connection: out of rotation until its next check passes. */
  unreachable(targetGroupArn: string, id: string): void {
    this.setOf(targetGroupArn)?.healthy.delete(id);
  }

  private setOf(targetGroupArn: string): ReplicaSet | undefined {
    const serviceId = this.serviceOfTargetGroup.get(targetGroupArn);
    return serviceId ? this.replicaSets.get(serviceId) : undefined;
  }

  /**
   * The orphan sweep's view locally: runtime services and rules carry their deployment as AWS's
   * tags do (target groups, volumes and secrets are only names here, holding nothing).
   */
  async taggedResources(): Promise<TaggedResource[]> {
    const found: TaggedResource[] = [];
    for (const [serviceId, spec] of this.services)
      if (spec.deploymentId)
        found.push({ kind: "service", id: ARN.service(serviceId), deploymentId: spec.deploymentId });
    for (const [ruleArn, rule] of this.rules)
      found.push({ kind: "listenerRule", id: ruleArn, deploymentId: rule.deploymentId });
    return found;
  }

  async deleteTagged(resource: TaggedResource): Promise<void> {
    if (resource.kind === "service") await this.stopRuntime({ serviceArn: resource.id });
    if (resource.kind === "listenerRule") await this.deleteTrafficRule(resource.id);
  }

  /** What GET shows per target: replicas asked for, running, passing their health check. */
  async replicaCounts(slots: readonly Slot[]): Promise<ReadonlyMap<string, ReplicaCounts>> {
    const counts = new Map<string, ReplicaCounts>();
    for (const slot of slots) {
      const set = this.replicaSets.get(slot.slotId);
      if (!set) continue;
      const running = set.members.filter((id) => this.supervisor.status(id)?.pid);
      counts.set(slot.slotId, {
        desired: set.desired,
        running: running.length,
        healthy: running.filter((id) => set.healthy.has(id)).length,
      });
    }
    return counts;
  }

  async createTargetGroup(_deploymentId: string, slot: Slot): Promise<string> {
    return ARN.targetGroup(slot.slotId);
  }

  async deleteTargetGroup(targetGroupArn: string): Promise<void> {
    this.serviceOfTargetGroup.delete(targetGroupArn);
  }

  async putTrafficRule(rule: TrafficRule, existingRuleArn?: string): Promise<string> {
    const ruleArn = existingRuleArn ?? ARN.rule();
    this.rules.set(ruleArn, rule);
    this.router.putRule(ruleArn, rule);
    this.persist();
    return ruleArn;
  }

  /**
   * Local mode runs every process as the same user on one folder: the slot's "access point" is a
   * name for its directory, and nothing confines a process to it (docs/deployments.md, Local mode).
   */
  async createSlotVolume(_deploymentId: string, slot: Slot): Promise<SlotVolume> {
    return { accessPointId: `fsap-local-${slot.slotId}` };
  }

  async deleteSlotVolume(_accessPointId: string): Promise<void> {}

  /** Locally the hash stays in the runtime's environment (serving.json keeps hashes only). */
  async storeRuntimeSecret(): Promise<string | undefined> {
    return undefined;
  }

  async deleteRuntimeSecret(_secretArn: string): Promise<void> {}

  /** The catalog's processor as it is, named by its entry: local processes mount nothing. */
  async processorTaskFor(_deploymentId: string, slot: Slot) {
    return localProcessorTaskDefinitions([slot.target.processor])[slot.target.processor] as {
      taskDefinitionArn: string;
      containerName: string;
    };
  }

  async deleteProcessorTask(_taskDefinitionArn: string): Promise<void> {}

  /** Local mode has no alarm service: the same figures are in the metrics API (docs/monitoring.md). */
  async putDeploymentAlarms(_deploymentId: string, _deploymentName: string): Promise<void> {}
  async deleteDeploymentAlarms(_deploymentId: string): Promise<void> {}

  async deleteTrafficRule(ruleArn: string): Promise<void> {
    this.rules.delete(ruleArn);
    this.router.deleteRule(ruleArn);
    this.persist();
  }

  async startRuntime(launch: RuntimeLaunch) {
    const { slot } = launch;
    const serviceArn = ARN.service(slot.slotId);
    await this.launch(slot.slotId, {
      deploymentId: launch.deploymentId,
      runtime: slot.target.runtime,
      targetGroupArn: launch.targetGroupArn,
      environment: launch.environment,
      replicas: slot.target.resources?.replicas ?? DEFAULT_RESOURCES.replicas,
    });
    return { serviceArn, taskDefinitionArn: ARN.taskDefinition(`${slot.target.runtime}-${slot.slotId}`) };
  }

  async stopRuntime(resources: SlotResources): Promise<void> {
    if (!resources.serviceArn) return;
    const serviceId = resources.serviceArn.split("/").pop() as string;
    for (const [group, id] of this.serviceOfTargetGroup)
      if (id === serviceId) this.serviceOfTargetGroup.delete(group);
    this.services.delete(serviceId);
    this.persist();
    const set = this.replicaSets.get(serviceId);
    this.replicaSets.delete(serviceId);
    // No rule or group reaches the slot any more: each replica finishes what it answers first.
    await Promise.all((set?.members ?? [serviceId]).map((id) => this.drainAndStop(id)));
  }

  /** As the ALB's health check: GET /readyz on each replica, healthy when one answers 200. */
  async runtimeHealth(slot: Slot): Promise<RuntimeHealth> {
    const set = this.replicaSets.get(slot.slotId);
    const statuses = (set?.members ?? [slot.slotId])
      .map((id) => this.supervisor.status(id))
      .filter((s) => s !== undefined);
    if (statuses.length === 0) return { state: "failing", detail: "no runtime process is registered for it" };
    const details: string[] = [];
    for (const status of statuses) {
      const why = () => {
        const last = status.lastLines.at(-1);
        return [
          status.lastExit ? `the process ${status.lastExit}` : "the process is running",
          status.restarts > 0 ? `after ${status.restarts} restart(s)` : "",
          last ? `; last output: ${last}` : "",
        ]
          .filter(Boolean)
          .join(" ");
      };
      try {
        const response = await fetch(`http://127.0.0.1:${status.port}/readyz`, {
          signal: AbortSignal.timeout(2_000),
        });
        if (response.ok) {
          set?.healthy.add(status.serviceId);
          return { state: "healthy" };
        }
        details.push(`/readyz answered ${response.status}; ${why()}`);
      } catch {
        details.push(`/readyz did not answer; ${why()}`);
      }
    }
    return { state: "starting", detail: details.join(" | ") };
  }

  async slotEndpoint(deploymentId: string, slot: Slot): Promise<string> {
    return `${this.endpointBaseUrl}${slotPathPrefix(deploymentId, slot.slotId)}`;
  }

  async processorLogTail(taskArn: string, _containerName: string): Promise<string | undefined> {
    const file = join(this.taskLogDir, `${taskArn.split("/").pop()}.log`);
    if (!existsSync(file)) return undefined;
    const lines = readFileSync(file, "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    return lines.at(-1);
  }

  /**
   * What `ecs:runTask.sync` does locally: runs the processor of the task definition as a process
   * with the overridden environment, and fails like Step Functions does (States.TaskFailed with
   * the described task as the cause) when it exits non-zero.
   */
  runProcessorTask = async (parameters: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const taskDefinition = String(parameters.TaskDefinition ?? "");
    const processor = taskDefinition.split("/").pop()?.split(":")[0] ?? "";
    const overrides = (parameters.Overrides as { ContainerOverrides?: Array<Record<string, unknown>> }) ?? {};
    const environment = (overrides.ContainerOverrides?.[0]?.Environment ?? []) as Array<{
      Name: string;
      Value: string;
    }>;
    const env = Object.fromEntries(environment.map((e) => [e.Name, e.Value]));
    const taskId = randomBytes(8).toString("hex");
    const taskArn = ARN.task(taskId);
    const command = await processorCommand(processor, {
      sourcePath: env.SOURCE_PATH ?? "",
      targetPath: env.TARGET_PATH ?? "",
      env,
    });
    const log = createWriteStream(join(this.taskLogDir, `${taskId}.log`));
    const exitCode = await new Promise<number>((resolve) => {
      const child = spawn(command.command, [...command.args], {
        env: command.env as NodeJS.ProcessEnv,
        cwd: command.cwd,
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      child.on("error", () => resolve(127));
      child.on("exit", (code) => resolve(code ?? 1));
    });
    await new Promise<void>((resolve) => log.end(() => resolve()));
    const described = {
      TaskArn: taskArn,
      TaskDefinitionArn: taskDefinition,
      LastStatus: "STOPPED",
      StopCode: "EssentialContainerExited",
      StoppedReason: "Essential container in task exited",
      Containers: [{ Name: processor, ExitCode: exitCode, LastStatus: "STOPPED" }],
    };
    if (exitCode !== 0) throw new StatesTaskError("States.TaskFailed", JSON.stringify(described));
    return described;
  };
}

/** An error as Step Functions reports it: `Error` is the name, `Cause` the message. */
export class StatesTaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}
