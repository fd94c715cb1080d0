import { artifactBytesOf, removeArtifactBytes } from "#lambdas/artifacts/artifact-cleanup.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/http/caller.ts";
import { ExperimentNotFoundError, ExperimentRegisteredError, findExperiment } from "./experiments.ts";
import { deleteExperiment as deleteExperimentItems } from "./experiments-repository.ts";

/**
 * Deletes an unregistered experiment with its artifacts: the items, then the bytes (objects and
 * unfinished uploads). A file of its own, so that only the delete handler loads the S3 SDK and is
 * granted DeleteObject (the CDK app grants by imports: cdk/module-graph.ts).
 */
export async function deleteExperiment(
  caller: Caller,
  projectId: string,
  experimentId: string,
): Promise<void> {
  await authorize(caller, projectId, "editor");
  const bytes = await artifactBytesOf(projectId, experimentId);
  const outcome = await deleteExperimentItems(projectId, experimentId);
  if (outcome === "deleted") await removeArtifactBytes(bytes);
  if (outcome === "missing") throw new ExperimentNotFoundError(projectId, experimentId);
  if (outcome === "registered") {
    const claim = (await findExperiment(projectId, experimentId)).registeredAs;
    throw new ExperimentRegisteredError(
      experimentId,
      claim?.modelId ?? "unknown",
      claim?.version,
      "A registered experiment cannot be deleted.",
    );
  }
}
