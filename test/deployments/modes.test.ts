import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "#local/processes.ts";
import { score, waitForStatus } from "../support/deployments.ts";
import { modelId, models, platform, projectId, useServingFixture } from "../support/serving-fixture.ts";

useServingFixture("deploy-modes", {
  versions: ["v1", "v2"],
});

const deploy = async (body: Record<string, unknown>) => {
  const created = await platform.api.call("POST", `/v1/projects/${projectId}/deployments`, body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.deploymentId as string;
};

/** Which version answered, told apart by the rows on which the two models disagree. */
const versionOf = (answer: { body: any }): "v1" | "v2" | "other" => {
  const predicted = JSON.stringify(answer.body.score.map((row: string[]) => row[0]));
  if (predicted === JSON.stringify(models.expected.v1)) return "v1";
  if (predicted === JSON.stringify(models.expected.v2)) return "v2";
  return "other";
};

describe("deployment modes and security", () => {
  it("splits traffic by weight (ab) and shadows the challenger (champion_challenger)", async () => {
    const ab = await deploy({
      name: "split",
      mode: "ab",
      targets: [
        { modelId, version: 1, weight: 70 },
        { modelId, version: 2, weight: 30 },
      ],
    });
    const cc = await deploy({
      name: "shadow",
      mode: "champion_challenger",
      targets: [
        { modelId, version: 1, role: "champion" },
        { modelId, version: 2, role: "challenger" },
      ],
    });
    const [abLive, ccLive] = await Promise.all([
      waitForStatus(platform.api, projectId, ab, ["HEALTHY", "FAILED"], 400_000),
      waitForStatus(platform.api, projectId, cc, ["HEALTHY", "FAILED"], 400_000),
    ]);
    expect(abLive.status, JSON.stringify(abLive)).toBe("HEALTHY");
    expect(ccLive.status, JSON.stringify(ccLive)).toBe("HEALTHY");
    expect(abLive.serving.map((s: any) => [s.version, s.weight])).toEqual([
      [1, 70],
      [2, 30],
    ]);

    const request = { fields: models.expected.fields, rows: models.expected.rows };
    const counts = { v1: 0, v2: 0, other: 0 };
    const requests = 300;
    for (let i = 0; i < requests; i++) {
      const answer = await score(abLive.endpointUrl, request);
      expect(answer.status).toBe(200);
      counts[versionOf(answer)] += 1;
    }
    expect(counts.other).toBe(0);
    // 70/30 over 300 requests: the standard deviation of the v1 count is about 8, so ±40 is 5σ.
    expect(counts.v1).toBeGreaterThan(210 - 40);
    expect(counts.v1).toBeLessThan(210 + 40);

    // New weights reuse the running slots: nothing is rebuilt, the rule changes in one step.
    const pids = () =>
      JSON.parse(readFileSync(join(platform.home, "services.json"), "utf8")).map((x: any) => x.pid);
    const before = pids();
    const reweighted = await platform.api.call("PATCH", `/v1/projects/${projectId}/deployments/${ab}`, {
      targets: [
        { modelId, version: 1, weight: 10 },
        { modelId, version: 2, weight: 90 },
      ],
    });
    expect(reweighted.status, JSON.stringify(reweighted.body)).toBe(202);
    const shifted = await waitFor(
      "the new weights to serve",
      async () => {
        const got = await platform.api.call("GET", `/v1/projects/${projectId}/deployments/${ab}`);
        return got.body.liveRevision === 2 ? got.body : undefined;
      },
      120_000,
    );
    expect(shifted.serving.map((s: any) => [s.version, s.weight])).toEqual([
      [1, 10],
      [2, 90],
    ]);
    expect(shifted.events.some((e: any) => /nothing to build/.test(e.message))).toBe(true);
    expect(pids()).toEqual(before);
    const after = { v1: 0, v2: 0, other: 0 };
    for (let i = 0; i < 100; i++) after[versionOf(await score(abLive.endpointUrl, request))] += 1;
    // 10/90 over 100 requests: σ = 3, so v1 stays under 10 + 15.
    expect(after.v1).toBeLessThan(25);
    expect(after.v2).toBeGreaterThan(75);

    const shadowFile = join(platform.home, "shadow", `${cc}.jsonl`);
    for (let i = 0; i < 10; i++) {
      const answer = await score(ccLive.endpointUrl, request);
      expect(answer.status).toBe(200);
      expect(versionOf(answer)).toBe("v1");
    }
    const recorded = await waitFor(
      "ten shadow answers",
      async () => {
        if (!existsSync(shadowFile)) return undefined;
        const lines = readFileSync(shadowFile, "utf8").trim().split("\n").filter(Boolean);
        const scores = lines.map((l) => JSON.parse(l)).filter((r) => r.path === "/model/score");
        return scores.length >= 10 ? scores : undefined;
      },
      20_000,
    );
    for (const record of recorded) {
      // Written by the champion runtime itself (byom_scorer/shadow.py), routed here by the supervisor.
      expect(record.event).toBe("shadow");
      expect(record.status).toBe(200);
      expect(record.championStatus).toBe(200);
      expect(versionOf({ body: JSON.parse(record.body) })).toBe("v2");
    }

    // A new challenger: only the shadow rule moves; the champion keeps running, mirroring to the same URL.
    const pidsBefore = pids();
    const challenged = await platform.api.call("PATCH", `/v1/projects/${projectId}/deployments/${cc}`, {
      targets: [
        { modelId, version: 1, role: "champion" },
        { modelId, version: 1, role: "challenger" },
      ],
    });
    expect(challenged.status, JSON.stringify(challenged.body)).toBe(202);
    const moved = await waitFor(
      "the new challenger to serve",
      async () => {
        const got = await platform.api.call("GET", `/v1/projects/${projectId}/deployments/${cc}`);
        return got.body.liveRevision === 2 ? got.body : undefined;
      },
      300_000,
    );
    expect(moved.serving.map((s: any) => [s.version, s.role])).toEqual([
      [1, "champion"],
      [1, "challenger"],
    ]);
    // Once the old challenger is retired, it is the only process that went, and one came: the champion's
    // process (and so its BYOM_SHADOW_URL) stayed.
    const gone = await waitFor(
      "the previous challenger to be retired",
      async () => {
        const now = pids();
        const left = pidsBefore.filter((pid: number) => !now.includes(pid));
        return left.length === 1
          ? { left, came: now.filter((pid: number) => !pidsBefore.includes(pid)) }
          : undefined;
      },
      60_000,
    );
    expect(gone.came.length).toBe(1);
    for (let i = 0; i < 5; i++) expect((await score(ccLive.endpointUrl, request)).status).toBe(200);
    const afterMove = await waitFor(
      "five shadow answers of the new challenger",
      async () => {
        const lines = readFileSync(shadowFile, "utf8").trim().split("\n").filter(Boolean);
        const records = lines.map((l) => JSON.parse(l)).filter((r) => r.path === "/model/score");
        const fromV1 = records.filter((r) => versionOf({ body: JSON.parse(r.body) }) === "v1");
        return fromV1.length >= 5 ? fromV1 : undefined;
      },
      20_000,
    );
    expect(afterMove.every((r: any) => r.status === 200)).toBe(true);
    // The workflow's own sample score is not user traffic: the first challenger answered the ten only.
    const all = readFileSync(shadowFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(all.filter((r) => r.body && versionOf({ body: JSON.parse(r.body) }) === "v2").length).toBe(10);

    for (const id of [ab, cc]) {
      expect((await platform.api.call("DELETE", `/v1/projects/${projectId}/deployments/${id}`)).status).toBe(
        202,
      );
    }
  }, 900_000);

  it("protects a deployment with a passphrase it stores only as a salted hash", async () => {
    const passphrase = "correct horse battery staple";
    const id = await deploy({
      name: "secret",
      mode: "single",
      targets: [{ modelId, version: 1 }],
      security: { mode: "passphrase", passphrase },
    });
    const live = await waitForStatus(platform.api, projectId, id, ["HEALTHY", "FAILED"], 300_000);
    expect(live.status, JSON.stringify(live)).toBe("HEALTHY");
    expect(live.security).toEqual({ mode: "passphrase" });
    expect(JSON.stringify(live)).not.toContain(passphrase);

    const request = { fields: models.expected.fields, rows: models.expected.rows };
    expect((await score(live.endpointUrl, request)).status).toBe(401);
    expect(
      (await score(live.endpointUrl, request, { authorization: "Bearer wrong passphrase!" })).status,
    ).toBe(401);
    const allowed = await score(live.endpointUrl, request, { authorization: `Bearer ${passphrase}` });
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
    expect(versionOf(allowed)).toBe("v1");
    expect((await platform.api.call("DELETE", `/v1/projects/${projectId}/deployments/${id}`)).status).toBe(
      202,
    );
  }, 600_000);
});
