import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestTable, type TestTable } from "../support/dynamo-table.ts";

// A registration whose Lambda died between its steps leaves state no HTTP request can produce; this
// drives the domain functions against a DynamoDB emulator of its own to build exactly that state.
let table: TestTable;
let experiments: typeof import("#lambdas/experiments/experiments.ts");
let experimentsRepository: typeof import("#lambdas/experiments/experiments-repository.ts");
let models: typeof import("#lambdas/models/models.ts");
let modelsRepository: typeof import("#lambdas/models/models-repository.ts");
let projectId: string;
const caller = { principal: "local:recovery" };

beforeAll(async () => {
  table = await startTestTable("recovery-test");
  // Imported only now: the modules read their environment when they load.
  experiments = await import("#lambdas/experiments/experiments.ts");
  experimentsRepository = await import("#lambdas/experiments/experiments-repository.ts");
  models = await import("#lambdas/models/models.ts");
  modelsRepository = await import("#lambdas/models/models-repository.ts");
  const { createProject } = await import("#lambdas/projects/projects.ts");
  projectId = (await createProject(caller, { name: "recovery" })).projectId;
});
afterAll(async () => {
  await table?.stop();
});

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

async function experimentAndModel(name: string) {
  const experiment = await experiments.createExperimentRecord(projectId, { name }, caller.principal);
  const model = await models.createModel(caller, projectId, { name });
  return { experimentId: experiment.experimentId, modelId: model.modelId };
}

describe("recovery from a registration that died", () => {
  it("releases a stale claim that never got a version, then registers", async () => {
    const { experimentId, modelId } = await experimentAndModel("died-before-allocation");
    await experimentsRepository.claimForRegistration(projectId, experimentId, {
      modelId,
      claimId: "reg-dead",
      claimedAt: minutesAgo(5),
    });
    const version = await models.registerVersion(caller, projectId, modelId, experimentId);
    expect(version.version).toBe(1);
    const shown = await experiments.showExperiment(caller, projectId, experimentId);
    expect(shown.registeredAs).toEqual({ modelId, version: 1 });
  });

  it("completes a stale claim whose version was written, and reports the experiment as that version", async () => {
    const { experimentId, modelId } = await experimentAndModel("died-after-allocation");
    const claimedAt = minutesAgo(5);
    await experimentsRepository.claimForRegistration(projectId, experimentId, {
      modelId,
      claimId: "reg-dead",
      claimedAt,
    });
    await modelsRepository.putVersionIfFree({
      projectId,
      modelId,
      version: 1,
      experimentId,
      artifact: null,
      createdAt: minutesAgo(4),
      createdBy: caller.principal,
    });
    await expect(models.registerVersion(caller, projectId, modelId, experimentId)).rejects.toThrow(
      /already version 1 of model/,
    );
    const shown = await experiments.showExperiment(caller, projectId, experimentId);
    expect(shown.registeredAs).toEqual({ modelId, version: 1 });
    const versions = await models.listModelVersions(caller, projectId, modelId, { limit: 10 });
    expect(versions.items.map((v) => v.version)).toEqual([1]);
  });

  it("keeps a fresh claim in flight: a second registration gets 409, not a second version", async () => {
    const { experimentId, modelId } = await experimentAndModel("in-flight");
    await experimentsRepository.claimForRegistration(projectId, experimentId, {
      modelId,
      claimId: "reg-live",
      claimedAt: new Date().toISOString(),
    });
    await expect(models.registerVersion(caller, projectId, modelId, experimentId)).rejects.toThrow(
      /being registered as a version of model/,
    );
  });

  it("catches up after a ticket holder died: later registrations stop waiting and the counter resyncs", async () => {
    const { modelId } = await experimentAndModel("lost-ticket");
    // A registration took ticket 1 and died before writing version 1.
    expect(await modelsRepository.takeRegistrationTicket(projectId, modelId)).toBe(1);
    const { experimentId } = await experimentAndModel("lost-ticket-next");
    const started = Date.now();
    const version = await models.registerVersion(caller, projectId, modelId, experimentId);
    expect(version.version).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The counter is back in step: the next ticket is the next version's number.
    expect(await modelsRepository.takeRegistrationTicket(projectId, modelId)).toBe(2);
  });
});

describe("recovery from a model create that died", () => {
  it("takes over a name claim whose model was never written, once it is old", async () => {
    const { keys } = await import("#lambdas/shared/table.ts");
    const { dynamo: client } = await import("#lambdas/shared/dynamo-client.ts");
    const { PutCommand } = await import("@aws-sdk/lib-dynamodb");
    const orphan = (name: string, claimedAt: string) =>
      client.send(
        new PutCommand({
          TableName: "recovery-test",
          Item: { ...keys.modelName(projectId, name), type: "modelName", modelId: "mdl-orphan", claimedAt },
        }),
      );
    await orphan("orphaned-name", minutesAgo(5));
    const model = await models.createModel(caller, projectId, { name: "orphaned-name" });
    expect(model.name).toBe("orphaned-name");
    await expect(models.createModel(caller, projectId, { name: "orphaned-name" })).rejects.toThrow(
      model.modelId,
    );

    await orphan("fresh-claim", new Date().toISOString());
    await expect(models.createModel(caller, projectId, { name: "fresh-claim" })).rejects.toThrow(
      /mdl-orphan/,
    );
  });
});
