import type { DeploymentRecord } from "#lambdas/deployments/deployment-record.ts";
import { listAllDeployments } from "#lambdas/deployments/deployments-repository.ts";

/**
 * Every deployment of the installation, page by page: for the installation-wide passes (health
 * monitor, orphan and reservation sweeps, catalog in-use checks). Apart from the repository so that
 * tests replacing the repository's listing need not replace this too.
 */
export async function* everyDeployment(): AsyncGenerator<DeploymentRecord> {
  let cursor: string | undefined;
  do {
    const page = await listAllDeployments(cursor);
    yield* page.items;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
}

/** The ids of every deployment that exists now. */
export async function existingDeploymentIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const record of everyDeployment()) ids.add(record.deploymentId);
  return ids;
}
