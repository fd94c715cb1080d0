import { artifactBytesOf, removeArtifactBytes } from "#lambdas/artifacts/artifact-cleanup.ts";
import { ConflictError } from "#lambdas/shared/errors.ts";
import type { Caller } from "#lambdas/shared/http/caller.ts";
import { authorize } from "./access.ts";
import { deleteProjectPartition, projectHas } from "./projects-repository.ts";

/**
 * Deletes a project without deployments: every item of its partition, then its artifacts' bytes.
 * A file of its own, so that only the delete handler loads the S3 SDK and may delete objects (the
 * CDK app grants by imports: cdk/module-graph.ts).
 */
export async function deleteProject(caller: Caller, projectId: string): Promise<void> {
  await authorize(caller, projectId, "owner");
  if (await projectHas(projectId, "DEPLOYMENT#")) {
    throw new ConflictError(
      `Project '${projectId}' still has deployments. Delete them first (DELETE /v1/projects/${projectId}/deployments/{deploymentId}).`,
    );
  }
  const bytes = await artifactBytesOf(projectId);
  await deleteProjectPartition(projectId);
  await removeArtifactBytes(bytes);
}
