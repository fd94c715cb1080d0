import * as z from "zod";
import {
  DEFAULT_RESOURCES,
  defaultMemoryMiB,
  FARGATE_CPU,
  type FargateCpu,
  validMemoryMiB,
} from "#lambdas/deployments/capacity.ts";
import { DEPLOYMENT_MODES, DEPLOYMENT_STATUSES } from "#lambdas/deployments/deployment-record.ts";
import { modelIdParam } from "#lambdas/models/routes.ts";
import { projectIdParam } from "#lambdas/projects/routes.ts";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import {
  conflictError,
  exactlyOneOf,
  idParam,
  instant,
  listQuery,
  pageOf,
  standardErrors,
  text,
} from "#lambdas/shared/http/schemas.ts";

export const deploymentIdParam = idParam("dep");

const replicasSchema = z
  .strictObject({
    min: z
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe("Replicas always running (spread over the AZs); default 1"),
    max: z
      .int()
      .min(1)
      .max(1000)
      .optional()
      .describe("Autoscaling's upper bound, at most the installation's limit; default min"),
  })
  .meta({ id: "DeploymentReplicas" })
  .optional();

/** The memory sizes Fargate runs `cpu` with, as the only values the document and validation allow. */
const memoryFor = (cpu: FargateCpu) => {
  const sizes = validMemoryMiB(cpu) as number[];
  return (
    z
      .literal(sizes, {
        error: (issue) =>
          `Fargate runs ${cpu} vCPU with ${sizes.join(", ")} MiB of memory; ${JSON.stringify(issue.input)} MiB is not one of them.`,
      })
      // The generator documents only a multi-value literal's first value.
      .meta({ type: "integer", enum: sizes } as never)
      .optional()
      .describe(
        `Memory of one replica in MiB, one Fargate runs ${cpu} vCPU with; default ${defaultMemoryMiB(cpu)}`,
      )
  );
};

/**
 * A replica's size: one option per Fargate cpu size (a body without cpu is the 1-vCPU option),
 * each with exactly the memory sizes Fargate pairs with it, so the document says which pairs are
 * valid instead of listing each field's values apart (docs/deployments.md, "Capacity").
 */
const resourcesSchema = exactlyOneOf(
  z.discriminatedUnion(
    "cpu",
    // The default size's option also takes a body without cpu.
    FARGATE_CPU.map((cpu) =>
      z.strictObject({
        cpu:
          cpu === DEFAULT_RESOURCES.cpu
            ? z.literal(cpu).optional().describe("vCPUs of one replica (a Fargate size); default 1")
            : z.literal(cpu).describe("vCPUs of one replica (a Fargate size)"),
        memoryMiB: memoryFor(cpu),
        replicas: replicasSchema,
      }),
    ) as unknown as [z.ZodObject<{ cpu: z.ZodLiteral<FargateCpu> }>],
    {
      error: (issue) =>
        issue.code === "invalid_union" && "discriminator" in issue
          ? `cpu is the vCPUs of one replica, one of ${FARGATE_CPU.join(", ")} (as a string); ${JSON.stringify((issue.input as { cpu?: unknown } | undefined)?.cpu)} is not a Fargate size.`
          : undefined,
    },
  ),
  "DeploymentResources",
);

const targetSchema = z
  .strictObject({
    modelId: modelIdParam,
    version: z
      .int("version must be a whole number")
      .min(1, "versions start at 1")
      .max(2 ** 31),
    runtime: text("runtime", { min: 1, max: 200 })
      .optional()
      .describe("A runtime of the catalog; default: the first that serves the model's framework"),
    processor: text("processor", { min: 1, max: 200 })
      .optional()
      .describe("An artifact processor of the catalog; default: the one for the artifact's type"),
    weight: z
      .int("weight must be a whole number")
      .min(0)
      .max(100)
      .optional()
      .describe("Mode ab: the target's share of traffic in percent; the weights add up to 100"),
    role: z
      .enum(["champion", "challenger"])
      .optional()
      .describe("Mode champion_challenger: the champion answers, the challenger gets shadow copies"),
    resources: resourcesSchema.optional(),
    env: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
          .max(128),
        z.string().max(4096),
      )
      .refine((env) => Object.keys(env).length <= 50, "at most 50 settings")
      // The generator leaves a record's key rules out of the document: state them.
      .meta({ propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]*$", maxLength: 128 }, maxProperties: 50 })
      .optional()
      .describe(
        "Runtime settings: variables the runtime's catalog entry declares in settableEnv, merged over its env. GET shows the values of secret ones as ***",
      ),
  })
  .meta({ id: "DeploymentTarget" });

const securitySchema = z
  .discriminatedUnion("mode", [
    z.strictObject({ mode: z.literal("none") }),
    z.strictObject({
      mode: z.literal("passphrase"),
      passphrase: z
        .string()
        .min(12, "a passphrase needs at least 12 characters")
        .max(512)
        .describe("Scoring requires 'Authorization: Bearer <passphrase>'. Only a salted hash is stored."),
    }),
  ])
  .meta({ id: "DeploymentSecurityInput" });

const captureSchema = z
  .strictObject({
    samplePercent: z
      .number("samplePercent must be a number from 0 to 100")
      .min(0, "samplePercent is a share from 0 (capture off) to 100")
      .max(100, "samplePercent is a share from 0 (capture off) to 100")
      .describe(
        "Share of score requests written with their answers (docs/monitoring.md); 0 turns capture off",
      ),
    baselineRows: z
      .int("baselineRows must be a whole number")
      .min(10, "a baseline needs at least 10 rows")
      .max(1_000_000)
      .optional()
      .describe(
        "How many of the first captured rows are a version's drift baseline when it has no reference dataset; default 1000",
      ),
  })
  .meta({ id: "DeploymentCaptureInput" });

const servingSchema = z.object({
  modelId: z.string(),
  modelName: z.string(),
  version: z.int(),
  runtime: z.string(),
  processor: z.string(),
  weight: z.int(),
  role: z.enum(["primary", "champion", "challenger"]),
  resources: z
    .object({
      cpu: z.enum(FARGATE_CPU),
      memoryMiB: z.int(),
      replicas: z.object({ min: z.int(), max: z.int() }),
    })
    .describe("The size and replica bounds it runs with"),
  replicas: z
    .object({
      desired: z.int().describe("Replicas asked for now (autoscaling moves it between min and max)"),
      running: z.int().describe("Replicas started"),
      healthy: z.int().describe("Replicas passing the /readyz health check"),
    })
    .optional()
    .describe(
      "GET of one deployment only: what runs now (on AWS the ECS service and its target group; locally the runtime processes). Absent when the infrastructure could not be asked.",
    ),
});

export const deploymentSchema = z
  .object({
    deploymentId: z.string(),
    projectId: z.string(),
    name: z.string(),
    mode: z.enum(DEPLOYMENT_MODES),
    targets: z.array(targetSchema),
    security: z.object({ mode: z.enum(["none", "passphrase"]) }),
    capture: z
      .object({ samplePercent: z.number(), baselineRows: z.int() })
      .describe("Request capture and the drift baseline's size (docs/monitoring.md)"),
    status: z.enum(DEPLOYMENT_STATUSES),
    failureReason: z.string().nullable(),
    endpointUrl: z.string().nullable().describe("Score with POST <endpointUrl>/model/score"),
    serving: z.array(servingSchema).describe("What answers requests now"),
    revision: z.int(),
    liveRevision: z.int(),
    events: z.array(z.object({ at: z.string(), status: z.enum(DEPLOYMENT_STATUSES), message: z.string() })),
    createdAt: z.string(),
    updatedAt: z.string(),
    createdBy: z.string(),
  })
  .meta({ id: "Deployment" });

/**
 * The create body, one shape per mode, so that the document says which targets each mode takes
 * (docs/deployments.md). One rule no schema can state: the weights of an `ab` deployment add up to 100.
 */
const deploymentFields = {
  name: text("name", { max: 200, notBlank: true, trim: true }),
  security: securitySchema.default({ mode: "none" }),
  capture: captureSchema.optional().describe("Request capture; default off, baselineRows 1000"),
};
const abTarget = targetSchema.omit({ role: true }).extend({ weight: z.int().min(0).max(100) });
const ROLE_CHECKS = (["champion", "challenger"] as const).map((role) => ({
  contains: { type: "object", properties: { role: { const: role } }, required: ["role"] },
  minContains: 1,
  maxContains: 1,
}));
const createDeploymentBody = z.discriminatedUnion("mode", [
  z.strictObject({
    ...deploymentFields,
    mode: z.literal("single"),
    targets: z
      .array(targetSchema.omit({ role: true, weight: true }).extend({ weight: z.literal(100).optional() }))
      // min and max, not length: the document generator states only those.
      .min(1, "mode single serves exactly one target")
      .max(1, "mode single serves exactly one target"),
  }),
  z.strictObject({
    ...deploymentFields,
    mode: z.literal("ab"),
    targets: z
      .array(abTarget)
      .min(2, "mode ab splits traffic between at least two targets")
      .max(10)
      .describe("Each with its weight in percent; the weights add up to 100"),
  }),
  z.strictObject({
    ...deploymentFields,
    mode: z.literal("champion_challenger"),
    targets: z
      .array(targetSchema.omit({ weight: true }).required({ role: true }))
      .min(2, "mode champion_challenger takes exactly two targets")
      .max(2, "mode champion_challenger takes exactly two targets")
      .meta({ allOf: ROLE_CHECKS })
      .refine(
        (targets) =>
          targets.some((t) => t.role === "champion") && targets.some((t) => t.role === "challenger"),
        "mode champion_challenger takes one champion and one challenger",
      ),
  }),
]);

const projectParams = z.object({ projectId: projectIdParam });
const deploymentParams = projectParams.extend({ deploymentId: deploymentIdParam });
const handlers = "lambdas/deployments/api/handlers";

export const createDeploymentRoute = defineRoute({
  operationId: "createDeployment",
  method: "POST",
  path: "/v1/projects/{projectId}/deployments",
  summary: "Deploy model versions; the deploy workflow runs in the background (editors)",
  tag: "deployments",
  handler: `${handlers}/create-deployment.ts`,
  params: projectParams,
  body: createDeploymentBody,
  responses: {
    201: { description: "Accepted: status PENDING, the workflow has started", schema: deploymentSchema },
    ...standardErrors,
    ...conflictError,
  },
});

export const listDeploymentsRoute = defineRoute({
  operationId: "listDeployments",
  method: "GET",
  path: "/v1/projects/{projectId}/deployments",
  summary: "List a project's deployments",
  tag: "deployments",
  handler: `${handlers}/list-deployments.ts`,
  params: projectParams,
  query: listQuery,
  responses: {
    200: { description: "A page of deployments", schema: pageOf(deploymentSchema) },
    ...standardErrors,
  },
});

export const getDeploymentRoute = defineRoute({
  operationId: "getDeployment",
  method: "GET",
  path: "/v1/projects/{projectId}/deployments/{deploymentId}",
  summary: "Show a deployment: status, events, endpointUrl, failureReason",
  tag: "deployments",
  handler: `${handlers}/get-deployment.ts`,
  params: deploymentParams,
  responses: { 200: { description: "The deployment", schema: deploymentSchema }, ...standardErrors },
});

export const updateDeploymentRoute = defineRoute({
  operationId: "updateDeployment",
  method: "PATCH",
  path: "/v1/projects/{projectId}/deployments/{deploymentId}",
  summary: "Swap model versions, change weights or capture without downtime (editors)",
  tag: "deployments",
  handler: `${handlers}/update-deployment.ts`,
  params: deploymentParams,
  body: z
    .strictObject({
      targets: z
        .array(targetSchema)
        .min(1)
        .max(10)
        .optional()
        .describe("The new targets; default: the current ones (to change only capture)"),
      capture: captureSchema.optional().describe("New capture settings; default: unchanged"),
    })
    .meta({ minProperties: 1 })
    .refine((body) => body.targets !== undefined || body.capture !== undefined, {
      message: "send targets, capture or both",
    }),
  responses: {
    202: { description: "Accepted: the update workflow has started", schema: deploymentSchema },
    ...standardErrors,
    ...conflictError,
  },
});

export const deleteDeploymentRoute = defineRoute({
  operationId: "deleteDeployment",
  method: "DELETE",
  path: "/v1/projects/{projectId}/deployments/{deploymentId}",
  summary: "Delete a deployment: DELETING, then gone (editors)",
  tag: "deployments",
  handler: `${handlers}/delete-deployment.ts`,
  params: deploymentParams,
  responses: {
    202: { description: "Accepted: status DELETING", schema: deploymentSchema },
    ...standardErrors,
    ...conflictError,
  },
});

const figure = z.number().nullable();
const series = z
  .array(figure)
  .describe("One value per period, aligned with timestamps; null where there was no data");
const trafficKeys = [
  "requests",
  "rows",
  "errors4xx",
  "errors5xx",
  "latencyP50Ms",
  "latencyP90Ms",
  "latencyP99Ms",
  "scoringTimeP50Ms",
  "scoringTimeP99Ms",
  "captureDropped",
] as const;
const comparisonKeys = [
  "copies",
  "failures",
  "rowsCompared",
  "rowsAgreed",
  "agreement",
  "championLatencyP50Ms",
  "championLatencyP99Ms",
  "challengerLatencyP50Ms",
  "challengerLatencyP99Ms",
] as const;
const figuresOf = <K extends string, T extends z.ZodType>(keys: readonly K[], value: T) =>
  z.object(Object.fromEntries(keys.map((k) => [k, value])) as Record<K, T>);
const trafficMetricsSchema = z
  .object({
    totals: figuresOf(trafficKeys, figure).describe("Over the whole window"),
    series: figuresOf(trafficKeys, series),
  })
  .meta({ id: "TrafficMetrics" });

export const deploymentMetricsSchema = z
  .object({
    deploymentId: z.string(),
    start: instant().describe("The window's start (from), widened to a whole period"),
    end: instant().describe("The window's end (to), widened to a whole period"),
    periodSeconds: z.int(),
    timestamps: z.array(instant()).describe("The start of each period"),
    deployment: trafficMetricsSchema.describe("Callers' traffic to the deployment (shadow copies excluded)"),
    targets: z
      .array(
        trafficMetricsSchema.extend({
          target: z.string().describe("The runtime's MODEL_ID, <modelId>-v<version>"),
          modelId: z.string(),
          version: z.int(),
          role: z.enum(["primary", "champion", "challenger"]),
        }),
      )
      .describe("Each target serving now; a challenger's figures are those of the shadow copies it answered"),
    comparison: z
      .object({
        champion: z.string(),
        challenger: z.string(),
        tolerance: z.number().describe("Numbers agree when |a - b| <= tolerance * max(1, |a|, |b|)"),
        totals: figuresOf(comparisonKeys, figure).extend({
          meanAbsDiff: z.record(z.string(), figure).describe("Per numeric output column"),
        }),
        series: figuresOf(comparisonKeys, series).extend({ meanAbsDiff: z.record(z.string(), series) }),
      })
      .nullable()
      .describe("Champion/challenger only: how the challenger's answers to the shadow copies compare"),
  })
  .meta({ id: "DeploymentMetrics" });

export const getDeploymentMetricsRoute = defineRoute({
  operationId: "getDeploymentMetrics",
  method: "GET",
  path: "/v1/projects/{projectId}/deployments/{deploymentId}/metrics",
  summary: "Requests, rows, errors, latency percentiles and the champion/challenger comparison over time",
  tag: "deployments",
  handler: `${handlers}/get-deployment-metrics.ts`,
  params: deploymentParams,
  query: z.object({
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .describe("RFC 3339 start of the window; default: an hour before to"),
    to: z.iso.datetime({ offset: true }).optional().describe("RFC 3339 end of the window; default: now"),
    period: z.coerce
      .number()
      .int("period must be a whole number of seconds")
      .min(60, "period is at least 60 seconds")
      .max(86400, "period is at most 86400 seconds")
      .multipleOf(60, "period must be a multiple of 60 seconds")
      .optional()
      .describe(
        "Seconds per point, a multiple of 60; default: the smallest that keeps the window within 60 points",
      ),
  }),
  responses: {
    200: {
      description: "Series and totals; docs/monitoring.md explains each figure",
      schema: deploymentMetricsSchema,
    },
    ...standardErrors,
  },
});

export const deploymentRoutes = [
  createDeploymentRoute,
  listDeploymentsRoute,
  getDeploymentRoute,
  updateDeploymentRoute,
  deleteDeploymentRoute,
  getDeploymentMetricsRoute,
];
