import { describe, expect, it } from "vitest";

// The step modules read their environment when they load, as Lambdas do.
process.env.TABLE_NAME ??= "unit";
process.env.BUCKET_NAME ??= "unit";
const { AwsServing } = await import("#lambdas/deployer/aws-serving.ts");
const { shadowRuleFor } = await import("#lambdas/deployer/deploy-steps.ts");

import type { ResolvedTarget, Slot } from "#lambdas/deployer/model.ts";

const LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/byom/1/80";
const SHADOW_LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/byom/1/8081";

const settings = (shadow: boolean) => ({
  clusterArn: "cluster",
  vpcId: "vpc",
  listenerArn: LISTENER,
  endpointBaseUrl: "http://internal-byom.elb.amazonaws.com",
  shadowListenerArn: shadow ? SHADOW_LISTENER : undefined,
  shadowBaseUrl: shadow ? "http://internal-byom.elb.amazonaws.com:8081" : undefined,
  subnetIds: ["subnet-a"],
  securityGroupIds: ["sg-runtime"],
  runtimeImages: {},
  executionRoleArn: "exec",
  taskRoleArn: "task",
  runtimeLogGroup: "runtime-logs",
  processorLogGroup: "processor-logs",
  fileSystemId: "fs",
  accessPointId: "ap",
  cpu: "1024",
  memory: "2048",
  region: "eu-west-1",
});

/** An AwsServing whose ELB client records the commands it is sent and answers like the API. */
function recording(shadow: boolean) {
  const serving = new AwsServing(settings(shadow));
  const sent: Array<{ command: string; input: any }> = [];
  (serving as unknown as { elb: unknown }).elb = {
    send: async (command: { constructor: { name: string }; input: unknown }) => {
      sent.push({ command: command.constructor.name, input: command.input });
      if (command.constructor.name === "DescribeRulesCommand") return { Rules: [] };
      if (command.constructor.name === "CreateRuleCommand") return { Rules: [{ RuleArn: "rule-arn" }] };
      return {};
    },
  };
  return { serving, sent };
}

const slots: Slot[] = [
  {
    slotId: "c",
    position: 0,
    revision: 1,
    resources: { targetGroupArn: "tg-c" },
    target: { role: "champion", weight: 100 } as ResolvedTarget,
  },
  {
    slotId: "d",
    position: 1,
    revision: 1,
    resources: { targetGroupArn: "tg-d" },
    target: { role: "challenger", weight: 0 } as ResolvedTarget,
  },
];

describe("the AWS serving adapter's shadow rules", () => {
  it("puts a deployment's shadow rule on the shadow listener, prefix stripped, forwarding to the challenger", async () => {
    const { serving, sent } = recording(true);
    expect(serving.shadowBaseUrl).toBe("http://internal-byom.elb.amazonaws.com:8081");
    const rule = shadowRuleFor("dep-x", slots);
    if (!rule) throw new Error("no shadow rule");
    expect(await serving.putTrafficRule(rule)).toBe("rule-arn");
    const describe = sent.find((s) => s.command === "DescribeRulesCommand");
    expect(describe?.input.ListenerArn).toBe(SHADOW_LISTENER);
    const created = sent.find((s) => s.command === "CreateRuleCommand")?.input;
    expect(created.ListenerArn).toBe(SHADOW_LISTENER);
    expect(created.Conditions).toEqual([
      { Field: "path-pattern", PathPatternConfig: { Values: ["/dep-x/shadow/*"] } },
    ]);
    expect(created.Actions[0].ForwardConfig.TargetGroups).toEqual([{ TargetGroupArn: "tg-d", Weight: 100 }]);
    expect(created.Transforms[0].UrlRewriteConfig.Rewrites).toEqual([
      { Regex: "^/dep-x/shadow/(.*)$", Replace: "/$1" },
    ]);
  });

  it("moves an existing shadow rule to a new challenger in place", async () => {
    const { serving, sent } = recording(true);
    const rule = shadowRuleFor("dep-x", [
      slots[0] as Slot,
      { ...(slots[1] as Slot), resources: { targetGroupArn: "tg-e" } },
    ]);
    if (!rule) throw new Error("no shadow rule");
    expect(await serving.putTrafficRule(rule, "existing-rule")).toBe("existing-rule");
    expect(sent.map((s) => s.command)).toEqual(["ModifyRuleCommand"]);
    expect(sent[0]?.input.Actions[0].ForwardConfig.TargetGroups).toEqual([
      { TargetGroupArn: "tg-e", Weight: 100 },
    ]);
  });

  it("has no shadow base URL, and refuses shadow rules, without a shadow listener (internet-facing ALB)", async () => {
    const { serving, sent } = recording(false);
    expect(serving.shadowBaseUrl).toBeUndefined();
    const rule = shadowRuleFor("dep-x", slots);
    if (!rule) throw new Error("no shadow rule");
    await expect(serving.putTrafficRule(rule)).rejects.toThrow(/no shadow listener/);
    expect(sent).toEqual([]);
  });
});
