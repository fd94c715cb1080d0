import type { DeploymentMode, DeploymentRecord } from "#lambdas/deployments/deployment-record.ts";
import type { StepSetting } from "#lambdas/deployments/serving-contract.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { ConflictError } from "#lambdas/shared/errors.ts";

/**
 * Elastic Load Balancing's quotas that deployments use up (docs/deployments.md, Load balancer quotas):
 * listener rules per Application Load Balancer (default rules not counted) and target groups per
 * Application Load Balancer. Both are adjustable in Service Quotas; the CDK context values tell
 * the API an account's raised ones.
 */
export const DEFAULT_ALB_QUOTAS = { rules: 100, targetGroups: 100 } as const;
export const ALB_QUOTA_CONTEXT = {
  rules: "byom:albRulesQuota",
  targetGroups: "byom:albTargetGroupsQuota",
} as const;
const QUOTA_NAMES = {
  rules: "Rules per Application Load Balancer",
  targetGroups: "Target groups per Application Load Balancer",
} as const;

export interface AlbUse {
  readonly rules: number;
  readonly targetGroups: number;
}

/**
 * What a deployment of `targets` targets holds while it serves: a target group and a slot rule
 * per target, its own rule, and for champion/challenger the shadow rule.
 */
export function albUseOfTargets(mode: DeploymentMode, targets: number): AlbUse {
  return { rules: targets + 1 + (mode === "champion_challenger" ? 1 : 0), targetGroups: targets };
}

/**
 * What a deployment holds now or is about to: the larger of what its record shows (live and
 * pending slots, each with a target group and a rule, its rules) and what its targets need (a
 * workflow that just started has recorded nothing yet). Deleted deployments hold nothing.
 */
export function albUseOf(record: DeploymentRecord): AlbUse {
  if (record.status === "DELETED") return { rules: 0, targetGroups: 0 };
  const slots = record.slots.length + record.pendingSlots.length;
  const recorded = {
    rules: slots + (record.trafficRuleArn ? 1 : 0) + (record.shadowRuleArn ? 1 : 0),
    targetGroups: slots,
  };
  const planned = albUseOfTargets(record.mode, record.targets.length);
  return {
    rules: Math.max(recorded.rules, planned.rules),
    targetGroups: Math.max(recorded.targetGroups, planned.targetGroups),
  };
}

export function albQuotas(): AlbUse {
  const read = (name: StepSetting, fallback: number) => {
    const value = Number(optionalEnv(name, String(fallback)));
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  return {
    rules: read("ALB_RULES_QUOTA", DEFAULT_ALB_QUOTAS.rules),
    targetGroups: read("ALB_TARGET_GROUPS_QUOTA", DEFAULT_ALB_QUOTAS.targetGroups),
  };
}

export class AlbQuotaExceededError extends ConflictError {
  override readonly code = "ALB_QUOTA_EXCEEDED";
}

/**
 * Refuses (409, before any workflow starts) a change that would take the scoring load balancer
 * past a quota: `inUse` is what every other deployment holds, `needed` what this one will hold
 * at its peak (for a PATCH its live slots and the new revision's, side by side).
 */
export function checkAlbQuotas(inUse: AlbUse, needed: AlbUse, quotas: AlbUse = albQuotas()): void {
  for (const kind of ["rules", "targetGroups"] as const) {
    if (inUse[kind] + needed[kind] <= quotas[kind]) continue;
    const noun = kind === "rules" ? "listener rules" : "target groups";
    throw new AlbQuotaExceededError(
      `This change needs ${needed[kind]} ${noun} on the scoring load balancer, which has ${inUse[kind]} of its ${quotas[kind]} in use by other deployments (Elastic Load Balancing quota '${QUOTA_NAMES[kind]}'). Delete a deployment, or raise the quota in Service Quotas and deploy the stack with -c ${ALB_QUOTA_CONTEXT[kind]}=<the new quota>.`,
      [
        {
          message: "quota",
          quota: QUOTA_NAMES[kind],
          limit: quotas[kind],
          inUse: inUse[kind],
          needed: needed[kind],
        },
      ],
    );
  }
}
