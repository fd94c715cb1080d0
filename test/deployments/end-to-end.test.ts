import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "#local/processes.ts";
import { alive, registerDropped, score, waitForStatus } from "../support/deployments.ts";
import { modelId, models, platform, projectId, useServingFixture } from "../support/serving-fixture.ts";

useServingFixture("deploy-e2e");

const runtimePids = (): number[] =>
  (JSON.parse(readFileSync(join(platform.home, "services.json"), "utf8")) as Array<{ pid?: number }>)
    .map((s) => s.pid)
    .filter((pid): pid is number => typeof pid === "number");

describe("a model from the drop folder to a live endpoint and back", () => {
  it("deploys, scores like the model in-process, swaps versions under load, and deletes", async () => {
    // Drop folder → experiment with schema → version 1.
    const v1 = await registerDropped(platform, projectId, modelId, "churn-v1", models.v1);
    expect(v1.version).toBe(1);
    expect(v1.experiment.metadata.input_schema.json_value.map((c: { name: string }) => c.name)).toEqual(
      models.expected.fields,
    );

    const created = await platform.api.call("POST", `/v1/projects/${projectId}/deployments`, {
      name: "churn",
      mode: "single",
      targets: [{ modelId, version: 1 }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.status).toMatch(/PENDING|PROCESSING/);
    const deploymentId = created.body.deploymentId;

    const healthy = await waitForStatus(
      platform.api,
      projectId,
      deploymentId,
      ["HEALTHY", "FAILED"],
      300_000,
    );
    expect(healthy.status, JSON.stringify(healthy)).toBe("HEALTHY");
    expect(healthy.endpointUrl).toBe(`${platform.config.scoringUrl}/${deploymentId}`);
    const seen = healthy.events.map((e: { status: string }) => e.status);
    expect(seen).toEqual(expect.arrayContaining(["PENDING", "PROCESSING", "STARTING", "HEALTHY"]));
    expect(healthy.serving).toMatchObject([
      { modelId, version: 1, runtime: "python-tabular-runtime", weight: 100 },
    ]);

    // The router answers with the model's own in-process predictions.
    const request = { fields: models.expected.fields, rows: models.expected.rows };
    const first = await score(healthy.endpointUrl, request);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.score.map((row: string[]) => row[0])).toEqual(models.expected.v1);
    const idAnswer = await fetch(`${healthy.endpointUrl}/model/id`);
    expect(await idAnswer.text()).toBe(`${modelId}-v1`);

    // The same deployment through the Open Inference Protocol (V2), named by the deployment.
    const metadata = await fetch(`${healthy.endpointUrl}/v2/models/churn`);
    expect(metadata.status).toBe(200);
    const inputs = ((await metadata.json()) as { inputs: Array<{ name: string }> }).inputs;
    expect(inputs.map((i) => i.name)).toEqual(models.expected.fields);
    const infer = await fetch(`${healthy.endpointUrl}/v2/models/churn/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        inputs: inputs.map((input, column) => ({
          name: input.name,
          datatype: "BYTES",
          shape: [models.expected.rows.length],
          data: models.expected.rows.map((row) => String(row[column])),
        })),
      }),
    });
    const inferred = (await infer.json()) as { outputs: Array<{ data: unknown[] }> };
    expect(infer.status, JSON.stringify(inferred)).toBe(200);
    expect(inferred.outputs[0]?.data.map(String)).toEqual(models.expected.v1);

    // Version 2, then PATCH while a client scores continuously: no request may fail.
    const v2 = await registerDropped(platform, projectId, modelId, "churn-v2", models.v2);
    expect(v2.version).toBe(2);
    const oldPids = runtimePids();
    expect(oldPids.length).toBe(1);

    let failures: string[] = [];
    let answers = { v1: 0, v2: 0 };
    let scoring = true;
    const client = (async () => {
      for (let i = 0; scoring && i < 100_000; i++) {
        const answer = await score(healthy.endpointUrl, request).catch((error: Error) => ({
          status: 0,
          body: error.message,
        }));
        if (answer.status !== 200) {
          failures.push(`${answer.status} ${JSON.stringify(answer.body)}`);
          continue;
        }
        const predicted = JSON.stringify(answer.body.score.map((row: string[]) => row[0]));
        if (predicted === JSON.stringify(models.expected.v1)) answers.v1 += 1;
        else if (predicted === JSON.stringify(models.expected.v2)) answers.v2 += 1;
        else failures.push(`unexpected predictions ${predicted}`);
      }
    })();

    const patched = await platform.api.call(
      "PATCH",
      `/v1/projects/${projectId}/deployments/${deploymentId}`,
      {
        targets: [{ modelId, version: 2 }],
      },
    );
    expect(patched.status, JSON.stringify(patched.body)).toBe(202);
    expect(patched.body.revision).toBe(2);
    const swapped = await waitFor(
      "version 2 to serve and version 1 to be removed",
      async () => {
        const got = await platform.api.call("GET", `/v1/projects/${projectId}/deployments/${deploymentId}`);
        const done =
          got.body.liveRevision === 2 && got.body.events.some((e: any) => /Removed/.test(e.message));
        if (got.body.failureReason) throw new Error(`update failed: ${got.body.failureReason}`);
        return done ? got.body : undefined;
      },
      300_000,
      250,
    );
    // Keep scoring a moment after the old runtime is gone.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    scoring = false;
    await client;
    expect(failures).toEqual([]);
    expect(answers.v1).toBeGreaterThan(0);
    expect(answers.v2).toBeGreaterThan(0);
    expect(swapped.status).toBe("HEALTHY");
    expect(swapped.serving).toMatchObject([{ modelId, version: 2 }]);
    for (const pid of oldPids) expect(alive(pid)).toBe(false);
    const after = await score(healthy.endpointUrl, request);
    expect(after.body.score.map((row: string[]) => row[0])).toEqual(models.expected.v2);

    // Delete: DELETING, then gone; the endpoint answers 404 and no runtime process is left.
    const livePids = runtimePids();
    expect(livePids.length).toBe(1);
    const deleting = await platform.api.call(
      "DELETE",
      `/v1/projects/${projectId}/deployments/${deploymentId}`,
    );
    expect(deleting.status, JSON.stringify(deleting.body)).toBe(202);
    expect(deleting.body.status).toBe("DELETING");
    await waitFor(
      "the deployment to be gone",
      async () => {
        const got = await platform.api.call("GET", `/v1/projects/${projectId}/deployments/${deploymentId}`);
        return got.status === 404 ? true : undefined;
      },
      60_000,
    );
    const gone = await score(healthy.endpointUrl, request);
    expect(gone.status).toBe(404);
    for (const pid of livePids) expect(alive(pid)).toBe(false);
    expect(runtimePids()).toEqual([]);
    failures = [];
    answers = { v1: 0, v2: 0 };
  }, 900_000);
});
