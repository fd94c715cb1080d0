import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Slot } from "#lambdas/deployments/deployment-record.ts";
import { LocalServing } from "#local/local-serving.ts";
import { waitFor } from "#local/processes.ts";
import { RuntimeSupervisor } from "#local/runtime-supervisor.ts";
import { ScoringRouter } from "#local/scoring-router.ts";
import { deployModels } from "../support/deployments.ts";
import { runProcessor } from "../support/runtime-process.ts";

/**
 * A replica taken out of the rotation is drained before it is stopped: the router's requests to it
 * are answered first. The real runtime exits on SIGTERM without finishing what it answers, and a
 * streamed (CSV) body cannot be sent again to another replica, so without the drain the request in
 * flight below gets 502. (test/deployments/replicas.test.ts scales in under load through the API.)
 */
let home: string;
let modelPath: string;
let expected: Awaited<ReturnType<typeof deployModels>>["expected"];
let supervisor: RuntimeSupervisor;
let serving: LocalServing;
let router: ScoringRouter;
let url: string;

beforeAll(async () => {
  const models = await deployModels();
  expected = models.expected;
  home = mkdtempSync(join(tmpdir(), "byom-drain-"));
  modelPath = join(home, "model");
  const processed = await runProcessor("python-mlflow-processor", models.v1, modelPath);
  expect(processed.code, processed.stderr).toBe(0);
  supervisor = new RuntimeSupervisor(home);
  let targets: LocalServing | undefined;
  router = new ScoringRouter({
    pick: (group, tried) => targets?.pick(group, tried),
    begin: (group) => targets?.begin(group),
    end: (group) => targets?.end(group),
    forwarding: (id) => targets?.forwarding(id) ?? (() => undefined),
    unreachable: (group, id) => targets?.unreachable(group, id),
  });
  url = `http://127.0.0.1:${await router.listen(0)}`;
  serving = new LocalServing(home, supervisor, router, url, { BYOM_WORKERS: "1" });
  targets = serving;
}, 900_000);

afterAll(async () => {
  serving?.close();
  await supervisor?.stopAll();
  await router?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("a replica leaving the rotation", () => {
  it("answers the streamed request it has in flight before it is stopped", async () => {
    const slot = {
      slotId: "sdrain0000001",
      position: 0,
      revision: 1,
      target: { runtime: "python-tabular-runtime", resources: { replicas: { min: 1, max: 1 } } },
      resources: {},
    } as unknown as Slot;
    const targetGroupArn = await serving.createTargetGroup("dep-drain", slot);
    const { serviceArn } = await serving.startRuntime({
      slot,
      deploymentId: "dep-drain",
      environment: { MODEL_PATH: modelPath, MODEL_ID: "churn-v1" },
      targetGroupArn,
    });
    await serving.putTrafficRule({
      deploymentId: "dep-drain",
      pathPrefix: "/dep-drain",
      targets: [{ targetGroupArn, weight: 100 }],
    });
    await waitFor(
      "the runtime to be healthy",
      async () => ((await serving.runtimeHealth(slot)).state === "healthy" ? true : undefined),
      300_000,
      200,
    );
    const pid = supervisor.status(slot.slotId)?.pid;
    expect(pid).toBeDefined();
    // Large enough to take the runtime a while to read and score on a busy machine.
    const csv = `${expected.fields.join(",")}\n${Array.from({ length: 200_000 }, (_, i) =>
      (expected.rows[i % expected.rows.length] as unknown[]).join(","),
    ).join("\n")}\n`;
    const scoring = fetch(`${url}/dep-drain/model/score`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: csv,
    }).then(async (response) => ({ status: response.status, body: await response.text() }));
    // The request is on its way to the replica; then the slot is retired.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = serving.stopRuntime({ serviceArn });
    const answer = await scoring;
    expect(answer.status, answer.body.slice(0, 300)).toBe(200);
    await stopped;
    expect(supervisor.status(slot.slotId)).toBeUndefined();
    expect(() => process.kill(pid as number, 0)).toThrow();
  }, 600_000);
});
