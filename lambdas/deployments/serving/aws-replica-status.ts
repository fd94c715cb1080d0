import type * as EcsSdk from "@aws-sdk/client-ecs";
import type * as ElbSdk from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ReplicaCounts } from "#lambdas/deployments/capacity.ts";
import type { Slot } from "#lambdas/deployments/deployment-record.ts";
import type { StepSetting } from "#lambdas/deployments/serving-contract.ts";
import { requireSdk } from "#lambdas/shared/aws-sdk.ts";
import { requireEnv } from "#lambdas/shared/env.ts";

// This module is imported on first use (replica-status.ts), but a bundle hoists static imports of
// external packages to its top, which loaded both SDKs at every cold start: required here instead.
const { DescribeServicesCommand, ECSClient } = requireSdk("@aws-sdk/client-ecs") as typeof EcsSdk;
const { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } = requireSdk(
  "@aws-sdk/client-elastic-load-balancing-v2",
) as typeof ElbSdk;

/** DescribeServices takes at most this many services per call. */
const SERVICES_PER_CALL = 10;

/**
 * Replica counts on AWS: `desired` and `running` are the ECS service's desiredCount and
 * runningCount (DescribeServices), `healthy` the targets passing the ALB's /readyz check in the
 * slot's target group (DescribeTargetHealth).
 */
export class AwsReplicaStatus {
  private readonly ecs = new ECSClient({});
  private readonly elb = new ElasticLoadBalancingV2Client({});

  constructor(private readonly clusterArn = () => requireEnv("CLUSTER_ARN" satisfies StepSetting)) {}

  async replicaCounts(slots: readonly Slot[]): Promise<ReadonlyMap<string, ReplicaCounts>> {
    const withService = slots.filter((s) => s.resources.serviceArn);
    const services = new Map<string, { desired: number; running: number }>();
    for (let i = 0; i < withService.length; i += SERVICES_PER_CALL) {
      const out = await this.ecs.send(
        new DescribeServicesCommand({
          cluster: this.clusterArn(),
          services: withService.slice(i, i + SERVICES_PER_CALL).map((s) => s.resources.serviceArn as string),
        }),
      );
      for (const service of out.services ?? []) {
        if (service.serviceArn)
          services.set(service.serviceArn, {
            desired: service.desiredCount ?? 0,
            running: service.runningCount ?? 0,
          });
      }
    }
    const counts = new Map<string, ReplicaCounts>();
    await Promise.all(
      withService.map(async (slot) => {
        const service = services.get(slot.resources.serviceArn as string);
        if (!service) return;
        let healthy = 0;
        if (slot.resources.targetGroupArn) {
          const health = await this.elb.send(
            new DescribeTargetHealthCommand({ TargetGroupArn: slot.resources.targetGroupArn }),
          );
          healthy = (health.TargetHealthDescriptions ?? []).filter(
            (t) => t.TargetHealth?.State === "healthy",
          ).length;
        }
        counts.set(slot.slotId, { ...service, healthy });
      }),
    );
    return counts;
  }
}
