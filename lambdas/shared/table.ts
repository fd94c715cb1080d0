import { requireEnv } from "./env.ts";

/**
 * The single DynamoDB table: every entity's key builders live here, next to the access pattern they
 * serve (docs/data-model.md lists them all). Repositories build keys only through these functions.
 *
 * Table keys: pk, sk. Index GSI1: gsi1pk, gsi1sk (members by principal).
 */
export const TABLE_NAME = requireEnv("TABLE_NAME");
export const GSI1 = "gsi1";

const projectPk = (projectId: string) => `PROJECT#${projectId}`;
/** Zero-padded so that sort order is numeric order. */
export const padVersion = (version: number) => String(version).padStart(10, "0");

export const keys = {
  project: (projectId: string) => ({ pk: projectPk(projectId), sk: "PROJECT" }),
  member: (projectId: string, principal: string) => ({ pk: projectPk(projectId), sk: `MEMBER#${principal}` }),
  memberPrefix: (projectId: string) => ({ pk: projectPk(projectId), skPrefix: "MEMBER#" }),
  /** GSI1 partition of the projects a principal belongs to. */
  memberIndex: (principal: string, createdAt: string, projectId: string) => ({
    gsi1pk: `PRINCIPAL#${principal}`,
    gsi1sk: `${createdAt}#${projectId}`,
  }),
  memberIndexPartition: (principal: string) => `PRINCIPAL#${principal}`,
  projectPartition: projectPk,

  experiment: (projectId: string, experimentId: string) => ({
    pk: projectPk(projectId),
    sk: `EXPERIMENT#${experimentId}`,
  }),
  experimentPrefix: (projectId: string) => ({ pk: projectPk(projectId), skPrefix: "EXPERIMENT#" }),

  artifact: (projectId: string, experimentId: string, artifactId: string) => ({
    pk: projectPk(projectId),
    sk: `ARTIFACT#${experimentId}#${artifactId}`,
  }),
  artifactPrefix: (projectId: string, experimentId: string) => ({
    pk: projectPk(projectId),
    skPrefix: `ARTIFACT#${experimentId}#`,
  }),
  projectArtifactsPrefix: (projectId: string) => ({ pk: projectPk(projectId), skPrefix: "ARTIFACT#" }),

  model: (projectId: string, modelId: string) => ({ pk: projectPk(projectId), sk: `MODEL#${modelId}` }),
  modelPrefix: (projectId: string) => ({ pk: projectPk(projectId), skPrefix: "MODEL#" }),
  modelName: (projectId: string, name: string) => ({ pk: projectPk(projectId), sk: `MODELNAME#${name}` }),
  version: (projectId: string, modelId: string, version: number) => ({
    pk: projectPk(projectId),
    sk: `VERSION#${modelId}#${padVersion(version)}`,
  }),
  versionPrefix: (projectId: string, modelId: string) => ({
    pk: projectPk(projectId),
    skPrefix: `VERSION#${modelId}#`,
  }),

  deployment: (projectId: string, deploymentId: string) => ({
    pk: projectPk(projectId),
    sk: `DEPLOYMENT#${deploymentId}`,
  }),
  deploymentPrefix: (projectId: string) => ({ pk: projectPk(projectId), skPrefix: "DEPLOYMENT#" }),
  /** GSI1 partition of every deployment, for the health monitor (a scheduled job, not a request). */
  deploymentIndex: (deploymentId: string) => ({ gsi1pk: "DEPLOYMENTS", gsi1sk: deploymentId }),
  deploymentIndexPartition: "DEPLOYMENTS",
  /** What deployments reserve on the scoring load balancer (lambdas/deployments/alb-reservations.ts). */
  albReservations: { pk: "ALB#scoring", sk: "RESERVATIONS" },

  catalogEntry: (kind: string, name: string) => ({ pk: `CATALOG#${kind}`, sk: `ENTRY#${name}` }),
  catalogPrefix: (kind: string) => ({ pk: `CATALOG#${kind}`, skPrefix: "ENTRY#" }),

  /**
   * A job (docs/ingestion.md, "Jobs"): its own partition, so it outlives the project it deletes and
   * its creator can still read how that ended.
   */
  job: (jobId: string) => ({ pk: `JOB#${jobId}`, sk: "JOB" }),

  /** Marks one S3 object version as ingested from the drop folder, so it is ingested exactly once. */
  dropMarker: (bucketKey: string, versionOrEtag: string) => ({
    pk: `DROP#${bucketKey}`,
    sk: `VERSION#${versionOrEtag}`,
  }),
} as const;
