import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks } from "cdk-nag";
import { createApp } from "#cdk/create-app.ts";
import type { ByomStack } from "#cdk/stacks/byom-stack.ts";

export interface SynthesizedApp {
  readonly app: App;
  readonly stack: ByomStack;
  readonly template: Template;
  readonly assembly: CloudAssembly;
  /** cdk-nag AwsSolutions findings nobody acknowledged, as "rule at construct path" lines. */
  readonly unacknowledgedFindings: readonly string[];
}

/**
 * Builds the app as `cdk synth` does (cdk.json's context, cdk-nag plugin) and synthesizes it into a
 * temp folder. `bundle: false` skips esbuild (assertions only look at the template); the cdk-nag
 * plugin still runs inside synth, which throws on any unacknowledged finding.
 */
export function synthesize(context: Record<string, unknown> = {}, bundle = false): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), "byom-cdk-"));
  const { app, stack } = createApp(
    { ...context, ...(bundle ? {} : { "aws:cdk:bundling-stacks": [] }) },
    outdir,
  );
  const findings = new AwsSolutionsChecks()
    .validateScope(app)
    .violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
    );
  const assembly = app.synth();
  return { app, stack, template: Template.fromStack(stack), assembly, unacknowledgedFindings: findings };
}

type Statement = { Action: string | string[]; Effect: string; Resource: unknown };

/** Every Allow action granted to a role, through its inline and attached policies in the template. */
export function allowedActions(template: Template, roleLogicalId: string): string[] {
  const policies = template.findResources("AWS::IAM::Policy");
  const actions: string[] = [];
  for (const policy of Object.values(policies)) {
    const roles = (policy.Properties.Roles ?? []) as Array<{ Ref?: string }>;
    if (!roles.some((role) => role.Ref === roleLogicalId)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
      if (statement.Effect !== "Allow") continue;
      actions.push(...(Array.isArray(statement.Action) ? statement.Action : [statement.Action]));
    }
  }
  return actions;
}
