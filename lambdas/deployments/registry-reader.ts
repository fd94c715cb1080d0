import { listArtifacts } from "#lambdas/artifacts/artifacts-repository.ts";
import { BUILTIN_CATALOG, DEFAULT_HEALTH_PATH, type ImageFields } from "#lambdas/catalog/builtin.ts";
import { resolveComposition } from "#lambdas/catalog/catalog.ts";
import type { ImageState, RegistryReader } from "#lambdas/deployments/target-resolution.ts";
import { parseModelSchema } from "#lambdas/experiments/schema-rules.ts";
import { getModelVersion } from "#lambdas/models/models.ts";
import { getModel } from "#lambdas/models/models-repository.ts";

/** The deployer's view of the registry, through the registry's own modules. */
export const registryReader: RegistryReader = {
  async modelVersion(projectId, modelId, version) {
    const found = await getModelVersion(projectId, modelId, version);
    const model = await getModel(projectId, modelId);
    return {
      modelName: model?.name ?? modelId,
      experimentId: found.experimentId,
      metadata: found.experiment.metadata as Record<string, unknown>,
    };
  },

  async readyArtifact(projectId, experimentId) {
    const notReady: string[] = [];
    let ready: Awaited<ReturnType<RegistryReader["readyArtifact"]>>["ready"];
    let cursor: string | undefined;
    do {
      const page = await listArtifacts(projectId, experimentId, { limit: 100, cursor });
      for (const artifact of page.items) {
        if (artifact.status === "READY") {
          ready = {
            artifactId: artifact.artifactId,
            type: artifact.type,
            objectKey: artifact.objectKey,
            framework: artifact.framework ?? artifact.model?.framework ?? null,
          };
        } else {
          notReady.push(
            `${artifact.artifactId} ${artifact.status}${artifact.failureReason ? ` (${artifact.failureReason})` : ""}`,
          );
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return ready ? { ready, notReady } : { notReady };
  },

  /** The catalog's own resolution (built-ins first, then user entries); 409 with what exists otherwise. */
  async composition(artifactType, framework, choice) {
    const resolved = await resolveComposition(artifactType, framework ?? undefined, choice);
    return {
      processor: resolved.processor.name,
      runtime: resolved.runtime.name,
      runtimeEnv: { ...resolved.runtime.env },
      settableEnv: resolved.runtime.settableEnv ?? [],
      // Built-in names cannot be taken by user entries (lambdas/catalog/catalog.ts).
      builtIn: {
        processor: BUILTIN_CATALOG.artifactProcessors.some((p) => p.name === resolved.processor.name),
        runtime: BUILTIN_CATALOG.runtimes.some((r) => r.name === resolved.runtime.name),
      },
      images: { processor: resolved.processor.image, runtime: resolved.runtime.image },
      pinned: {
        processor: imageStateOf(resolved.processor),
        runtime: imageStateOf(resolved.runtime),
      },
      processorEnv: { ...(resolved.processor.env ?? {}) },
      healthPath: resolved.runtime.healthPath ?? DEFAULT_HEALTH_PATH,
      capabilities: resolved.runtime.capabilities ?? [],
    };
  },

  parseSchema: (key, value) => parseModelSchema(key, value),
};

/** What ECS pulls for an entry: its pinned `repository@sha256:…`, else its image as written. */
function imageStateOf(entry: ImageFields): ImageState {
  return {
    image: entry.pinnedImage ?? entry.image,
    status: entry.imageStatus ?? "READY",
    ...(entry.imageStatusReason ? { reason: entry.imageStatusReason } : {}),
    ...(entry.executionRoleArn ? { executionRoleArn: entry.executionRoleArn } : {}),
  };
}
