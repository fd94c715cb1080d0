import { ExperimentFrozenError, ExperimentNotFoundError } from "#lambdas/experiments/experiments.ts";
import { getExperiment } from "#lambdas/experiments/experiments-repository.ts";
import { NotFoundError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { type ArtifactRecord, type ArtifactRef, getArtifact } from "./artifacts-repository.ts";

/*
 * The artifact checks a request makes without S3 (artifacts.ts re-exports them): a file of its own
 * so that the handler that only starts the completion job does not load the S3 client, nor get
 * S3 permissions (cdk/module-graph.ts grants by imports).
 */

export class ArtifactNotFoundError extends NotFoundError {
  constructor(ref: ArtifactRef) {
    super(
      "Artifact",
      ref.artifactId,
      `List the experiment's artifacts with GET /v1/projects/${ref.projectId}/experiments/${ref.experimentId}/artifacts.`,
    );
  }
}

export async function findArtifact(ref: ArtifactRef): Promise<ArtifactRecord> {
  const artifact = await getArtifact(ref);
  if (!artifact) throw new ArtifactNotFoundError(ref);
  return artifact;
}

/**
 * Model bytes may only be added before registration. An upload racing a registration is caught by
 * ingestion, which ends such an artifact FAILED (lambdas/ingest/ingest-artifact.ts).
 */
export async function requireUnregisteredExperiment(projectId: string, experimentId: string): Promise<void> {
  const experiment = await getExperiment(projectId, experimentId);
  if (!experiment) throw new ExperimentNotFoundError(projectId, experimentId);
  if (experiment.registeredAs)
    throw new ExperimentFrozenError(projectId, experimentId, "its model artifacts", experiment.registeredAs);
}

export function checkPartList(parts: ReadonlyArray<{ partNumber: number }>, partCount: number): void {
  const seen = new Set<number>();
  const duplicates = new Set<number>();
  for (const { partNumber } of parts) (seen.has(partNumber) ? duplicates : seen).add(partNumber);
  const extra = [...seen].filter((n) => n < 1 || n > partCount).sort((a, b) => a - b);
  const missing: number[] = [];
  for (let n = 1; n <= partCount; n++) if (!seen.has(n)) missing.push(n);
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing part(s) ${summarize(missing)}`);
  if (extra.length > 0) problems.push(`part(s) ${summarize(extra)} beyond the plan's ${partCount}`);
  if (duplicates.size > 0)
    problems.push(`part(s) ${summarize([...duplicates].sort((a, b) => a - b))} listed twice`);
  if (problems.length > 0) {
    throw new ValidationFailedError(
      `The part list does not match the upload plan of ${partCount} part(s): ${problems.join("; ")}. List every part 1..${partCount} once, with the ETag its PUT returned.`,
      [{ path: "body.parts", message: problems.join("; "), missing, extra, duplicates: [...duplicates] }],
    );
  }
}

function summarize(numbers: readonly number[]): string {
  const shown = numbers.slice(0, 20).join(", ");
  return numbers.length > 20 ? `${shown} … (${numbers.length} in all)` : shown;
}
