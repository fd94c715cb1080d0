import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { createApp } from "#cdk/create-app.ts";
import type { ByomStack } from "#cdk/stacks/byom-stack.ts";

export interface SynthesizedApp {
  readonly app: App;
  readonly stack: ByomStack;
  readonly template: Template;
  readonly assembly: CloudAssembly;
  /** cdk-nag AwsSolutions findings nobody acknowledged, as "rule at construct path" lines. */
  readonly unacknowledgedFindings: readonly string[];
  /** AwsSolutions acknowledgements (as "rule at construct path") that silenced no finding at all. */
  readonly unusedAcknowledgements: readonly string[];
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
  const checks = new AwsSolutionsChecks();
  const used = recordAcknowledgementUse(checks);
  const findings = checks
    .validateScope(app)
    .violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
    );
  const unused = acknowledgementsIn(app).filter((ack) => !used.has(ack));
  const assembly = app.synth();
  return {
    app,
    stack,
    template: Template.fromStack(stack),
    assembly,
    unacknowledgedFindings: findings,
    unusedAcknowledgements: unused,
  };
}

function acknowledgedIds(construct: IConstruct): string[] {
  return construct.node.metadata
    .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && entry.data)
    .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
    .map((id) => id.replace(/^annotation::/i, ""));
}

/** Every AwsSolutions acknowledgement in the tree, as "rule at construct path". */
function acknowledgementsIn(root: IConstruct): string[] {
  return root.node.findAll().flatMap((construct) =>
    acknowledgedIds(construct)
      .filter((id) => id.startsWith("AwsSolutions-"))
      .map((id) => `${id} at ${construct.node.path}`),
  );
}

/**
 * Wraps the pack's (private) acknowledgement lookup to record which acknowledgement, on which
 * construct, silenced a finding: the finding's resource itself or one of its ancestors.
 */
function recordAcknowledgementUse(checks: AwsSolutionsChecks): Set<string> {
  const used = new Set<string>();
  const pack = checks as unknown as { isAcknowledged(resource: IConstruct, ruleId: string): boolean };
  const original = pack.isAcknowledged.bind(checks);
  pack.isAcknowledged = (resource, ruleId) => {
    const acknowledged = original(resource, ruleId);
    for (let scope: IConstruct | undefined = resource; acknowledged && scope; scope = scope.node.scope) {
      if (acknowledgedIds(scope).includes(ruleId)) used.add(`${ruleId} at ${scope.node.path}`);
    }
    return acknowledged;
  };
  return used;
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

type EgressRule = {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  CidrIp?: string;
  CidrIpv6?: string;
  DestinationSecurityGroupId?: { "Fn::GetAtt": [string, string] };
  DestinationPrefixListId?: unknown;
};

/**
 * Every egress rule of a security group, inline or a resource of its own, as
 * "<protocol> <from>-<to> to <destination>": `sg:<logical id>`, `prefix-list:<logical id of what
 * yields it>` or the CIDR. Sorted, so a test can pin the whole set.
 */
export function egressRules(template: Template, securityGroupLogicalId: string): string[] {
  const resources = template.toJSON().Resources;
  const inline = (resources[securityGroupLogicalId]?.Properties.SecurityGroupEgress ?? []) as EgressRule[];
  const separate = Object.values(template.findResources("AWS::EC2::SecurityGroupEgress"))
    .map((resource) => resource.Properties as EgressRule & { GroupId: { "Fn::GetAtt"?: [string, string] } })
    .filter((rule) => rule.GroupId["Fn::GetAtt"]?.[0] === securityGroupLogicalId);
  const destination = (rule: EgressRule) => {
    if (rule.DestinationSecurityGroupId) return `sg:${rule.DestinationSecurityGroupId["Fn::GetAtt"][0]}`;
    if (rule.DestinationPrefixListId) {
      const getAtt = (rule.DestinationPrefixListId as { "Fn::GetAtt"?: [string, string] })["Fn::GetAtt"];
      return `prefix-list:${getAtt ? getAtt[0] : JSON.stringify(rule.DestinationPrefixListId)}`;
    }
    return rule.CidrIp ?? rule.CidrIpv6 ?? JSON.stringify(rule);
  };
  return [...inline, ...separate]
    .map((rule) => `${rule.IpProtocol} ${rule.FromPort}-${rule.ToPort} to ${destination(rule)}`)
    .sort();
}
