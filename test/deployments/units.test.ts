import { describe, expect, it } from "vitest";

// The step modules read their environment when they load, as Lambdas do.
process.env.TABLE_NAME ??= "unit";
process.env.BUCKET_NAME ??= "unit";
const { failureReasonOf } = await import("#lambdas/deployments/workflow/failure-reason.ts");
const { shadowRuleFor, trafficRuleFor } = await import("#lambdas/deployments/workflow/traffic-rules.ts");
const { checkLoadBalancerQuotas, checkTargetsForMode } = await import(
  "#lambdas/deployments/target-resolution.ts"
);
const { errorResponse } = await import("#lambdas/shared/http/error-response.ts");
const { resolveTokens } = await import("#local/state-machines.ts");
const { hashPassphrase } = await import("#lambdas/deployments/api/passphrase-hash.ts");

import { scryptSync } from "node:crypto";
import type { ResolvedTarget, Slot } from "#lambdas/deployments/deployment-record.ts";
import type { ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";

const slot = (slotId: string, role: ResolvedTarget["role"], weight: number): Slot => ({
  slotId,
  position: 0,
  revision: 1,
  resources: { targetGroupArn: `tg-${slotId}` },
  target: { role, weight } as ResolvedTarget,
});

const infra = {
  processorLogTail: async () => "the zip has 9 entries, over the limit of 2",
} as unknown as ServingInfrastructure;

describe("deployer rules", () => {
  it("sends A/B traffic by weight and the challenger only shadow copies", () => {
    const ab = trafficRuleFor("dep-x", [slot("a", "primary", 70), slot("b", "primary", 30)]);
    expect(ab.pathPrefix).toBe("/dep-x");
    expect(ab.targets).toEqual([
      { targetGroupArn: "tg-a", weight: 70 },
      { targetGroupArn: "tg-b", weight: 30 },
    ]);
    expect(ab.listener ?? "scoring").toBe("scoring");
    expect(shadowRuleFor("dep-x", [slot("a", "primary", 70), slot("b", "primary", 30)])).toBeUndefined();
    const ccSlots = [slot("c", "champion", 100), slot("d", "challenger", 0)];
    const cc = trafficRuleFor("dep-x", ccSlots);
    expect(cc.targets).toEqual([{ targetGroupArn: "tg-c", weight: 100 }]);
    // The champion mirrors to /dep-x/shadow on the listener only runtimes reach; it leads to the challenger.
    expect(shadowRuleFor("dep-x", ccSlots)).toEqual({
      deploymentId: "dep-x",
      pathPrefix: "/dep-x/shadow",
      targets: [{ targetGroupArn: "tg-d", weight: 100 }],
      listener: "shadow",
    });
  });

  it("turns Step Functions errors into reasons a person can act on", async () => {
    const lambda = {
      Error: "RuntimeNotReadyError",
      Cause: JSON.stringify({ errorMessage: "did not become ready" }),
    };
    expect(await failureReasonOf(lambda, infra)).toBe("did not become ready");
    const task = {
      Error: "States.TaskFailed",
      Cause: JSON.stringify({ TaskArn: "arn:task/abc", Containers: [{ Name: "p", ExitCode: 1 }] }),
    };
    expect(await failureReasonOf(task, infra)).toBe(
      "The artifact processor failed (exit code 1): the zip has 9 entries, over the limit of 2",
    );
    // An image ECS cannot pull: no log line, ECS's reasons instead.
    const pull = {
      Error: "States.TaskFailed",
      Cause: JSON.stringify({
        TaskArn: "arn:task/nolog",
        StopCode: "TaskFailedToStart",
        StoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        Containers: [{ Name: "processor", Reason: "CannotPullContainerError: ref not found" }],
      }),
    };
    const silent = { ...infra, processorLogTail: async () => undefined };
    expect(await failureReasonOf(pull, silent)).toBe(
      "The artifact processor failed: CannotPullContainerError: pull image manifest has been retried 5 time(s); CannotPullContainerError: ref not found",
    );
    expect(await failureReasonOf({ Error: "States.Timeout", Cause: "" }, infra)).toMatch(/timed out/);
  });

  it("checks each mode's target rules", () => {
    const t = { modelId: "mdl-x", version: 1 };
    expect(() => checkTargetsForMode("single", [t, t])).toThrow(/exactly one target/);
    expect(() =>
      checkTargetsForMode("ab", [
        { ...t, weight: 50 },
        { ...t, weight: 49 },
      ]),
    ).toThrow(/add up to 100/);
    expect(() => checkTargetsForMode("ab", [{ ...t, weight: 50 }, t])).toThrow(/needs a weight/);
    expect(() =>
      checkTargetsForMode("champion_challenger", [
        { ...t, role: "champion" },
        { ...t, role: "champion" },
      ]),
    ).toThrow(/one with role 'champion', one with role 'challenger'/);
    expect(() =>
      checkTargetsForMode("champion_challenger", [
        { ...t, role: "champion" },
        { ...t, role: "challenger" },
      ]),
    ).not.toThrow();
  });

  it("resolves the tokens a synthesized definition carries to local names", () => {
    expect(
      resolveTokens({
        "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":lambda:", { Ref: "AWS::Region" }]],
      }),
    ).toBe("arn:aws:lambda:us-east-1");
    expect(resolveTokens({ "Fn::GetAtt": ["Fn", "Arn"] })).toBe("local-Fn-Arn");
  });

  it("hashes a passphrase the way the runtime verifies it (scrypt, salted)", async () => {
    const encoded = await hashPassphrase("correct horse battery staple");
    const [scheme, n, r, p, salt, key] = encoded.split("$");
    expect(scheme).toBe("scrypt");
    const derived = scryptSync("correct horse battery staple", Buffer.from(salt!, "hex"), 32, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
    });
    expect(derived.toString("hex")).toBe(key);
    expect(await hashPassphrase("correct horse battery staple")).not.toBe(encoded);
  });

  it("refuses more targets than an ALB forward action takes with 409 and the numbers", () => {
    const targets = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ modelId: "m", version: i + 1, weight: 1 }));
    expect(() => checkLoadBalancerQuotas(targets(5))).not.toThrow();
    const refused = (() => {
      try {
        checkLoadBalancerQuotas(targets(6));
      } catch (error) {
        return errorResponse(error);
      }
      throw new Error("expected a refusal");
    })();
    expect(refused.statusCode).toBe(409);
    const body = JSON.parse(refused.body);
    expect(body.error.code).toBe("LOAD_BALANCER_QUOTA");
    expect(body.error.message).toContain("at most 5 target groups");
    expect(body.error.message).toContain("between 6 targets");
  });
});
