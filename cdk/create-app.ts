import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Aspects, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { ALB_QUOTA_CONTEXT } from "#lambdas/deployments/alb-quotas.ts";
import { ALLOW_UNAUTHENTICATED_SCORING_CONTEXT } from "#lambdas/deployments/serving-contract.ts";
import { CheckovAcknowledgements } from "./checkov-acknowledgements.ts";
import { REPO_ROOT } from "./paths.ts";
import { ByomStack, type ByomStackProps } from "./stacks/byom-stack.ts";

/**
 * Context values (`cdk deploy -c byom:internetFacing=true …`, or cdk.json), all optional:
 * byom:stackName, byom:region, byom:retainData, byom:internetFacing, byom:allowedCidr,
 * byom:certificateArn, byom:tracing, byom:endpointsInEveryAz, byom:longRunningConcurrency,
 * byom:allowUnauthenticatedScoring, byom:maxReplicas,
 * byom:albRulesQuota, byom:albTargetGroupsQuota,
 * byom:captureRetentionDays, byom:adminPrincipals, byom:mlflowAllowedHosts (comma-separated lists), byom:alarmTopicArn.
 * docs/deploy-aws.md explains each.
 */
export function createApp(
  context: Record<string, unknown> = {},
  outdir?: string,
): { app: App; stack: ByomStack } {
  // cdk.json's feature flags, also when the app is built outside the CLI (tests).
  const app = new App({ context: { ...cdkJsonContext(), ...context }, ...(outdir ? { outdir } : {}) });
  const flag = (name: string): boolean | undefined => {
    const value = app.node.tryGetContext(name);
    return value === undefined ? undefined : value === true || value === "true";
  };
  const text = (name: string): string | undefined => {
    const value = app.node.tryGetContext(name);
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const count = (name: string, min = 1): number | undefined => {
    const value = text(name) ?? app.node.tryGetContext(name);
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > 1000) {
      throw new Error(`Context ${name} must be a whole number from ${min} to 1000, not '${value}'.`);
    }
    return number;
  };
  const list = (name: string): string[] | undefined => {
    const value = app.node.tryGetContext(name);
    if (value === undefined || value === "") return undefined;
    const items = (Array.isArray(value) ? value.map(String) : String(value).split(","))
      .map((item) => item.trim())
      .filter(Boolean);
    return items.length > 0 ? items : undefined;
  };
  const adminPrincipals = list("byom:adminPrincipals");
  for (const principal of adminPrincipals ?? []) {
    if (!/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/.test(principal)) {
      throw new Error(
        `Context byom:adminPrincipals lists IAM principal ARNs (arn:aws:iam::<account>:role/<name> or :user/<name>), not '${principal}'.`,
      );
    }
  }
  const alarmTopicArn = text("byom:alarmTopicArn");
  if (
    alarmTopicArn &&
    !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+(\.fifo)?$/.test(alarmTopicArn)
  ) {
    throw new Error(
      `Context byom:alarmTopicArn is an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>), not '${alarmTopicArn}'.`,
    );
  }
  const props: ByomStackProps = {
    // Account-agnostic, so `cdk synth` needs no credentials; the region is known so that ALB
    // access logging can name the region's log delivery principal.
    env: { region: text("byom:region") ?? process.env.CDK_DEFAULT_REGION ?? "us-east-1" },
    retainData: flag("byom:retainData"),
    internetFacing: flag("byom:internetFacing"),
    allowedCidr: text("byom:allowedCidr"),
    certificateArn: text("byom:certificateArn"),
    tracing: flag("byom:tracing"),
    // An SQS event source runs at least 2 invocations at once, so less cannot be reserved.
    jobWorkerReservedConcurrency: count("byom:longRunningConcurrency", 2),
    endpointsInEveryAz: flag("byom:endpointsInEveryAz"),
    allowUnauthenticatedScoring: flag(ALLOW_UNAUTHENTICATED_SCORING_CONTEXT),
    maxReplicas: count("byom:maxReplicas"),
    albQuotas: {
      rules: count(ALB_QUOTA_CONTEXT.rules),
      targetGroups: count(ALB_QUOTA_CONTEXT.targetGroups),
    },
    captureRetentionDays: count("byom:captureRetentionDays"),
    adminPrincipals,
    mlflowAllowedHosts: list("byom:mlflowAllowedHosts"),
    alarmTopicArn,
  };
  const stack = new ByomStack(app, text("byom:stackName") ?? "Byom", props);
  // cdk-nag 3: a policy validation plugin; synth fails on any finding not acknowledged with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // checkov's acknowledged findings, as skip metadata in the template (cdk/checkov-acknowledgements.ts).
  Aspects.of(app).add(new CheckovAcknowledgements());
  return { app, stack };
}

export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}
