import { copyObject, headObject } from "#lambdas/artifacts/artifact-objects.ts";
import { createInternalArtifact } from "#lambdas/artifacts/artifacts.ts";
import { createExperimentRecord } from "#lambdas/experiments/experiments.ts";
import { listExperiments } from "#lambdas/experiments/experiments-repository.ts";
import type { MetadataValue } from "#lambdas/experiments/metadata.ts";
import { getProject } from "#lambdas/projects/projects-repository.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import { logger } from "#lambdas/shared/logger.ts";
import { artifactObjectKey, parseDropObjectKey } from "#lambdas/shared/object-keys.ts";
import {
  type DropMarker,
  getDropMarker,
  markDropDone,
  putNewDropMarker,
  recordDropIds,
  takeOverDropMarker,
} from "./drop-markers-repository.ts";
import type { ObjectEvent } from "./s3-events.ts";

const MAX_NAME_LENGTH = 200;
/** A claim older than this is taken over by another delivery (its owner died). */
const STALE_CLAIM_MS = Number(optionalEnv("BYOM_INGEST_CLAIM_SECONDS", "900")) * 1000;

/**
 * The S3 drop folder: `drop/{projectId}/<name>.zip` becomes an experiment named `<name>` with a
 * `python/mlflow` artifact, exactly once per object version. The object is copied server-side to the
 * artifact's key; that copy's own ObjectCreated event then runs the normal ingestion.
 */
export async function ingestDropObject(event: ObjectEvent, messageId: string): Promise<void> {
  const drop = parseDropObjectKey(event.key);
  if (!drop) {
    logger.warn("drop-folder object outside drop/{projectId}/<name>.zip: ignored", { key: event.key });
    return;
  }
  const project = await getProject(drop.projectId);
  if (!project) {
    logger.warn("drop-folder object for an unknown project: ignored", { key: event.key });
    return;
  }
  if (project.deletingJob) {
    // A project being deleted takes no more writes (docs/data-model.md, "Deleting a project").
    logger.warn("drop-folder object for a project being deleted: ignored", { key: event.key });
    return;
  }
  const head = await headObject(event.key);
  if (!head) {
    logger.info("drop-folder object is gone: ignored", { key: event.key });
    return;
  }
  if (event.etag && event.etag !== head.etag) {
    logger.info("stale drop-folder event (the object changed since): ignored", { key: event.key });
    return;
  }
  const version = event.versionId ?? head.versionId ?? `${head.etag}-${head.size}`;
  const claimed = await claim(event.key, version, drop.projectId, messageId);
  if (!claimed) return;
  const { marker, resumed } = claimed;

  const createdBy = event.principalId ? `s3:${event.principalId}` : "s3-drop-folder";
  let ids =
    marker.experimentId && marker.artifactId
      ? { experimentId: marker.experimentId, artifactId: marker.artifactId }
      : undefined;
  if (!ids) {
    // A resumed claim's owner may have created the experiment and died before recording its id.
    const experimentId =
      (resumed ? await findDroppedExperiment(drop.projectId, event.key, version) : undefined) ??
      (
        await createExperimentRecord(
          drop.projectId,
          {
            name: experimentName(drop.name),
            description: `Created from the drop folder object ${event.key}.`,
            metadata: {
              source_object: { string_value: event.key },
              source_object_version: { string_value: version },
            },
          },
          createdBy,
        )
      ).experimentId;
    ids = { experimentId, artifactId: newId("art") };
    await recordDropIds(event.key, version, messageId, ids);
  }
  const ref = { projectId: drop.projectId, ...ids };
  await createInternalArtifact(
    ref,
    { type: "python/mlflow", fileName: `${drop.name}.zip`, sizeBytes: head.size },
    event.key,
    createdBy,
  );
  await copyObject(
    event.key,
    head.etag,
    head.size,
    artifactObjectKey(ref.projectId, ref.experimentId, ref.artifactId),
  );
  await markDropDone(event.key, version, messageId);
  logger.info("drop-folder object became an experiment", { key: event.key, ...ref });
}

/**
 * The marker this delivery owns now (`resumed` when it took over an earlier claim), or undefined
 * when the version is done or owned elsewhere.
 */
async function claim(
  key: string,
  version: string,
  projectId: string,
  owner: string,
): Promise<{ marker: DropMarker; resumed: boolean } | undefined> {
  const fresh: DropMarker = { state: "CLAIMED", owner, claimedAt: nowIso(), projectId };
  if (await putNewDropMarker(key, version, fresh)) return { marker: fresh, resumed: false };
  const existing = await getDropMarker(key, version);
  if (!existing || existing.state === "DONE") {
    logger.info("drop-folder object version already handled: duplicate event ignored", { key, version });
    return undefined;
  }
  const stale = Date.now() - Date.parse(existing.claimedAt) > STALE_CLAIM_MS;
  if (existing.owner !== owner && !stale) {
    // Another delivery is at work; if it fails, its own message is retried and resumes.
    logger.info("drop-folder object version in progress elsewhere: duplicate event ignored", {
      key,
      version,
    });
    return undefined;
  }
  if (!(await takeOverDropMarker(key, version, existing, owner, nowIso()))) return undefined;
  return { marker: { ...existing, owner }, resumed: true };
}

/**
 * The experiment an earlier owner created for this object version, found by the metadata it was
 * created with: a Query of the project's experiments, only on this rare recovery path.
 */
async function findDroppedExperiment(projectId: string, key: string, version: string) {
  let cursor: string | undefined;
  do {
    const page = await listExperiments(projectId, { limit: 100, cursor });
    const found = page.items.find(
      (e) =>
        stringValue(e.metadata.source_object) === key &&
        stringValue(e.metadata.source_object_version) === version,
    );
    if (found) return found.experimentId;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return undefined;
}

function stringValue(value: MetadataValue | undefined): string | undefined {
  return value && "string_value" in value ? value.string_value : undefined;
}

function experimentName(fileStem: string): string {
  const name = fileStem.trim().slice(0, MAX_NAME_LENGTH).trim();
  return name === "" ? "dropped model" : name;
}
