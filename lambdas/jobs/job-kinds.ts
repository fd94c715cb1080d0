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
