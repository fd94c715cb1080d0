import { existingDeploymentIds } from "#lambdas/deployments/every-deployment.ts";
import {
  TAGGED_RESOURCE_KINDS,
  type TaggedResource,
  type TaggedResources,
} from "#lambdas/deployments/serving/serving-port.ts";
import { logger } from "#lambdas/shared/logger.ts";

/**
 * The orphan sweep (docs/deployments.md, Orphans): removes resources tagged `byom:deployment` whose
 * deployment no longer exists, e.g. one a step created and a crash kept it from recording. Runs
 * with the health monitor. The resources are listed BEFORE the deployments: a deployment's record
 * is written before its workflow starts, so anything listed belongs to a deployment the second list
 * still shows unless that deployment is really gone.
 */
export async function sweepOrphans(infra: TaggedResources): Promise<TaggedResource[]> {
  const tagged = await infra.taggedResources();
  if (tagged.length === 0) return [];
  const existing = await existingDeploymentIds();
  // Rules before the target groups they forward to, services before their task definitions.
  const orphans = tagged
    .filter((r) => !existing.has(r.deploymentId))
    .sort((a, b) => TAGGED_RESOURCE_KINDS.indexOf(a.kind) - TAGGED_RESOURCE_KINDS.indexOf(b.kind));
  const removed: TaggedResource[] = [];
  for (const orphan of orphans) {
    try {
      await infra.deleteTagged(orphan);
      removed.push(orphan);
      logger.warn("removed an orphaned resource", { ...orphan });
    } catch (error) {
      // The next sweep tries again.
      logger.error("could not remove an orphaned resource", { ...orphan, error: error as Error });
    }
  }
  return removed;
}
