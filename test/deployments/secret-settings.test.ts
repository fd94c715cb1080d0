import { describe, expect, it, vi } from "vitest";

// The API modules read their environment when they load, as Lambdas do.
process.env.TABLE_NAME ??= "unit";
process.env.BUCKET_NAME ??= "unit";
process.env.DEPLOY_STATE_MACHINE_ARN ??= "arn:aws:states:eu-west-1:123456789012:stateMachine:deploy";
process.env.DELETE_STATE_MACHINE_ARN ??= "arn:aws:states:eu-west-1:123456789012:stateMachine:delete";

// Local mode cannot deploy an image-only runtime (the only kind that declares a secret setting
// today), so GET's masking is shown here: targets resolve as the catalog would resolve them for
// such a runtime on AWS, the record written is kept, and the view is what GET answers.
const written: Array<Record<string, unknown>> = [];
vi.mock("#lambdas/projects/access.ts", () => ({ authorize: async () => ({ role: "editor" }) }));
vi.mock("#lambdas/deployments/target-resolution.ts", () => ({
  resolveTargets: async () => [{ secretEnv: ["ACME_TOKEN"] }],
}));
/** The load balancer's reservations are alb-reservations.test.ts's subject, against dynalite. */
vi.mock("#lambdas/deployments/alb-reservations.ts", () => import("../support/alb-reservations-stub.ts"));
vi.mock("#lambdas/deployments/deployments-repository.ts", () => ({
  // No other deployment holds load-balancer rules (the ALB quota check lists them).
  listAllDeployments: async () => ({ items: [], nextCursor: null }),
  putNewDeployment: async (record: Record<string, unknown>) => {
    written.push(record);
  },
  getDeployment: async () => written.at(-1),
  changeDeployment: async (_p: string, _d: string, change: { set: Record<string, unknown> }) => {
    written.push({ ...written.at(-1), ...change.set, activeWorkflow: null });
    return true;
  },
}));
vi.mock("#lambdas/deployments/workflow-executions.ts", () => ({
  startWorkflow: async () => "execution",
  workflowRunning: async () => false,
}));

const { createDeployment, showDeployment, updateDeployment } = await import(
  "#lambdas/deployments/api/deployment-operations.ts"
);

const caller = { principal: "arn:aws:iam::123456789012:user/ana" } as never;

describe("a secret runtime setting", () => {
  it("is stored for the workflow but GET shows *** for it, and the other settings as set", async () => {
    const created = await createDeployment(caller, "prj-x", {
      name: "acme",
      mode: "single",
      targets: [
        {
          modelId: "mdl-0000000000abcdefghjkmnpqrs",
          version: 1,
          env: { ACME_TOKEN: "s3cret-token-value", ACME_MODE: "fast" },
        },
      ],
      security: { mode: "none" },
    });
    const stored = written[0]?.targets as Array<{ env: Record<string, string>; secretEnv: string[] }>;
    expect(stored[0]?.env.ACME_TOKEN).toBe("s3cret-token-value");
    expect(stored[0]?.secretEnv).toEqual(["ACME_TOKEN"]);

    const shown = await showDeployment(caller, "prj-x", created.deploymentId);
    for (const view of [created, shown]) {
      expect(view.targets[0]).toEqual({
        modelId: "mdl-0000000000abcdefghjkmnpqrs",
        version: 1,
        env: { ACME_TOKEN: "***", ACME_MODE: "fast" },
      });
      expect(JSON.stringify(view)).not.toContain("s3cret-token-value");
    }
  });

  it("keeps its value when a PATCH sends back the *** GET showed, and takes a new value as sent", async () => {
    written.length = 0;
    const modelId = "mdl-0000000000abcdefghjkmnpqrs";
    const created = await createDeployment(caller, "prj-x", {
      name: "acme",
      mode: "single",
      targets: [{ modelId, version: 1, env: { ACME_TOKEN: "s3cret-token-value" } }],
      security: { mode: "none" },
    });
    const shown = await showDeployment(caller, "prj-x", created.deploymentId);
    await updateDeployment(caller, "prj-x", created.deploymentId, { targets: shown.targets });
    const kept = written.at(-1)?.targets as Array<{ env: Record<string, string> }>;
    expect(kept[0]?.env.ACME_TOKEN).toBe("s3cret-token-value");

    await updateDeployment(caller, "prj-x", created.deploymentId, {
      targets: [{ modelId, version: 1, env: { ACME_TOKEN: "n3w-token-value" } }],
    });
    const replaced = written.at(-1)?.targets as Array<{ env: Record<string, string> }>;
    expect(replaced[0]?.env.ACME_TOKEN).toBe("n3w-token-value");
  });
});
