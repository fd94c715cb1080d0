import {
  BatchCheckLayerAvailabilityCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutImageCommand,
} from "@aws-sdk/client-ecr";
import { CreatePolicyCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_REGION } from "#local/emulators.ts";
import { startTestTable, type TestTable } from "../support/dynamo-table.ts";
import { type MotoServer, startMotoServer } from "../support/moto-s3.ts";
import { startTestRegistry, type TestRegistry } from "../support/oci-registry.ts";

/**
 * Adding a catalog entry whose image lives outside this account (docs/catalog.md, "Your own
 * image"): the catalog reads the manifest at once (400 with the reason when it cannot), a job
 * copies the blobs into ECR and marks the entry READY with `repository@sha256:…`.
 * Real wire protocols: DynamoDB (dynalite), ECR and Secrets Manager (moto server), and a tiny OCI
 * registry served by this test over HTTP (test/support/oci-registry.ts). What moto does not check:
 * that PutImage's layers exist in the repository, that the manifest's bytes hash to imageDigest
 * (real ECR refuses both), scan-on-push and encryption settings; the job runs here by calling the
 * worker's chunk function, not through SQS.
 */
const ACCOUNT = "123456789012";
const REGISTRY = `${ACCOUNT}.dkr.ecr.${LOCAL_REGION}.amazonaws.com`;
const caller = { principal: "arn:aws:iam::123456789012:role/admin" };

let table: TestTable;
let moto: MotoServer;
let registry: TestRegistry;
let privateRegistry: TestRegistry;
let ecr: ECRClient;
let iam: IAMClient;
const RUNTIME_LOGS = `arn:aws:logs:${LOCAL_REGION}:${ACCOUNT}:log-group:runtime-logs`;
const PROCESSOR_LOGS = `arn:aws:logs:${LOCAL_REGION}:${ACCOUNT}:log-group:processor-logs`;
let catalog: { addCatalogEntry: typeof import("#lambdas/catalog/image-import.ts").addCatalogEntryWithImage };
let repository: typeof import("#lambdas/catalog/catalog-repository.ts");
let runJobChunk: typeof import("#lambdas/jobs/worker.ts").runJobChunk;
const queued: string[] = [];

beforeAll(async () => {
  [table, moto, registry, privateRegistry] = await Promise.all([
    startTestTable("image-import"),
    startMotoServer(),
    startTestRegistry(),
    startTestRegistry({ username: "robot", password: "s3cret" }),
  ]);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_ECR: moto.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
    AWS_ENDPOINT_URL_IAM: moto.endpoint,
    IMAGE_REGISTRY: REGISTRY,
    IMAGE_REPOSITORY_PREFIX: "byom/images",
  });
  ecr = new ECRClient({ endpoint: moto.endpoint, region: LOCAL_REGION });
  iam = new IAMClient({ endpoint: moto.endpoint, region: LOCAL_REGION });
  // The boundary the CDK app creates (cdk/constructs/catalog-images.ts); its content is pinned by
  // test/cdk/serving-workflows.test.ts, here only that roles are created under it.
  const boundary = await iam.send(
    new CreatePolicyCommand({
      PolicyName: "ImageRoleBoundary",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "ecr:BatchGetImage", Resource: "*" }],
      }),
    }),
  );
  Object.assign(process.env, {
    IMAGE_ROLE_BOUNDARY_ARN: boundary.Policy?.Arn,
    IMAGE_ROLE_LOG_GROUP_ARNS: [RUNTIME_LOGS, PROCESSOR_LOGS].join(","),
  });
  catalog = { addCatalogEntry: (await import("#lambdas/catalog/image-import.ts")).addCatalogEntryWithImage };
  repository = await import("#lambdas/catalog/catalog-repository.ts");
  runJobChunk = (await import("#lambdas/jobs/worker.ts")).runJobChunk;
  (await import("#lambdas/jobs/job-queue.ts")).useLocalJobQueue((body) => {
    queued.push((JSON.parse(body) as { jobId: string }).jobId);
  });
  await (await import("#lambdas/catalog/seed.ts")).seedBuiltinCatalog();
}, 300_000);
afterAll(async () => {
  await Promise.all([table?.stop(), moto?.stop(), registry?.stop(), privateRegistry?.stop()]);
});

const runtime = (name: string, image: string, extra: Record<string, unknown> = {}) => ({
  name,
  modelType: "python/ready-model",
  image,
  env: { GREETING: "hello" },
  frameworks: ["sklearn"],
  ...extra,
});

async function runQueuedJobs(): Promise<void> {
  while (queued.length > 0) await runJobChunk(queued.shift() as string, 600_000, 1);
}

describe("an image from another registry", () => {
  it("is pinned by digest at once and copied into ECR by a job; the entry becomes READY", async () => {
    // 9 MiB: more than one ECR upload part.
    const image = registry.addImage("team/scorer", "v1", [1024, 9 * 1024 * 1024]);
    const added = await catalog.addCatalogEntry(
      caller,
      "runtimes",
      runtime("scorer", `${registry.host}/team/scorer:v1`),
    );
    expect(added).toMatchObject({ imageStatus: "IMPORTING" });
    expect(queued).toHaveLength(1);
    await runQueuedJobs();

    const entry = (await repository.getEntry("runtimes", "scorer"))?.entry as unknown as Record<
      string,
      unknown
    >;
    const repo = `byom/images/127.0.0.1-${registry.host.split(":")[1]}/team/scorer`;
    expect(entry).toMatchObject({
      imageStatus: "READY",
      pinnedImage: `${REGISTRY}/${repo}@${image.manifestDigest}`,
    });
    expect(entry.imageStatusReason).toBeUndefined();
    // The manifest in ECR is the amd64 one, byte for byte; every blob is there.
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: repo, imageIds: [{ imageDigest: image.manifestDigest }] }),
    );
    const manifest = JSON.parse(got.images?.[0]?.imageManifest ?? "{}") as {
      config: { digest: string };
      layers: Array<{ digest: string }>;
    };
    expect(manifest.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
    const layers = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({
        repositoryName: repo,
        layerDigests: [manifest.config.digest, ...image.layers.map((l) => l.digest)],
      }),
    );
    expect(layers.failures).toEqual([]);
    expect(layers.layers?.map((l) => l.layerSize)).toEqual([expect.any(Number), 1024, 9 * 1024 * 1024]);

    // The tag moves upstream; the entry keeps the image it pinned, and adding the same image
    // again under another name needs no copy.
    registry.addImage("team/scorer", "v1", [2048]);
    const pinnedAfterMove = (await repository.getEntry("runtimes", "scorer"))?.entry as unknown as Record<
      string,
      unknown
    >;
    expect(pinnedAfterMove.pinnedImage).toBe(entry.pinnedImage);
    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
    expect(described.imageDetails?.map((d) => d.imageDigest)).toEqual([image.manifestDigest]);
  });

  it("gives the entry an execution role that may pull its repository and nothing else", async () => {
    const entry = (await repository.getEntry("runtimes", "scorer"))?.entry as unknown as Record<
      string,
      string
    >;
    const repo = `byom/images/127.0.0.1-${registry.host.split(":")[1]}/team/scorer`;
    const roleName = String(entry.executionRoleArn).split("/").at(-1) as string;
    expect(entry.executionRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/byom/images/${roleName}`);
    const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
    expect(role.Role?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(process.env.IMAGE_ROLE_BOUNDARY_ARN);
    expect(JSON.parse(decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? "{}"))).toMatchObject({
      Statement: [{ Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    const policy = await iam.send(
      new GetRolePolicyCommand({ RoleName: roleName, PolicyName: "pull-this-image" }),
    );
    expect(JSON.parse(decodeURIComponent(policy.PolicyDocument ?? "{}")).Statement).toEqual([
      {
        Effect: "Allow",
        Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
        Resource: `arn:aws:ecr:${LOCAL_REGION}:${ACCOUNT}:repository/${repo}`,
      },
      { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      {
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [`${RUNTIME_LOGS}:*`, `${PROCESSOR_LOGS}:*`],
      },
      {
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: `arn:aws:secretsmanager:${LOCAL_REGION}:${ACCOUNT}:secret:byom/*`,
      },
    ]);

    // Deleting the entry deletes its role.
    const { deleteCatalogEntryWithImage } = await import("#lambdas/catalog/entry-deletion.ts");
    await catalog.addCatalogEntry(
      caller,
      "runtimes",
      runtime("short-lived", `${registry.host}/team/scorer:v1`),
    );
    await runQueuedJobs();
    const shortLived = (await repository.getEntry("runtimes", "short-lived"))?.entry as unknown as Record<
      string,
      string
    >;
    const shortRole = String(shortLived.executionRoleArn).split("/").at(-1) as string;
    expect(shortRole).not.toBe(roleName);
    await iam.send(new GetRoleCommand({ RoleName: shortRole }));
    await deleteCatalogEntryWithImage(caller, "runtimes", "short-lived");
    await expect(iam.send(new GetRoleCommand({ RoleName: shortRole }))).rejects.toMatchObject({
      name: "NoSuchEntityException",
    });
    await iam.send(new GetRoleCommand({ RoleName: roleName }));
  });

  it("re-adding an image ECR already holds needs no job", async () => {
    const image = registry.addImage("team/again", "v1", [512]);
    await catalog.addCatalogEntry(caller, "runtimes", runtime("again-1", `${registry.host}/team/again:v1`));
    await runQueuedJobs();
    const second = await catalog.addCatalogEntry(
      caller,
      "runtimes",
      runtime("again-2", `${registry.host}/team/again@${image.manifestDigest}`),
    );
    expect(second).toMatchObject({ imageStatus: "READY" });
    expect(String((second as { pinnedImage?: string }).pinnedImage)).toMatch(/@sha256:[a-f0-9]{64}$/);
    expect(queued).toEqual([]);
  });

  it("reads a private registry with the entry's Secrets Manager credentials", async () => {
    privateRegistry.addImage("corp/model", "2024", [4096]);
    const secrets = new SecretsManagerClient({ endpoint: moto.endpoint, region: LOCAL_REGION });
    const secret = await secrets.send(
      new CreateSecretCommand({
        Name: "byom-registry/corp",
        SecretString: JSON.stringify({ username: "robot", password: "s3cret" }),
      }),
    );
    const withoutCredentials = catalog.addCatalogEntry(
      caller,
      "runtimes",
      runtime("corp-anonymous", `${privateRegistry.host}/corp/model:2024`),
    );
    await expect(withoutCredentials).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      message: expect.stringMatching(/token service refused anonymous access \(HTTP 401\)/),
    });
    expect(await repository.getEntry("runtimes", "corp-anonymous")).toBeUndefined();

    const added = await catalog.addCatalogEntry(
      caller,
      "runtimes",
      runtime("corp", `${privateRegistry.host}/corp/model:2024`, { imageCredentialsArn: secret.ARN }),
    );
    expect(added).toMatchObject({ imageStatus: "IMPORTING", imageCredentialsArn: secret.ARN });
    await runQueuedJobs();
    expect((await repository.getEntry("runtimes", "corp"))?.entry).toMatchObject({ imageStatus: "READY" });
  });

  it("answers 400 with the reason when the image cannot be read, and records nothing", async () => {
    const cases: Array<[string, RegExp]> = [
      [`${registry.host}/team/absent:v1`, /no such repository or tag \(HTTP 404\)/],
      ["127.0.0.1:1/team/x:v1", /cannot be reached/],
      ["Not A Reference!", /is not an image reference/],
    ];
    for (const [image, reason] of cases) {
      await expect(
        catalog.addCatalogEntry(caller, "runtimes", runtime("broken", image)),
      ).rejects.toMatchObject({
        code: "VALIDATION_FAILED",
        message: expect.stringMatching(reason),
      });
    }
    expect(await repository.getEntry("runtimes", "broken")).toBeUndefined();
    expect(queued).toEqual([]);
  });

  it("a copy that fails ends the job FAILED and the entry FAILED with the reason", async () => {
    const image = registry.addImage("team/vanishing", "v1", [256]);
    await catalog.addCatalogEntry(
      caller,
      "runtimes",
      runtime("vanishing", `${registry.host}/team/vanishing:v1`),
    );
    // The registry loses the pinned manifest before the job runs.
    registry.forget(`team/vanishing:${image.manifestDigest}`);
    const jobId = queued[0] as string;
    await runQueuedJobs();
    const entry = (await repository.getEntry("runtimes", "vanishing"))?.entry;
    expect(entry).toMatchObject({
      imageStatus: "FAILED",
      imageStatusReason: expect.stringMatching(/HTTP 404/),
    });
    const job = await (await import("#lambdas/jobs/jobs-repository.ts")).getJob(jobId);
    expect(job).toMatchObject({ status: "FAILED", error: { code: "IMAGE_IMPORT_FAILED" } });
  });
});

describe("an image already in this account's ECR", () => {
  it("is pinned where it is, without a copy or a job, and its role pulls that repository", async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "team/inhouse" }));
    const put = await ecr.send(
      new PutImageCommand({
        repositoryName: "team/inhouse",
        imageManifest: JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.docker.distribution.manifest.v2+json",
          config: {
            mediaType: "application/vnd.docker.container.image.v1+json",
            digest: `sha256:${"e".repeat(64)}`,
            size: 10,
          },
          layers: [],
        }),
        imageTag: "v3",
      }),
    );
    const digest = put.image?.imageId?.imageDigest as string;
    const added = await catalog.addCatalogEntry(
      caller,
      "runtimes",
      runtime("inhouse", `${REGISTRY}/team/inhouse:v3`),
    );
    expect(added).toMatchObject({
      imageStatus: "READY",
      pinnedImage: `${REGISTRY}/team/inhouse@${digest}`,
      executionRoleArn: expect.stringContaining(":role/byom/images/"),
    });
    expect(queued).toEqual([]);
    const repositories = await ecr.send(new DescribeRepositoriesCommand({}));
    expect(repositories.repositories?.map((r) => r.repositoryName)).not.toContain(
      `byom/images/${REGISTRY}/team/inhouse`,
    );
    const roleName = String((added as { executionRoleArn?: string }).executionRoleArn)
      .split("/")
      .at(-1);
    const policy = await iam.send(
      new GetRolePolicyCommand({ RoleName: roleName, PolicyName: "pull-this-image" }),
    );
    expect(JSON.parse(decodeURIComponent(policy.PolicyDocument ?? "{}")).Statement[0].Resource).toBe(
      `arn:aws:ecr:${LOCAL_REGION}:${ACCOUNT}:repository/team/inhouse`,
    );

    // A tag ECR does not have: 400 with the reason, nothing recorded.
    await expect(
      catalog.addCatalogEntry(caller, "runtimes", runtime("inhouse-missing", `${REGISTRY}/team/inhouse:v9`)),
    ).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      message: expect.stringMatching(/ECR has no image/),
    });
    expect(await repository.getEntry("runtimes", "inhouse-missing")).toBeUndefined();
  });
});

describe("an import that keeps failing", () => {
  it("is retried while the registry answers 503, and its last delivery ends the entry FAILED", async () => {
    const { getJob } = await import("#lambdas/jobs/jobs-repository.ts");
    registry.addImage("team/flaky", "v1", [300]);
    await catalog.addCatalogEntry(caller, "runtimes", runtime("flaky", `${registry.host}/team/flaky:v1`));
    const jobId = queued.shift() as string;
    registry.failBlobs(503);
    try {
      // The first deliveries give the job back for SQS to redeliver; the entry stays IMPORTING.
      for (const receiveCount of [1, 2]) {
        await expect(runJobChunk(jobId, 600_000, receiveCount)).rejects.toThrow(/HTTP 503/);
        expect(await getJob(jobId)).toMatchObject({ status: "QUEUED" });
        expect((await repository.getEntry("runtimes", "flaky"))?.entry).toMatchObject({
          imageStatus: "IMPORTING",
        });
      }
      // The last delivery (the queue's maxReceiveCount) ends the job, and the entry with it.
      await runJobChunk(jobId, 600_000, 3);
    } finally {
      registry.failBlobs(undefined);
    }
    expect(await getJob(jobId)).toMatchObject({ status: "FAILED", error: { code: "JOB_FAILED" } });
    expect((await repository.getEntry("runtimes", "flaky"))?.entry).toMatchObject({
      imageStatus: "FAILED",
      imageStatusReason: expect.stringMatching(
        new RegExp(`import job ${jobId} failed: The job failed 3 times .*HTTP 503.*add it again`),
      ),
    });
    expect(queued).toEqual([]);
  });
});

describe("an import whose worker dies on every delivery", () => {
  it("ends FAILED, and its entry with it, when the job worker receives its dead letter", async () => {
    const { claimJob, getJob } = await import("#lambdas/jobs/jobs-repository.ts");
    const deadLetters = "arn:aws:sqs:us-east-1:123456789012:byom-jobs-dead-letters";
    process.env.JOB_DEAD_LETTER_QUEUE_ARN = deadLetters;
    const { handler } = await import("#lambdas/jobs/handlers/run-jobs.ts");
    registry.addImage("team/crashy", "v1", [300]);
    await catalog.addCatalogEntry(caller, "runtimes", runtime("crashy", `${registry.host}/team/crashy:v1`));
    const jobId = queued.shift() as string;
    // The last delivery's worker took the job and died (timeout, out of memory): nothing recorded.
    const now = Date.now();
    expect(
      await claimJob(jobId, "dead-worker", new Date(now).toISOString(), new Date(now + 60_000).toISOString()),
    ).toBeTruthy();
    const deadLetter = (eventSourceARN: string) =>
      ({
        Records: [
          {
            messageId: `m-${eventSourceARN.length}`,
            body: JSON.stringify({ jobId }),
            attributes: { ApproximateReceiveCount: "1" },
            eventSourceARN,
          },
        ],
      }) as unknown as import("aws-lambda").SQSEvent;
    const context = { getRemainingTimeInMillis: () => 600_000 } as import("aws-lambda").Context;
    expect(await handler(deadLetter(deadLetters), context)).toEqual({ batchItemFailures: [] });
    expect(await getJob(jobId)).toMatchObject({
      status: "FAILED",
      error: {
        code: "JOB_FAILED",
        message: expect.stringMatching(/stopped 3 times without recording an outcome/),
      },
    });
    expect((await repository.getEntry("runtimes", "crashy"))?.entry).toMatchObject({
      imageStatus: "FAILED",
      imageStatusReason: expect.stringMatching(
        new RegExp(`import job ${jobId} failed: The job worker stopped`),
      ),
    });
    // A second copy of the letter changes nothing (the job is final).
    const ended = await getJob(jobId);
    expect(await handler(deadLetter(deadLetters), context)).toEqual({ batchItemFailures: [] });
    expect(await getJob(jobId)).toEqual(ended);
    expect(queued).toEqual([]);
  });
});

describe("a registry that redirects blobs to another host (as Docker Hub's CDN)", () => {
  it("is followed without sending the registry's token to the other host", async () => {
    const image = privateRegistry.addImage("corp/redirected", "v1", [700, 900]);
    const secrets = new SecretsManagerClient({ endpoint: moto.endpoint, region: LOCAL_REGION });
    const secret = await secrets.send(
      new CreateSecretCommand({
        Name: "byom-registry/corp-cdn",
        SecretString: JSON.stringify({ username: "robot", password: "s3cret" }),
      }),
    );
    await privateRegistry.redirectBlobs();
    await catalog.addCatalogEntry(
      caller,
      "runtimes",
      runtime("redirected", `${privateRegistry.host}/corp/redirected:v1`, {
        imageCredentialsArn: secret.ARN,
      }),
    );
    await runQueuedJobs();
    expect((await repository.getEntry("runtimes", "redirected"))?.entry).toMatchObject({
      imageStatus: "READY",
      pinnedImage: expect.stringContaining(`@${image.manifestDigest}`),
    });
    const reached = privateRegistry.cdnRequests.map((r) => r.path);
    expect(reached).toEqual(expect.arrayContaining(image.layers.map((l) => `/blobs/${l.digest}`)));
    expect(privateRegistry.cdnRequests.map((r) => r.authorization)).toEqual(reached.map(() => undefined));
  });
});

describe("the built-ins", () => {
  it("are seeded on AWS with their asset images pinned by ECR's digest, as any in-account image", async () => {
    // The CDK asset an image folder was built into, tagged with its asset hash.
    await ecr.send(new CreateRepositoryCommand({ repositoryName: "cdk-hnb659fds-container-assets" }));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {
        mediaType: "application/vnd.docker.container.image.v1+json",
        digest: `sha256:${"c".repeat(64)}`,
        size: 10,
      },
      layers: [
        {
          mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
          digest: `sha256:${"d".repeat(64)}`,
          size: 20,
        },
      ],
    });
    const put = await ecr.send(
      new PutImageCommand({
        repositoryName: "cdk-hnb659fds-container-assets",
        imageManifest: manifest,
        imageTag: "abc123",
      }),
    );
    const digest = put.image?.imageId?.imageDigest as string;
    const { seedBuiltinCatalog } = await import("#lambdas/catalog/seed.ts");
    const { pinEcrImage } = await import("#lambdas/catalog/images/ecr-copy.ts");
    const uri = `${REGISTRY}/cdk-hnb659fds-container-assets:abc123`;
    await seedBuiltinCatalog({
      imageUris: { "tabular-runtime": uri },
      pinImage: (u) => pinEcrImage(ecr, REGISTRY, u),
    });
    const tabular = (await repository.getEntry("runtimes", "python-tabular-runtime"))?.entry;
    expect(tabular).toMatchObject({
      image: uri,
      pinnedImage: `${REGISTRY}/cdk-hnb659fds-container-assets@${digest}`,
      imageStatus: "READY",
    });
    // An asset that is not in ECR fails the seeding (and so the stack update), naming it.
    await expect(
      seedBuiltinCatalog({
        imageUris: { "tabular-runtime": `${REGISTRY}/cdk-hnb659fds-container-assets:missing` },
        pinImage: (u) => pinEcrImage(ecr, REGISTRY, u),
      }),
    ).rejects.toThrow();
  });
});
