import type { ByomClient, RequestOf, ResponseOf } from "../../api-client.ts";
import { ApiError, ClientError, UsageError } from "../../errors.ts";
import type { RouteOf } from "../../operations.ts";
import { type CommandContext, defineCommand } from "../command.ts";
import type { Output } from "../output.ts";
import { resolveModel } from "./models.ts";
import { projectListCommand } from "./projects.ts";
import { projectOption, resolveName, resolveProjectId } from "./resolve.ts";

export type Deployment = ResponseOf<RouteOf<"getDeployment">>;
type Target = Deployment["targets"][number];

const DEPLOYMENT_ID = /^dep-[0-9a-z]{26}$/;
const MODES = ["single", "ab", "champion_challenger"] as const;
const SETTLED = new Set(["HEALTHY", "FAILED", "UNHEALTHY", "DELETED"]);

/** A deployment id, or the name of one deployment in the project (deleted ones do not count). */
export function resolveDeploymentId(
  client: ByomClient,
  projectId: string,
  deployment: string,
): Promise<string> {
  return resolveName(
    deployment,
    DEPLOYMENT_ID,
    client.all("listDeployments", { params: { projectId } }),
    (d) => (d.status === "DELETED" ? undefined : { name: d.name, id: d.deploymentId }),
    {
      none: `No deployment named '${deployment}' in project ${projectId}. Run 'byom deployments list --project ${projectId}' to see them.`,
      several: (count, ids) =>
        `${count} deployments are named '${deployment}' (${ids}). Pass the deployment id instead.`,
    },
  );
}

/** The first positional of the commands that act on one deployment. */
export const deploymentPositional = { name: "deployment", description: "deployment id or name" } as const;

/** The project (`--project`) and deployment (first positional) a deployment command acts on. */
export async function resolveDeploymentArgument(
  ctx: CommandContext,
): Promise<{ client: ByomClient; projectId: string; deploymentId: string }> {
  const client = ctx.client();
  const projectId = await resolveProjectId(client, ctx.required("project"));
  const deploymentId = await resolveDeploymentId(client, projectId, ctx.positionals[0] as string);
  return { client, projectId, deploymentId };
}

const passphraseOption = {
  passphrase: {
    type: "string",
    placeholder: "passphrase",
    description: "Require 'Authorization: Bearer <passphrase>' to score (or set BYOM_PASSPHRASE)",
  },
} as const;

export const baselineRowsOption = {
  "baseline-rows": {
    type: "string",
    placeholder: "rows",
    description: "How many first captured rows are the drift baseline (default: unchanged, first 1000)",
  },
} as const;

/**
 * A capture setting from the command line (`deployments capture`, `deploy --capture`), checked
 * before any request: a share from 0 to 100 and, optionally, the baseline's row count.
 */
export function captureSettings(
  percentText: string | undefined,
  rowsText: string | undefined,
  command: string,
  percentName: string,
): { samplePercent: number; baselineRows?: number } {
  const samplePercent = Number(percentText);
  if (
    percentText === undefined ||
    !Number.isFinite(samplePercent) ||
    samplePercent < 0 ||
    samplePercent > 100
  )
    throw new UsageError(`${percentName} must be a number from 0 to 100, not '${percentText}'.`, command);
  const baselineRows = rowsText === undefined ? undefined : Number(rowsText);
  if (baselineRows !== undefined && !Number.isInteger(baselineRows))
    throw new UsageError(`--baseline-rows must be a whole number, not '${rowsText}'.`, command);
  return { samplePercent, ...(baselineRows !== undefined ? { baselineRows } : {}) };
}

export const deploy = defineCommand({
  name: "deploy",
  summary: "Deploy model version(s) as a scoring endpoint",
  description: [
    "One target deploys in mode single. Two targets need --mode: ab splits traffic by --weights",
    "(default even), champion_challenger answers with the first and sends shadow copies to the second.",
    "With --wait the workflow's progress is shown state by state until HEALTHY or FAILED.",
  ].join("\n"),
  positionals: [
    {
      name: "model@version",
      description: "e.g. churn@2 (model name or id); give two for ab or champion_challenger",
      variadic: true,
    },
  ],
  options: {
    ...projectOption,
    name: {
      type: "string",
      placeholder: "name",
      description: "Deployment name (default: <model>-v<version>)",
    },
    mode: { type: "string", placeholder: "mode", description: "single, ab or champion_challenger" },
    weights: {
      type: "string",
      placeholder: "w1,w2",
      description: "Mode ab: percent of traffic per target, e.g. 80,20",
    },
    runtime: {
      type: "string",
      placeholder: "runtime",
      description: "Runtime of the catalog (default: chosen by framework)",
    },
    processor: {
      type: "string",
      placeholder: "processor",
      description: "Artifact processor of the catalog (default: by type)",
    },
    ...passphraseOption,
    capture: {
      type: "string",
      placeholder: "percent",
      description: "Capture this share of score requests with their answers, 0 to 100 (docs/monitoring.md)",
    },
    ...baselineRowsOption,
    wait: {
      type: "boolean",
      description: "Wait until the deployment is HEALTHY or FAILED, showing each state",
    },
    timeout: { type: "string", placeholder: "seconds", description: "How long --wait waits", default: "900" },
  },
  examples: [
    "byom deploy churn@1 --project fraud --wait",
    "byom deploy churn@1 --project fraud --capture 10 --wait",
    "byom deploy churn@1 churn@2 --project fraud --mode ab --weights 90,10 --wait",
  ],
  async run(ctx) {
    const specs = ctx.positionals.map(parseModelVersion);
    const mode = (ctx.string("mode") ?? (specs.length === 1 ? "single" : undefined)) as
      | (typeof MODES)[number]
      | undefined;
    if (!mode)
      throw new UsageError("Two or more targets need --mode ab or --mode champion_challenger.", "deploy");
    if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(", ")}.`, "deploy");
    if (mode === "single" && specs.length !== 1)
      throw new UsageError("Mode single deploys exactly one model@version.", "deploy");
    if (mode === "champion_challenger" && specs.length !== 2) {
      throw new UsageError("Mode champion_challenger takes two targets: champion@v challenger@v.", "deploy");
    }
    const weights = mode === "ab" ? parseWeights(ctx.string("weights"), specs.length) : undefined;
    const passphrase = ctx.string("passphrase") ?? process.env.BYOM_PASSPHRASE;
    const captureText = ctx.string("capture");
    if (captureText === undefined && ctx.string("baseline-rows") !== undefined)
      throw new UsageError("--baseline-rows goes with --capture <percent>.", "deploy");
    const capture =
      captureText === undefined
        ? undefined
        : captureSettings(captureText, ctx.string("baseline-rows"), "deploy", "--capture");

    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const targets = [];
    for (const [i, spec] of specs.entries()) {
      const model = await resolveModel(client, projectId, spec.model);
      targets.push({
        modelId: model.modelId,
        version: spec.version,
        ...(ctx.string("runtime") ? { runtime: ctx.string("runtime") } : {}),
        ...(ctx.string("processor") ? { processor: ctx.string("processor") } : {}),
        ...(weights ? { weight: weights[i] } : {}),
        ...(mode === "champion_challenger"
          ? { role: i === 0 ? ("champion" as const) : ("challenger" as const) }
          : {}),
      });
    }
    const first = specs[0] as { model: string; version: number };
    const created = await client.call("createDeployment", {
      params: { projectId },
      // One body shape per mode; which one the targets fit is the API's to check.
      body: {
        name: ctx.string("name") ?? `${first.model}-v${first.version}`,
        mode,
        targets,
        security: passphrase ? { mode: "passphrase", passphrase } : { mode: "none" },
        ...(capture ? { capture } : {}),
      } as RequestOf<RouteOf<"createDeployment">>["body"],
    });
    if (!ctx.flag("wait")) {
      ctx.out.result(created, () =>
        [
          `Deployment ${created.name} (${created.deploymentId}) is ${created.status}.`,
          `Follow it with: byom deployments show ${created.name} --project ${ctx.required("project")}`,
        ].join("\n"),
      );
      return;
    }
    const settled = await follow(ctx, client, created, positiveSeconds(ctx.string("timeout") ?? "900"));
    if (settled.status !== "HEALTHY") {
      throw new ClientError(
        `Deployment ${settled.name} (${settled.deploymentId}) is ${settled.status}: ${settled.failureReason ?? "no reason given"}`,
      );
    }
    ctx.out.result(settled, () =>
      [
        `Deployment ${settled.name} (${settled.deploymentId}) is HEALTHY.`,
        `Endpoint: ${settled.endpointUrl}`,
        `Score it: byom score ${settled.name} --project ${ctx.required("project")} --csv rows.csv`,
      ].join("\n"),
    );
  },
});

/**
 * Polls a deployment until `done` says so, printing every new event (state by state) on stderr,
 * from event number `shownFrom` on.
 */
export async function follow(
  ctx: CommandContext,
  client: ByomClient,
  deployment: Deployment,
  timeoutSeconds: number,
  done: (d: Deployment) => boolean = (d) => SETTLED.has(d.status),
  shownFrom = 0,
): Promise<Deployment> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const params = { projectId: deployment.projectId, deploymentId: deployment.deploymentId };
  let shown = shownFrom;
  let current = deployment;
  for (let delay = 300; ; delay = Math.min(2000, Math.round(delay * 1.3))) {
    for (const event of current.events.slice(shown)) {
      ctx.out.note(`${event.at.slice(11, 19)}  ${event.status.padEnd(10)}  ${event.message}`);
    }
    shown = Math.max(shown, current.events.length);
    if (done(current)) return current;
    if (Date.now() > deadline) {
      throw new ClientError(
        `Deployment ${current.deploymentId} is still ${current.status} after ${timeoutSeconds} s. Check it with 'byom deployments show ${current.deploymentId} --project ${current.projectId}'.`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    try {
      current = await client.call("getDeployment", { params });
    } catch (error) {
      // A deleted deployment may disappear rather than show DELETED.
      if (error instanceof ApiError && error.status === 404 && done({ ...current, status: "DELETED" })) {
        return { ...current, status: "DELETED" };
      }
      throw error;
    }
  }
}

export const deploymentsList = projectListCommand({
  name: "deployments list",
  summary: "List a project's deployments",
  examples: ["byom deployments list --project fraud"],
  fetchPage: (client, projectId, query) => client.call("listDeployments", { params: { projectId }, query }),
  columns: (out) => [
    { header: "ID", value: (d) => d.deploymentId },
    { header: "NAME", value: (d) => d.name },
    { header: "MODE", value: (d) => d.mode },
    { header: "STATUS", value: (d) => statusText(out, d.status) },
    { header: "SERVING", value: (d) => servingText(d) },
    { header: "ENDPOINT", value: (d) => d.endpointUrl ?? "-" },
  ],
  empty: "No deployments yet: byom deploy <model>@<version> --project <project> --wait",
});

export const deploymentsShow = defineCommand({
  name: "deployments show",
  summary: "Show a deployment: status, endpoint, what serves it and its events",
  positionals: [deploymentPositional],
  options: { ...projectOption },
  examples: ["byom deployments show churn-v1 --project fraud"],
  async run(ctx) {
    const { client, projectId, deploymentId } = await resolveDeploymentArgument(ctx);
    const deployment = await client.call("getDeployment", { params: { projectId, deploymentId } });
    ctx.out.result(deployment, () => renderDeployment(ctx.out, deployment));
  },
});

export const deploymentsUpdate = defineCommand({
  name: "deployments update",
  summary: "Swap a deployment's model versions (or change A/B weights) without downtime",
  positionals: [
    deploymentPositional,
    { name: "model@version", description: "the new target(s), as for deploy", variadic: true },
  ],
  options: {
    ...projectOption,
    weights: { type: "string", placeholder: "w1,w2", description: "Mode ab: percent of traffic per target" },
    wait: { type: "boolean", description: "Wait until the new revision serves, showing each state" },
    timeout: { type: "string", placeholder: "seconds", description: "How long --wait waits", default: "900" },
  },
  examples: ["byom deployments update churn churn@2 --project fraud --wait"],
  async run(ctx) {
    const [deploymentArg, ...targetArgs] = ctx.positionals as string[];
    const specs = targetArgs.map(parseModelVersion);
    if (specs.length === 0)
      throw new UsageError("Give the new model@version target(s).", "deployments update");
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const deploymentId = await resolveDeploymentId(client, projectId, deploymentArg as string);
    const current = await client.call("getDeployment", { params: { projectId, deploymentId } });
    const weights = current.mode === "ab" ? parseWeights(ctx.string("weights"), specs.length) : undefined;
    const targets = [];
    for (const [i, spec] of specs.entries()) {
      const model = await resolveModel(client, projectId, spec.model);
      const previous = current.targets[i];
      targets.push({
        modelId: model.modelId,
        version: spec.version,
        ...(previous?.runtime ? { runtime: previous.runtime } : {}),
        ...(previous?.processor ? { processor: previous.processor } : {}),
        ...(weights ? { weight: weights[i] } : {}),
        ...(current.mode === "champion_challenger"
          ? { role: i === 0 ? ("champion" as const) : ("challenger" as const) }
          : {}),
      });
    }
    const updating = await client.call("updateDeployment", {
      params: { projectId, deploymentId },
      body: { targets },
    });
    if (!ctx.flag("wait")) {
      ctx.out.result(
        updating,
        () =>
          `Deployment ${updating.name} is ${updating.status}: revision ${updating.revision} is on its way.`,
      );
      return;
    }
    // The old revision keeps serving (HEALTHY) while the new one starts: wait for the switch, or
    // for the new revision's failure, which leaves the old one live.
    const settled = await follow(
      ctx,
      client,
      updating,
      positiveSeconds(ctx.string("timeout") ?? "900"),
      (d) =>
        d.liveRevision >= updating.revision ||
        d.failureReason !== null ||
        d.status === "FAILED" ||
        d.status === "DELETED",
      current.events.length,
    );
    if (settled.status !== "HEALTHY" || settled.liveRevision < updating.revision) {
      throw new ClientError(
        `Revision ${updating.revision} of ${settled.name} is not serving (status ${settled.status}${settled.failureReason ? `: ${settled.failureReason}` : ""}).`,
      );
    }
    ctx.out.result(
      settled,
      () => `Deployment ${settled.name} serves ${servingText(settled)} (revision ${settled.liveRevision}).`,
    );
  },
});

export const deploymentsDelete = defineCommand({
  name: "deployments delete",
  summary: "Delete a deployment and everything it runs",
  positionals: [deploymentPositional],
  options: {
    ...projectOption,
    wait: { type: "boolean", description: "Wait until it is DELETED" },
    timeout: { type: "string", placeholder: "seconds", description: "How long --wait waits", default: "300" },
  },
  examples: ["byom deployments delete churn-v1 --project fraud --wait"],
  async run(ctx) {
    const { client, projectId, deploymentId } = await resolveDeploymentArgument(ctx);
    let deployment = await client.call("deleteDeployment", { params: { projectId, deploymentId } });
    if (ctx.flag("wait")) {
      deployment = await follow(
        ctx,
        client,
        deployment,
        positiveSeconds(ctx.string("timeout") ?? "300"),
        (d) => d.status === "DELETED" || d.status === "FAILED",
      );
      if (deployment.status !== "DELETED") {
        throw new ClientError(
          `Deleting ${deploymentId} ended ${deployment.status}: ${deployment.failureReason ?? "no reason given"}`,
        );
      }
    }
    ctx.out.result(
      deployment,
      () => `Deployment ${deployment.name} (${deploymentId}) is ${deployment.status}.`,
    );
  },
});

function renderDeployment(out: Output, d: Deployment): string {
  return [
    out.fields([
      ["id", d.deploymentId],
      ["name", d.name],
      ["mode", d.mode],
      ["status", statusText(out, d.status)],
      ...(d.failureReason ? [["failure", d.failureReason] as [string, string]] : []),
      ["endpoint", d.endpointUrl ?? "-"],
      ["security", d.security.mode],
      ["created", `${d.createdAt} by ${d.createdBy}`],
    ]),
    "",
    out.colour("bold", "Serving:"),
    out.table(d.serving, [
      { header: "MODEL", value: (s) => `${s.modelName}@${s.version}` },
      { header: "ROLE", value: (s) => s.role },
      { header: "WEIGHT", value: (s) => String(s.weight), right: true },
      { header: "RUNTIME", value: (s) => s.runtime },
      { header: "PROCESSOR", value: (s) => s.processor },
    ]),
    "",
    out.colour("bold", "Events:"),
    out.table(d.events, [
      { header: "AT", value: (e) => e.at },
      { header: "STATUS", value: (e) => e.status },
      { header: "MESSAGE", value: (e) => e.message },
    ]),
  ].join("\n");
}

function statusText(out: Output, status: string): string {
  if (status === "HEALTHY") return out.colour("green", status);
  if (status === "FAILED" || status === "UNHEALTHY") return out.colour("red", status);
  return out.colour("yellow", status);
}

function servingText(d: Deployment): string {
  if (d.serving.length > 0) return d.serving.map((s) => `${s.modelName}@${s.version}`).join(", ");
  return d.targets.map((t: Target) => `${t.modelId}@${t.version}`).join(", ");
}

export function parseModelVersion(text: string): { model: string; version: number } {
  const match = /^(.+)@(\d+)$/.exec(text);
  if (!match) throw new UsageError(`'${text}' is not <model>@<version>, e.g. churn@2.`, "deploy");
  return { model: match[1] as string, version: Number(match[2]) };
}

function parseWeights(text: string | undefined, count: number): number[] {
  if (text === undefined) {
    const even = Math.floor(100 / count);
    return Array.from({ length: count }, (_, i) => (i === 0 ? 100 - even * (count - 1) : even));
  }
  const weights = text.split(",").map((w) => Number(w.trim()));
  if (weights.length !== count || weights.some((w) => !Number.isInteger(w) || w < 0 || w > 100)) {
    throw new UsageError(
      `--weights needs ${count} whole percentages, e.g. ${count === 2 ? "80,20" : "50,30,20"}.`,
      "deploy",
    );
  }
  return weights;
}

function positiveSeconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError("--timeout must be a positive number of seconds.");
  return value;
}
