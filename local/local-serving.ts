import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Slot, type SlotResources, slotPathPrefix } from "#lambdas/deployments/deployment-record.ts";
import type {
  RuntimeHealth,
  RuntimeLaunch,
  ServingInfrastructure,
  SlotVolume,
  TrafficRule,
} from "#lambdas/deployments/serving/serving-port.ts";
import { processorCommand, runtimeCommand } from "./python-env.ts";
import type { RuntimeSupervisor } from "./runtime-supervisor.ts";
import type { ScoringRouter } from "./scoring-router.ts";
import { LOCAL_ACCOUNT, LOCAL_REGION } from "./state-machines.ts";

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
 * The deployer's infrastructure port in local mode: target groups and rules live in the local
 * router, services are supervised runtime processes, processor tasks are processes run to exit.
 */
interface ServiceSpec {
  /** Absent in a serving.json written before shadow records were routed by deployment. */
  readonly deploymentId?: string;
  readonly runtime: string;
  readonly targetGroupArn: string;
  readonly environment: Readonly<Record<string, string>>;
}

/** What ECS and the ALB would keep across a restart: `<home>/serving.json` (hashes only, no secrets). */
interface ServingState {
  readonly services: Record<string, ServiceSpec>;
  readonly rules: Record<string, TrafficRule>;
}

export class LocalServing implements ServingInfrastructure {
  private readonly serviceOfTargetGroup = new Map<string, string>();
  private readonly services = new Map<string, ServiceSpec>();
  private readonly rules = new Map<string, TrafficRule>();
  private readonly taskLogDir: string;
  private readonly shadowDir: string;
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
    this.stateFile = join(home, "serving.json");
    this.shadowBaseUrl = endpointBaseUrl;
    mkdirSync(this.taskLogDir, { recursive: true });
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
    const { MODEL_PATH, MODEL_ID, ...env } = spec.environment;
    this.services.set(serviceId, spec);
    this.serviceOfTargetGroup.set(spec.targetGroupArn, serviceId);
    this.persist();
    await this.supervisor.start(
      serviceId,
      (port) =>
        runtimeCommand(spec.runtime, {
          modelPath: MODEL_PATH ?? "",
          modelId: MODEL_ID ?? "",
          port,
          // Loopback only: local mode never listens beyond this machine.
          env: { BYOM_HOST: "127.0.0.1", ...this.runtimeEnv, ...env },
        }),
      // A champion's shadow records (stdout), kept by deployment as CloudWatch Logs keeps them on AWS.
      { recordsFile: spec.deploymentId && join(this.shadowDir, `${spec.deploymentId}.jsonl`) },
    );
  }

  /** For the router: the port of the runtime registered in a target group. */
  portOf = (targetGroupArn: string): number | undefined => {
    const serviceId = this.serviceOfTargetGroup.get(targetGroupArn);
    return serviceId ? this.supervisor.status(serviceId)?.port : undefined;
  };

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
   * name for its directory, and nothing confines a process to it (docs/deployer.md, Local mode).
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
    await this.supervisor.stop(serviceId);
  }

  /** As the ALB's health check: GET /readyz on the runtime, healthy on 200. */
  async runtimeHealth(slot: Slot): Promise<RuntimeHealth> {
    const status = this.supervisor.status(slot.slotId);
    if (!status) return { state: "failing", detail: "no runtime process is registered for it" };
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
      if (response.ok) return { state: "healthy" };
      return { state: "starting", detail: `/readyz answered ${response.status}; ${why()}` };
    } catch {
      return { state: "starting", detail: `/readyz did not answer; ${why()}` };
    }
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
