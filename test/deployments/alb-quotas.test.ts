import { describe, expect, it } from "vitest";
import {
  AlbQuotaExceededError,
  albQuotas,
  albUseOf,
  albUseOfTargets,
  checkAlbQuotas,
} from "#lambdas/deployments/alb-quotas.ts";
import type { DeploymentRecord, Slot } from "#lambdas/deployments/deployment-record.ts";
import { errorResponse } from "#lambdas/shared/http/error-response.ts";

const slot = (slotId: string) => ({ slotId }) as unknown as Slot;
const record = (over: Partial<DeploymentRecord>): DeploymentRecord =>
  ({
    deploymentId: "dep-1",
    mode: "single",
    status: "HEALTHY",
    targets: [{ modelId: "m", version: 1 }],
    slots: [],
    pendingSlots: [],
    trafficRuleArn: null,
    shadowRuleArn: null,
    ...over,
  }) as DeploymentRecord;

describe("what a deployment holds on the scoring load balancer", () => {
  it("is a target group and a rule per target, its own rule, and a shadow rule for champion/challenger", () => {
    expect(albUseOfTargets("single", 1)).toEqual({ rules: 2, targetGroups: 1 });
    expect(albUseOfTargets("ab", 5)).toEqual({ rules: 6, targetGroups: 5 });
    expect(albUseOfTargets("champion_challenger", 2)).toEqual({ rules: 4, targetGroups: 2 });
  });

  it("counts a PATCH's live and pending slots side by side, and what a fresh workflow will create", () => {
    const patching = record({
      mode: "ab",
      targets: [
        { modelId: "m", version: 2 },
        { modelId: "m", version: 3 },
      ],
      slots: [slot("s1"), slot("s2")],
      pendingSlots: [slot("s3"), slot("s4")],
      trafficRuleArn: "rule",
    });
    expect(albUseOf(patching)).toEqual({ rules: 5, targetGroups: 4 });
    // PENDING, nothing recorded yet: what its targets will need.
    expect(albUseOf(record({ status: "PENDING" }))).toEqual({ rules: 2, targetGroups: 1 });
    expect(albUseOf(record({ status: "DELETED", slots: [slot("s1")] }))).toEqual({
      rules: 0,
      targetGroups: 0,
    });
  });
});

describe("the quota check", () => {
  it("lets a change fill the quota exactly", () => {
    expect(() =>
      checkAlbQuotas({ rules: 98, targetGroups: 10 }, { rules: 2, targetGroups: 1 }),
    ).not.toThrow();
  });

  it("refuses with 409 naming the quota, the numbers and the context value that raises it", () => {
    const refusal = (() => {
      try {
        checkAlbQuotas({ rules: 10, targetGroups: 99 }, { rules: 2, targetGroups: 2 });
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(AlbQuotaExceededError);
    const response = errorResponse(refusal);
    expect(response.statusCode).toBe(409);
    const body = JSON.parse(response.body);
    expect(body.error.code).toBe("ALB_QUOTA_EXCEEDED");
    expect(body.error.message).toBe(
      "This change needs 2 target groups on the scoring load balancer, which has 99 of its 100 in use by other deployments (Elastic Load Balancing quota 'Target groups per Application Load Balancer'). Delete a deployment, or raise the quota in Service Quotas and deploy the stack with -c byom:albTargetGroupsQuota=<the new quota>.",
    );
    expect(body.error.details[0]).toMatchObject({ limit: 100, inUse: 99, needed: 2 });
  });

  it("reads an account's raised quotas from the environment the CDK app sets", () => {
    process.env.ALB_RULES_QUOTA = "250";
    try {
      expect(albQuotas()).toEqual({ rules: 250, targetGroups: 100 });
      expect(() =>
        checkAlbQuotas({ rules: 120, targetGroups: 0 }, { rules: 2, targetGroups: 1 }),
      ).not.toThrow();
    } finally {
      delete process.env.ALB_RULES_QUOTA;
    }
  });
});
