import type { ReplicaCounts } from "#lambdas/deployments/capacity.ts";
import type { Slot } from "#lambdas/deployments/deployment-record.ts";

/**
 * Where `GET` a deployment reads how many replicas each serving slot runs: ECS and the ALB on AWS
 * (aws-replica-status.ts), the runtime supervisor in local mode (local/local-serving.ts).
 */
export interface ReplicaStatusSource {
  /** Slot id → counts, for the slots the infrastructure knows (others are left out). */
  replicaCounts(slots: readonly Slot[]): Promise<ReadonlyMap<string, ReplicaCounts>>;
}

let installed: ReplicaStatusSource | undefined;

/**
 * Local mode runs the API handlers in its own process and installs its supervisor here; a Lambda
 * installs nothing and asks AWS.
 */
export function installReplicaStatusSource(source: ReplicaStatusSource): void {
  installed = source;
}

/** The AWS clients load on the first GET only (they cost the other handlers' cold starts nothing). */
export async function replicaStatusSource(): Promise<ReplicaStatusSource> {
  if (!installed) {
    const { AwsReplicaStatus } = await import("#lambdas/deployments/serving/aws-replica-status.ts");
    installed = new AwsReplicaStatus();
  }
  return installed;
}
