import type { artifactRoutes } from "#lambdas/artifacts/routes.ts";
import type { catalogRoutes } from "#lambdas/catalog/routes.ts";
import type { deploymentRoutes } from "#lambdas/deployments/api/routes.ts";
import type { experimentRoutes } from "#lambdas/experiments/routes.ts";
import type { importRoutes } from "#lambdas/imports/routes.ts";
import type { jobRoutes } from "#lambdas/jobs/routes.ts";
import type { metaRoutes } from "#lambdas/meta/routes.ts";
import type { modelRoutes } from "#lambdas/models/routes.ts";
import type { driftRoutes } from "#lambdas/monitoring/drift-routes.ts";
import type { projectRoutes } from "#lambdas/projects/routes.ts";

/**
 * The registry API's operations as the client calls them. The types come from the server's own
 * route declarations (`lambdas/<domain>/routes.ts`, imported for their types only, so no server
 * module runs in the CLI); the method and path of each operation are written here and checked by
 * the compiler against those declarations, and by `test/cli/registry.test.ts` against the OpenAPI
 * document the API serves. A wrong method or path does not typecheck.
 */
type KnownRoute =
  | (typeof metaRoutes)[number]
  | (typeof projectRoutes)[number]
  | (typeof experimentRoutes)[number]
  | (typeof modelRoutes)[number]
  | (typeof artifactRoutes)[number]
  | (typeof deploymentRoutes)[number]
  | (typeof driftRoutes)[number]
  | (typeof catalogRoutes)[number]
  | (typeof importRoutes)[number]
  | (typeof jobRoutes)[number];

export type OperationId = KnownRoute["operationId"];
export type RouteOf<Id extends OperationId> = Extract<KnownRoute, { operationId: Id }>;

type OperationTable = {
  readonly [Id in OperationId]?: {
    readonly method: RouteOf<Id>["method"];
    readonly path: RouteOf<Id>["path"];
  };
};

export const OPERATIONS = {
  health: { method: "GET", path: "/v1/health" },
  openapi: { method: "GET", path: "/v1/openapi.json" },

  createProject: { method: "POST", path: "/v1/projects" },
  listProjects: { method: "GET", path: "/v1/projects" },
  getProject: { method: "GET", path: "/v1/projects/{projectId}" },
  deleteProject: { method: "DELETE", path: "/v1/projects/{projectId}" },
  listMembers: { method: "GET", path: "/v1/projects/{projectId}/members" },
  putMember: { method: "PUT", path: "/v1/projects/{projectId}/members" },
  deleteMember: { method: "DELETE", path: "/v1/projects/{projectId}/members" },

  createExperiment: { method: "POST", path: "/v1/projects/{projectId}/experiments" },
  listExperiments: { method: "GET", path: "/v1/projects/{projectId}/experiments" },
  getExperiment: { method: "GET", path: "/v1/projects/{projectId}/experiments/{experimentId}" },
  patchExperiment: { method: "PATCH", path: "/v1/projects/{projectId}/experiments/{experimentId}" },
  deleteExperiment: { method: "DELETE", path: "/v1/projects/{projectId}/experiments/{experimentId}" },

  createArtifact: { method: "POST", path: "/v1/projects/{projectId}/experiments/{experimentId}/artifacts" },
  listArtifacts: { method: "GET", path: "/v1/projects/{projectId}/experiments/{experimentId}/artifacts" },
  getArtifact: {
    method: "GET",
    path: "/v1/projects/{projectId}/experiments/{experimentId}/artifacts/{artifactId}",
  },
  renewArtifactUpload: {
    method: "POST",
    path: "/v1/projects/{projectId}/experiments/{experimentId}/artifacts/{artifactId}/upload",
  },
  completeArtifactUpload: {
    method: "POST",
    path: "/v1/projects/{projectId}/experiments/{experimentId}/artifacts/{artifactId}/complete",
  },
  downloadArtifact: {
    method: "GET",
    path: "/v1/projects/{projectId}/experiments/{experimentId}/artifacts/{artifactId}/download",
  },

  createModel: { method: "POST", path: "/v1/projects/{projectId}/models" },
  listModels: { method: "GET", path: "/v1/projects/{projectId}/models" },
  getModel: { method: "GET", path: "/v1/projects/{projectId}/models/{modelId}" },
  registerModelVersion: { method: "POST", path: "/v1/projects/{projectId}/models/{modelId}/versions" },
  listModelVersions: { method: "GET", path: "/v1/projects/{projectId}/models/{modelId}/versions" },
  getModelVersion: { method: "GET", path: "/v1/projects/{projectId}/models/{modelId}/versions/{version}" },

  createDeployment: { method: "POST", path: "/v1/projects/{projectId}/deployments" },
  listDeployments: { method: "GET", path: "/v1/projects/{projectId}/deployments" },
  getDeployment: { method: "GET", path: "/v1/projects/{projectId}/deployments/{deploymentId}" },
  updateDeployment: { method: "PATCH", path: "/v1/projects/{projectId}/deployments/{deploymentId}" },
  deleteDeployment: { method: "DELETE", path: "/v1/projects/{projectId}/deployments/{deploymentId}" },
  getDeploymentMetrics: {
    method: "GET",
    path: "/v1/projects/{projectId}/deployments/{deploymentId}/metrics",
  },
  attachReferenceDataset: {
    method: "PUT",
    path: "/v1/projects/{projectId}/models/{modelId}/versions/{version}/reference-dataset",
  },
  getDeploymentDrift: { method: "GET", path: "/v1/projects/{projectId}/deployments/{deploymentId}/drift" },

  listCompositions: { method: "GET", path: "/v1/catalog/compositions" },
  listCatalogEntries: { method: "GET", path: "/v1/catalog/{kind}" },
  addCatalogEntry: { method: "POST", path: "/v1/catalog/entries" },
  deleteCatalogEntry: { method: "DELETE", path: "/v1/catalog/{kind}" },

  importMlflowModel: { method: "POST", path: "/v1/projects/{projectId}/imports/mlflow" },

  getJob: { method: "GET", path: "/v1/projects/{projectId}/jobs/{jobId}" },
} as const satisfies OperationTable;

export type ClientOperationId = keyof typeof OPERATIONS;
