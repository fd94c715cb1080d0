import { afterEach, describe, expect, it, vi } from "vitest";

// The API modules read their environment when they load, as Lambdas do.
process.env.TABLE_NAME ??= "unit";
process.env.BUCKET_NAME ??= "unit";
process.env.DEPLOY_STATE_MACHINE_ARN ??= "arn:aws:states:eu-west-1:123456789012:stateMachine:deploy";
process.env.DELETE_STATE_MACHINE_ARN ??= "arn:aws:states:eu-west-1:123456789012:stateMachine:delete";

// Membership, the registry and the table are not what this is about: an editor, targets that
// resolve, and a record of what would be written or started.
const written: unknown[] = [];
vi.mock("#lambdas/projects/access.ts", () => ({ authorize: async () => ({ role: "editor" }) }));
vi.mock("#lambdas/deployments/target-resolution.ts", () => ({ resolveTargets: async () => [] }));
/** The load balancer's reservations are alb-reservations.test.ts's subject, against dynalite. */
vi.mock("#lambdas/deployments/alb-reservations.ts", () => import("../support/alb-reservations-stub.ts"));
vi.mock("#lambdas/deployments/deployments-repository.ts", () => ({
  // No other deployment holds load-balancer rules (the ALB quota check lists them).
  listAllDeployments: async () => ({ items: [], nextCursor: null }),
  putNewDeployment: async (record: unknown) => {
    written.push(record);
  },
  getDeployment: async () => written.filter((w) => (w as { deploymentId?: string }).deploymentId).at(-1),
  changeDeployment: async () => true,
}));
vi.mock("#lambdas/deployments/workflow-executions.ts", () => ({
  startWorkflow: async (_kind: string, input: unknown) => {
    written.push({ started: input });
    return "execution";
  },
  workflowRunning: async () => false,
}));

const { createDeployment, UnauthenticatedScoringRefusedError } = await import(
  "#lambdas/deployments/api/deployment-operations.ts"
);
const { errorResponse } = await import("#lambdas/shared/http/error-response.ts");

const caller = { principal: "arn:aws:iam::123456789012:user/ana" } as never;
const request = (security: { mode: "none" } | { mode: "passphrase"; passphrase: string }) => ({
  name: "churn",
  mode: "single" as const,
  targets: [{ modelId: "mdl-0000000000abcdefghjkmnpqrs", version: 1 }],
  security,
});

afterEach(() => {
  written.length = 0;
  delete process.env.UNAUTHENTICATED_SCORING;
});

describe("security mode none on an internet-facing installation", () => {
  it("is refused with 409 naming the context value that allows it, and nothing is written or started", async () => {
    process.env.UNAUTHENTICATED_SCORING = "refused";
    const refused = await createDeployment(caller, "prj-x", request({ mode: "none" })).catch((e) => e);
    expect(refused).toBeInstanceOf(UnauthenticatedScoringRefusedError);
    const response = errorResponse(refused);
    expect(response.statusCode).toBe(409);
    const body = JSON.parse(response.body);
    expect(body.error.code).toBe("UNAUTHENTICATED_SCORING_REFUSED");
    expect(body.error.message).toContain("byom:allowUnauthenticatedScoring=true");
    expect(body.error.message).toContain('"mode": "passphrase"');
    expect(written).toEqual([]);
  });

  it("is not refused with a passphrase there, nor on an installation that allows it", async () => {
    process.env.UNAUTHENTICATED_SCORING = "refused";
    const created = await createDeployment(
      caller,
      "prj-x",
      request({ mode: "passphrase", passphrase: "correct horse battery" }),
    );
    expect(created.security).toEqual({ mode: "passphrase" });
    process.env.UNAUTHENTICATED_SCORING = "allowed";
    const open = await createDeployment(caller, "prj-x", request({ mode: "none" }));
    expect(open.security).toEqual({ mode: "none" });
    expect(written.filter((w) => (w as { started?: unknown }).started)).toHaveLength(2);
  });
});
