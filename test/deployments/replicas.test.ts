import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "#local/processes.ts";
import { REPLICA_HEADER } from "#local/scoring-router.ts";
import { alive, startServingFixture, waitForStatus } from "../support/deployments.ts";
import type { TestPlatform } from "../support/platform.ts";

let platform: TestPlatform | undefined;

afterAll(async () => {
  await platform?.stop();
});

interface ServiceEntry {
  readonly serviceId: string;
  readonly pid?: number;
}
const services = (p: TestPlatform): ServiceEntry[] =>
  JSON.parse(readFileSync(join(p.home, "services.json"), "utf8")) as ServiceEntry[];

/** One score request through the router; which replica answered comes back in a header. */
async function scoreOnce(url: string, body: unknown): Promise<{ status: number; replica: string | null }> {
  const response = await fetch(`${url}/model/score`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return { status: response.status, replica: response.headers.get(REPLICA_HEADER) };
}

describe("a target's replicas in local mode", () => {
  it("run min processes round robin, survive a killed one, scale to max on load and back", async () => {
    const serving = await startServingFixture("replicas", {
      // A scoring ALB with room for one more listener rule than this deployment's two (below).
      env: { ALB_RULES_QUOTA: "3" },
      versions: ["v1"],
    });
    platform = serving.platform;
    const { api } = platform;
    const { models, projectId, modelId } = serving;
    const created = await api.call("POST", `/v1/projects/${projectId}/deployments`, {
      name: "replicated",
      mode: "single",
      targets: [{ modelId, version: 1, resources: { replicas: { min: 2, max: 3 } } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const deploymentId = created.body.deploymentId as string;
    const live = await waitForStatus(api, projectId, deploymentId, ["HEALTHY", "FAILED"], 300_000);
    expect(live.status, JSON.stringify(live)).toBe("HEALTHY");
    const get = async () =>
      (await api.call("GET", `/v1/projects/${projectId}/deployments/${deploymentId}`)).body;
    const replicasNow = async () => (await get()).serving[0]?.replicas;
    // Both processes pass their health check: GET shows it.
    await waitFor(
      "two healthy replicas",
      async () => {
        const r = await replicasNow();
        return r?.healthy === 2 ? r : undefined;
      },
      60_000,
    );
    expect(await replicasNow()).toEqual({ desired: 2, running: 2, healthy: 2 });
    // List views carry no live counts (one ECS call per deployment would make a page slow).
    const listed = await api.call("GET", `/v1/projects/${projectId}/deployments`);
    expect(listed.body.items[0].serving[0].replicas).toBeUndefined();

    const url = `${platform.config.scoringUrl}/${deploymentId}`;
    const request = { fields: models.expected.fields, rows: models.expected.rows };
    // Round robin: sequential requests alternate between the two processes.
    const answeredBy: string[] = [];
    for (let i = 0; i < 6; i++) {
      const got = await scoreOnce(url, request);
      expect(got.status).toBe(200);
      answeredBy.push(got.replica as string);
    }
    expect(new Set(answeredBy).size).toBe(2);
    for (let i = 1; i < answeredBy.length; i++) expect(answeredBy[i]).not.toBe(answeredBy[i - 1]);

    // One replica process is killed: every request keeps succeeding on the other, and the
    // supervisor replaces the dead one.
    const slotServices = services(platform).filter((s) => answeredBy.includes(s.serviceId));
    expect(slotServices).toHaveLength(2);
    const victim = slotServices[1] as ServiceEntry;
    expect(victim.pid).toBeDefined();
    process.kill(victim.pid as number, "SIGKILL");
    const current = platform;
    let requests = 0;
    const replaced = await waitFor(
      "the killed replica to be replaced and healthy",
      async () => {
        const got = await scoreOnce(url, request);
        requests += 1;
        expect(got.status).toBe(200);
        const now = services(current).find((s) => s.serviceId === victim.serviceId);
        if (!now?.pid || now.pid === victim.pid) return undefined;
        const r = await replicasNow();
        return r?.healthy === 2 ? r : undefined;
      },
      // A new Python process loading the model takes a minute on this shared host under load.
      180_000,
      50,
    );
    expect(replaced).toEqual({ desired: 2, running: 2, healthy: 2 });
    expect(requests).toBeGreaterThan(1);
    expect(alive(victim.pid as number)).toBe(false);

    // Load: 8 requests kept in flight ask for 4 replicas at 2 in flight each; max is 3. (Whether
    // the third passes its health check while the machine is this busy is not asserted.)
    let loading = true;
    let failed = 0;
    const deadline = Date.now() + 120_000;
    const loops = Array.from({ length: 8 }, async () => {
      while (loading && Date.now() < deadline) {
        if ((await scoreOnce(url, request)).status !== 200) failed += 1;
      }
    });
    try {
      await waitFor(
        "a third replica under load",
        async () => {
          const r = await replicasNow();
          return r?.desired === 3 && r.running === 3 ? r : undefined;
        },
        120_000,
        250,
      );
    } finally {
      loading = false;
      await Promise.all(loops);
    }
    expect(failed).toBe(0);
    // Scale-in under load: 4 CSV requests kept in flight ask for 2 replicas, and none may fail (a
    // streamed body cannot be sent again to another replica). On this loaded machine the third
    // replica has usually not entered the rotation yet when it is scaled in, so this passes without
    // the drain too: test/local/replica-drain.test.ts is the test that fails without it.
    const csv = `${models.expected.fields.join(",")}\n${Array.from({ length: 4_000 }, (_, i) =>
      (models.expected.rows[i % models.expected.rows.length] as unknown[]).join(","),
    ).join("\n")}\n`;
    let draining = true;
    let csvFailed = 0;
    let csvAnswered = 0;
    const csvDeadline = Date.now() + 120_000;
    const csvLoops = Array.from({ length: 4 }, async () => {
      while (draining && Date.now() < csvDeadline) {
        const response = await fetch(`${url}/model/score`, {
          method: "POST",
          headers: { "content-type": "text/csv" },
          body: csv,
        });
        await response.arrayBuffer();
        if (response.status === 200) csvAnswered += 1;
        else csvFailed += 1;
      }
    });
    let idle: { desired: number; running: number };
    try {
      idle = await waitFor(
        "scale-in to min under load",
        async () => {
          const r = await replicasNow();
          return r?.desired === 2 && r.running === 2 ? r : undefined;
        },
        90_000,
        100,
      );
    } finally {
      draining = false;
      await Promise.all(csvLoops);
    }
    expect(csvFailed).toBe(0);
    expect(csvAnswered).toBeGreaterThan(0);
    expect(idle.desired).toBe(2);
    expect((await scoreOnce(url, request)).status).toBe(200);

    // A second deployment would need two more rules (its own and its slot's): 409 with the
    // numbers, before any workflow starts, and nothing is created.
    const refused = await api.call("POST", `/v1/projects/${projectId}/deployments`, {
      name: "one-too-many",
      mode: "single",
      targets: [{ modelId, version: 1 }],
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("ALB_QUOTA_EXCEEDED");
    expect(refused.body.error.message).toContain(
      "needs 2 listener rules on the scoring load balancer, which has 2 of its 3 in use",
    );
    expect(refused.body.error.message).toContain("-c byom:albRulesQuota=");
    const all = await api.call("GET", `/v1/projects/${projectId}/deployments`);
    expect(all.body.items.map((d: { name: string }) => d.name)).toEqual(["replicated"]);
  }, 600_000);
});
