/** A job's states and kinds, declared once (routes, repository and docs/ingestion.md use them). */
export const JOB_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const JOB_KINDS = [
  "delete-project",
  "delete-experiment",
  "complete-upload",
  "import-mlflow",
  "import-image",
] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/**
 * Jobs that belong to no project (the catalog's import-image jobs) are recorded under this
 * projectId; GET /v1/projects/catalog/jobs/{jobId} shows them to whoever started them.
 */
export const CATALOG_JOBS_PROJECT = "catalog";
