import type { ImageStatus, RuntimeCapability, SettableEnv } from "#lambdas/catalog/builtin.ts";
import { DEFAULT_MAX_REPLICAS, resolveResources } from "#lambdas/deployments/capacity.ts";
import type {
  DeploymentMode,
  ResolvedTarget,
  SchemaColumnRef,
  TargetRole,
  TargetSpec,
} from "#lambdas/deployments/deployment-record.ts";
import type { StepSetting } from "#lambdas/deployments/serving-contract.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { ConflictError, ValidationFailedError } from "#lambdas/shared/errors.ts";

/**
 * What the deployer reads from the registry and the catalog; registry-reader.ts implements it with
 * the registry's own modules. Each function answers undefined when the thing does not exist.
 */
export interface RegistryReader {
  /** The version with its experiment's metadata value objects; throws NotFoundError when absent. */
  modelVersion(
    projectId: string,
    modelId: string,
    version: number,
  ): Promise<{ modelName: string; experimentId: string; metadata: Record<string, unknown> }>;
  /** The newest READY artifact of the experiment, and the states of the others. */
  readyArtifact(
    projectId: string,
    experimentId: string,
  ): Promise<{
    ready?: { artifactId: string; type: string; objectKey: string; framework: string | null };
    notReady: string[];
  }>;
  /** The processor and runtime serving an artifact type (and framework), honouring explicit choices. */
  composition(
    artifactType: string,
    framework: string | null,
    choice: { processor?: string | undefined; runtime?: string | undefined },
  ): Promise<Composition | undefined>;
  /** Parses an input_schema/output_schema json_value; throws when it breaks the schema rules. */
  parseSchema(key: "input_schema" | "output_schema", value: unknown): SchemaColumnRef[];
}

/** A processor and runtime from the catalog, with what the deployer needs of their entries. */
export interface Composition {
  readonly processor: string;
  readonly runtime: string;
  readonly runtimeEnv: Record<string, string>;
  readonly settableEnv: readonly SettableEnv[];
  /** Entries declared by Byom (lambdas/catalog/builtin.ts), whose images local mode runs as processes. */
  readonly builtIn: { readonly processor: boolean; readonly runtime: boolean };
  readonly images: { readonly processor: string; readonly runtime: string };
  /** What ECS would pull for each, and whether the entry's image is in this account's ECR yet. */
  readonly pinned: { readonly processor: ImageState; readonly runtime: ImageState };
  readonly processorEnv: Readonly<Record<string, string>>;
  readonly healthPath: string;
  readonly capabilities: readonly RuntimeCapability[];
}

export interface ImageState {
  readonly image: string;
  readonly status: ImageStatus;
  readonly reason?: string;
  /** The entry's own execution role (imported images on AWS: it pulls only their repository). */
  readonly executionRoleArn?: string;
}

/** What a deployment asks of its runtimes beyond scoring (docs/catalog.md, Capabilities). */
export interface DeploymentNeeds {
  readonly securityMode: "none" | "passphrase";
  /** The deployment captures requests (capture.samplePercent > 0). @default false */
  readonly capture?: boolean;
}

export class MissingCapabilityError extends ConflictError {
  override readonly code = "MISSING_CAPABILITY";
}

export class ImageNotReadyError extends ConflictError {
  override readonly code = "IMAGE_NOT_READY";
}

export class ContainerEngineRequiredError extends ConflictError {
  override readonly code = "CONTAINER_ENGINE_REQUIRED";
}

/** `none` in local mode (local/serving-workflows.ts): only the built-in images run, as processes. */
const containerEngine = () => optionalEnv("CONTAINER_ENGINE" satisfies StepSetting, "ecs");

export class SchemaUnknownError extends ConflictError {
  override readonly code = "SCHEMA_UNKNOWN";
}

export class NotDeployableError extends ConflictError {
  override readonly code = "NOT_DEPLOYABLE";
}

const WEIGHT_TOTAL = 100;

/** Elastic Load Balancing's quota: one forward action sends to at most this many target groups. */
export const TARGET_GROUPS_PER_FORWARD_ACTION = 5;

export class LoadBalancerQuotaError extends ConflictError {
  override readonly code = "LOAD_BALANCER_QUOTA";
}

/**
 * What the ALB cannot carry is refused before a workflow starts (and the same in local mode, so a
 * deployment that works locally works on AWS): the deployment's rule forwards to every target but
 * a challenger.
 */
export function checkLoadBalancerQuotas(targets: readonly TargetSpec[]): void {
  const forwarded = targets.filter((t) => t.role !== "challenger").length;
  if (forwarded > TARGET_GROUPS_PER_FORWARD_ACTION) {
    throw new LoadBalancerQuotaError(
      `An ALB rule forwards to at most ${TARGET_GROUPS_PER_FORWARD_ACTION} target groups; this deployment splits traffic between ${forwarded} targets. Split it over at most ${TARGET_GROUPS_PER_FORWARD_ACTION} targets.`,
      [
        {
          path: "body.targets",
          message: "over the ALB quota",
          limit: TARGET_GROUPS_PER_FORWARD_ACTION,
          requested: forwarded,
        },
      ],
    );
  }
}

/** Checks the targets against the mode's rules (docs/concepts.md) before anything is read. */
export function checkTargetsForMode(mode: DeploymentMode, targets: readonly TargetSpec[]): void {
  const fail = (message: string, path = "body.targets") => {
    throw new ValidationFailedError(message, [{ path, message }]);
  };
  if (mode === "single") {
    if (targets.length !== 1) fail(`Mode 'single' serves exactly one target; got ${targets.length}.`);
    const [target] = targets;
    if (target?.role !== undefined && target.role !== "primary")
      fail("Mode 'single' takes no role.", "body.targets.0.role");
    if (target?.weight !== undefined && target.weight !== WEIGHT_TOTAL)
      fail("Mode 'single' sends all traffic to its target: leave weight out.", "body.targets.0.weight");
  } else if (mode === "ab") {
    if (targets.length < 2)
      fail(`Mode 'ab' splits traffic between at least two targets; got ${targets.length}.`);
    targets.forEach((t, i) => {
      if (t.weight === undefined)
        fail("Every target of an 'ab' deployment needs a weight.", `body.targets.${i}.weight`);
      if (t.role !== undefined && t.role !== "primary")
        fail("Mode 'ab' takes no role.", `body.targets.${i}.role`);
    });
    const total = targets.reduce((sum, t) => sum + (t.weight ?? 0), 0);
    if (total !== WEIGHT_TOTAL)
      fail(`The weights of an 'ab' deployment must add up to ${WEIGHT_TOTAL}; they add up to ${total}.`);
  } else {
    const champions = targets.filter((t) => t.role === "champion").length;
    const challengers = targets.filter((t) => t.role === "challenger").length;
    if (targets.length !== 2 || champions !== 1 || challengers !== 1) {
      fail(
        "Mode 'champion_challenger' takes exactly two targets: one with role 'champion', one with role 'challenger'.",
      );
    }
    targets.forEach((t, i) => {
      if (t.weight !== undefined)
        fail(
          "The champion answers every request and the challenger gets shadow copies: leave weight out.",
          `body.targets.${i}.weight`,
        );
    });
  }
}

/** The installation's replica limit: the CDK app sets it from byom:maxReplicas. */
const maxReplicas = () => {
  const value = Number(optionalEnv("MAX_REPLICAS" satisfies StepSetting, String(DEFAULT_MAX_REPLICAS)));
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_MAX_REPLICAS;
};

function roleAndWeight(mode: DeploymentMode, target: TargetSpec): { role: TargetRole; weight: number } {
  if (mode === "single") return { role: "primary", weight: WEIGHT_TOTAL };
  if (mode === "ab") return { role: "primary", weight: target.weight ?? 0 };
  return target.role === "champion"
    ? { role: "champion", weight: WEIGHT_TOTAL }
    : { role: "challenger", weight: 0 };
}

/**
 * Resolves every target: the version and its experiment, a known and valid schema, a READY artifact,
 * and a processor + runtime composition from the catalog. Refuses (404/409) with what to do instead.
 */
export async function resolveTargets(
  reader: RegistryReader,
  projectId: string,
  mode: DeploymentMode,
  targets: readonly TargetSpec[],
  needs: DeploymentNeeds = { securityMode: "none" },
): Promise<ResolvedTarget[]> {
  checkTargetsForMode(mode, targets);
  checkLoadBalancerQuotas(targets);
  const resolved: ResolvedTarget[] = [];
  const limit = maxReplicas();
  for (const [i, target] of targets.entries()) {
    const resources = resolveResources(target.resources, limit, `body.targets.${i}.resources`);
    const { role, weight } = roleAndWeight(mode, target);
    resolved.push({
      ...(await resolveTarget(reader, projectId, target, `body.targets.${i}`, { ...needs, role })),
      role,
      weight,
      resources,
    });
  }
  return resolved;
}

async function resolveTarget(
  reader: RegistryReader,
  projectId: string,
  target: TargetSpec,
  path: string,
  needs: DeploymentNeeds & { role: TargetRole },
): Promise<Omit<ResolvedTarget, "role" | "weight" | "resources">> {
  const { modelId, version } = target;
  const found = await reader.modelVersion(projectId, modelId, version);
  const label = `${found.modelName} version ${version} (experiment ${found.experimentId})`;
  const { metadata } = found;
  const fix = `Set it with PATCH /v1/projects/${projectId}/experiments/${found.experimentId} {"metadata": {"input_schema": {"json_value": [{"name": ..., "type": ...}]}}}, then deploy again.`;
  const inputValue = jsonValueOf(metadata.input_schema);
  if (inputValue === undefined) {
    throw new SchemaUnknownError(
      `The schema of ${label} is unknown: its experiment has no input_schema. ${fix}`,
      [{ path: "input_schema", message: "missing", modelId, version }],
    );
  }
  let inputSchema: SchemaColumnRef[];
  let outputSchema: SchemaColumnRef[] | null = null;
  try {
    inputSchema = reader.parseSchema("input_schema", inputValue);
    const outputValue = jsonValueOf(metadata.output_schema);
    if (outputValue !== undefined) outputSchema = reader.parseSchema("output_schema", outputValue);
  } catch (error) {
    throw new SchemaUnknownError(`The schema of ${label} is not valid: ${(error as Error).message} ${fix}`, [
      { path: "input_schema", message: "invalid", modelId, version },
    ]);
  }
  const artifacts = await reader.readyArtifact(projectId, found.experimentId);
  if (!artifacts.ready) {
    const state =
      artifacts.notReady.length > 0
        ? `its artifacts are ${artifacts.notReady.join(", ")}`
        : "it has no artifact";
    throw new NotDeployableError(
      `${label} cannot be deployed yet: ${state}. Upload the model (POST /v1/projects/${projectId}/experiments/${found.experimentId}/artifacts) and wait until its status is READY.`,
      [{ path: "artifact", message: "no READY artifact", modelId, version }],
    );
  }
  const framework = stringValueOf(metadata.framework) ?? artifacts.ready.framework;
  const composition = await reader.composition(artifacts.ready.type, framework, {
    processor: target.processor,
    runtime: target.runtime,
  });
  if (!composition) {
    const asked = [
      target.processor && `processor '${target.processor}'`,
      target.runtime && `runtime '${target.runtime}'`,
    ]
      .filter(Boolean)
      .join(" and ");
    throw new NotDeployableError(
      `No ${asked || "processor and runtime"} in the catalog serves artifact type '${artifacts.ready.type}'${framework ? ` with framework '${framework}'` : ""}. See GET /v1/catalog/compositions?artifactType=${encodeURIComponent(artifacts.ready.type)}.`,
      [{ path: "targets", message: "no composition", modelId, version }],
    );
  }
  checkRunnable(composition, label, path);
  checkCapabilities(composition, needs, label, path);
  const settings = checkSettings(composition, target.env ?? {}, `${path}.env`);
  return {
    modelId,
    modelName: found.modelName,
    version,
    experimentId: found.experimentId,
    artifactId: artifacts.ready.artifactId,
    artifactType: artifacts.ready.type,
    objectKey: artifacts.ready.objectKey,
    processor: composition.processor,
    runtime: composition.runtime,
    runtimeEnv: { ...composition.runtimeEnv, ...settings.env },
    ...(settings.secret.length > 0 ? { secretEnv: settings.secret } : {}),
    ...(containerEngine() === "none"
      ? {}
      : {
          images: {
            processor: composition.pinned.processor.image,
            runtime: composition.pinned.runtime.image,
          },
          ...executionRolesOf(composition),
        }),
    ...(Object.keys(composition.processorEnv).length > 0 ? { processorEnv: composition.processorEnv } : {}),
    healthPath: composition.healthPath,
    framework,
    inputSchema,
    outputSchema,
  };
}

/** The entries' own execution roles, where they have them (docs/catalog.md, "Permissions"). */
function executionRolesOf(composition: Composition): Pick<ResolvedTarget, "executionRoles"> {
  const { processor, runtime } = composition.pinned;
  if (!processor.executionRoleArn && !runtime.executionRoleArn) return {};
  return {
    executionRoles: {
      ...(processor.executionRoleArn ? { processor: processor.executionRoleArn } : {}),
      ...(runtime.executionRoleArn ? { runtime: runtime.executionRoleArn } : {}),
    },
  };
}

/**
 * Local mode has no container engine: an entry it cannot run as a process (one added to the
 * catalog, known only by its image) is refused before anything starts.
 */
function checkRunnable(composition: Composition, label: string, path: string): void {
  if (containerEngine() !== "none") return;
  const imageOnly = (["processor", "runtime"] as const).filter((kind) => !composition.builtIn[kind]);
  if (imageOnly.length === 0) return;
  const named = imageOnly
    .map((kind) => `${kind} '${composition[kind]}' (image ${composition.images[kind]})`)
    .join(" and ");
  throw new ContainerEngineRequiredError(
    `${label} would run the image-only catalog ${named}. Local mode has no container engine: it runs only the built-in processors and runtimes, as processes. Deploy it on an AWS installation (ECS runs any image), or choose a built-in ${imageOnly.join(" and ")} for this target.`,
    imageOnly.map((kind) => ({
      path: `${path}.${kind}`,
      message: "needs a container engine",
      [kind]: composition[kind],
      image: composition.images[kind],
    })),
  );
}

/**
 * A runtime must implement what the deployment relies on: a passphrase check (else the endpoint
 * would be open), for a champion mirroring shadow copies, and capture when it is on (else the
 * captured data would silently stay empty). On AWS the entries' images must
 * also be in this account's ECR (imported: READY).
 */
function checkCapabilities(
  composition: Composition,
  needs: DeploymentNeeds & { role: TargetRole },
  label: string,
  path: string,
): void {
  const needed: Array<[RuntimeCapability, string]> = [];
  if (needs.securityMode === "passphrase")
    needed.push(["passphrase", "the deployment is protected by a passphrase"]);
  if (needs.role === "champion") needed.push(["shadow", "a champion mirrors its requests to the challenger"]);
  if (needs.capture) needed.push(["capture", "the deployment captures a share of its requests"]);
  const missing = needed.filter(([capability]) => !composition.capabilities.includes(capability));
  if (missing.length > 0) {
    throw new MissingCapabilityError(
      `Runtime '${composition.runtime}' for ${label} lacks the ${missing.map(([c]) => `'${c}'`).join(" and ")} capability: ${missing.map(([, why]) => why).join("; ")}. Its catalog entry declares ${composition.capabilities.length ? composition.capabilities.join(", ") : "none"}. Choose a runtime that has it (GET /v1/catalog/runtimes)${missing.some(([c]) => c === "passphrase") ? ", or deploy with security mode none where that is allowed" : ""}.`,
      missing.map(([capability, why]) => ({
        path: `${path}.runtime`,
        message: `missing capability ${capability}`,
        capability,
        why,
        runtime: composition.runtime,
      })),
    );
  }
  if (containerEngine() === "none") return;
  for (const kind of ["processor", "runtime"] as const) {
    const state = composition.pinned[kind];
    if (state.status === "READY") continue;
    const list = kind === "runtime" ? "runtimes" : "artifact-processors";
    const next =
      state.status === "IMPORTING"
        ? `Deploy again once GET /v1/catalog/${list} shows it READY.`
        : `Fix the image, then delete the entry (DELETE /v1/catalog/${list}?name=${composition[kind]}) and add it again.`;
    throw new ImageNotReadyError(
      `The image of ${kind} '${composition[kind]}' is ${state.status === "IMPORTING" ? "still being copied into this account's ECR" : "not in this account's ECR"}${state.reason ? `: ${state.reason.replace(/\.?$/, ".")}` : "."} ${next}`,
      [{ path: `${path}.${kind}`, message: `image ${state.status}`, [kind]: composition[kind] }],
    );
  }
}

/** The target's `env`, checked against what the runtime entry declares settable. */
function checkSettings(
  composition: Composition,
  env: Readonly<Record<string, string>>,
  path: string,
): { env: Record<string, string>; secret: string[] } {
  const secret: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    const declared = composition.settableEnv.find((s) => s.name === name);
    const fail = (message: string): never => {
      throw new ValidationFailedError(message, [{ path: `${path}.${name}`, message }]);
    };
    if (!declared) {
      const settable = composition.settableEnv.map((s) => s.name);
      fail(
        `Runtime '${composition.runtime}' does not let a deployment set '${name}'. ${
          settable.length ? `Settable: ${settable.join(", ")}.` : "It declares no settable variables."
        } See GET /v1/catalog/runtimes.`,
      );
    }
    if (!declared) continue;
    const shown = declared.secret ? "The value" : `'${value}'`;
    if (declared.allowed && !declared.allowed.includes(value))
      fail(`${shown} is not a value of ${name}: one of ${declared.allowed.join(", ")}.`);
    if (declared.pattern && !new RegExp(`^(?:${declared.pattern})$`).test(value))
      fail(`${shown} is not a valid ${name}: it must match ${declared.pattern} (${declared.description}).`);
    if (declared.secret) secret.push(name);
  }
  return { env: { ...env }, secret };
}

function jsonValueOf(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  return (value as { json_value?: unknown }).json_value;
}

function stringValueOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const s = (value as { string_value?: unknown }).string_value;
  return typeof s === "string" && s !== "" ? s : undefined;
}
