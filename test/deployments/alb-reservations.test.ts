import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ResolvedTarget } from "#lambdas/deployments/deployment-record.ts";
import { startTestTable, type TestTable } from "../support/dynamo-table.ts";

/**
 * Creates racing for the scoring load balancer's last listener rules, against dynalite: the
 * deployment records, the reservation item and its conditional updates are real; the registry
 * (targets resolve to one version) and Step Functions (a started workflow is recorded) are not
 * what this is about.
 */
const started: string[] = [];
vi.mock("#lambdas/deployments/target-resolution.ts", () => ({
  resolveTargets: async (_reader: unknown, _projectId: string, _mode: string, targets: unknown[]) =>
    targets.map(() => ({ modelId: "mdl-1", version: 1, weight: 100, role: "primary" }) as ResolvedTarget),
}));
vi.mock("#lambdas/deployments/workflow-executions.ts", () => ({
  startWorkflow: async (_kind: string, input: { deploymentId: string }) => {
    started.push(input.deploymentId);
    return "execution";
  },
  workflowRunning: async () => true,
}));

let table: TestTable;
let api: typeof import("#lambdas/deployments/api/deployment-operations.ts");
let reservations: typeof import("#lambdas/deployments/alb-reservations.ts");
let projectId: string;
const caller = { principal: "local:quota" } as never;

beforeAll(async () => {
  table = await startTestTable("alb-reservations-test");
  Object.assign(process.env, {
    BUCKET_NAME: "unused-here",
    DEPLOY_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:deploy",
    DELETE_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:delete",
    BYOM_ALLOW_UNAUTHENTICATED_SCORING: "true",
    // Room for 3 single deployments (2 rules each: its own and its slot's) and one rule more.
    ALB_RULES_QUOTA: "7",
    ALB_TARGET_GROUPS_QUOTA: "100",
  });
  // Imported only now: the modules read their environment when they load.
  api = await import("#lambdas/deployments/api/deployment-operations.ts");
  reservations = await import("#lambdas/deployments/alb-reservations.ts");
  const { createProject } = await import("#lambdas/projects/projects.ts");
  projectId = (await createProject(caller, { name: "quota" })).projectId;
});

afterAll(async () => {
  await table?.stop();
});

const create = (name: string) =>
  api.createDeployment(caller, projectId, {
    name,
    mode: "single",
    targets: [{ modelId: "mdl-1", version: 1 }],
    security: { mode: "none" },
  } as never);

describe("the scoring load balancer's quota under concurrent creates", () => {
  it("lets exactly the creates that fit through; the others get 409 ALB_QUOTA_EXCEEDED", async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => create(`racer-${i}`)));
    const created = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(created).toHaveLength(3);
    expect(refused.map((o) => (o.reason as { code?: string }).code)).toEqual(
      Array(3).fill("ALB_QUOTA_EXCEEDED"),
    );
    expect(String((refused[0]?.reason as Error | undefined)?.message)).toContain(
      "needs 2 listener rules on the scoring load balancer, which has 6 of its 7 in use",
    );
    // Only the three that fit were written and started.
    const listed = await api.listDeployments(caller, projectId, { limit: 50 } as never);
    expect(listed.items).toHaveLength(3);
    expect(started.sort()).toEqual(listed.items.map((d) => d.deploymentId).sort());
    const ledger = await reservations.readAlbLedger();
    expect([ledger.rules, ledger.targetGroups]).toEqual([6, 3]);
    expect(Object.keys(ledger.reservations).sort()).toEqual(started.sort());
  });

  it("gives the room back when a deployment is deleted, and refuses a PATCH that would not fit", async () => {
    const [first, second] = started;
    // A PATCH to two targets holds its live slot's rules and the new revision's side by side (2 + 2 more).
    const patched = await api
      .updateDeployment(caller, projectId, first as string, {
        targets: [
          { modelId: "mdl-1", version: 1, weight: 50 },
          { modelId: "mdl-1", version: 1, weight: 50 },
        ],
      })
      .catch((error: { code?: string }) => error);
    expect((patched as { code?: string }).code).toBe("ALB_QUOTA_EXCEEDED");
    // The refused PATCH left the reservation as it was.
    expect((await reservations.readAlbLedger()).rules).toBe(6);
    // The delete workflow's last step (forget) releases the deployment's reservation.
    const { forget } = await import("#lambdas/deployments/workflow/teardown.ts");
    await forget({ projectId, deploymentId: second as string, workflowId: "delete-x" });
    expect((await reservations.readAlbLedger()).rules).toBe(4);
    const outcomes = await Promise.allSettled([create("again-1"), create("again-2")]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect((await reservations.readAlbLedger()).rules).toBe(6);
  });

  it("sweeps, once it is old, the entry of a request that died before writing its record", async () => {
    const before = (await reservations.readAlbLedger()).rules;
    // Reserved, then the Lambda died: no record, no restore.
    await reservations.reserveAlb("dep-never-written", { rules: 1, targetGroups: 1 }, "deploy-dead");
    expect((await reservations.readAlbLedger()).rules).toBe(before + 1);
    // Not yet: a create in progress looks the same for a moment.
    expect(await reservations.sweepAlbReservations()).toEqual([]);
    const later = Date.now() + reservations.ABANDONED_RESERVATION_MS;
    expect(await reservations.sweepAlbReservations(later)).toEqual(["dep-never-written"]);
    const ledger = await reservations.readAlbLedger();
    expect(ledger.rules).toBe(before);
    // The deployments that exist keep theirs.
    expect(Object.keys(ledger.reservations).sort()).toEqual(
      (await api.listDeployments(caller, projectId, { limit: 50 } as never)).items
        .map((d) => d.deploymentId)
        .sort(),
    );
  });
});
