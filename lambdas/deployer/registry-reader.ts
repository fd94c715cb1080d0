import { listArtifacts } from "#lambdas/artifacts/artifacts-repository.ts";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { parseModelSchema } from "#lambdas/experiments/schema-rules.ts";
import { getModelVersion } from "#lambdas/models/models.ts";
import { getModel } from "#lambdas/models/models-repository.ts";
import type { RegistryReader } from "./plan.ts";

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

  async composition(artifactType, framework, choice) {
    const processors = BUILTIN_CATALOG.artifactProcessors.filter(
      (p) =>
        (choice.processor === undefined || p.name === choice.processor) &&
        BUILTIN_CATALOG.deployableArtifactTypes.some(
          (d) => d.name === p.deployableArtifactType && d.artifactType === artifactType,
        ),
    );
    for (const processor of processors) {
      const runtimes = BUILTIN_CATALOG.runtimes.filter(
        (r) =>
          r.modelType === processor.modelType && (choice.runtime === undefined || r.name === choice.runtime),
      );
      const runtime =
        runtimes.find((r) => framework !== null && (r.frameworks as readonly string[]).includes(framework)) ??
        (choice.runtime !== undefined || framework === null ? runtimes[0] : undefined);
      if (runtime)
        return { processor: processor.name, runtime: runtime.name, runtimeEnv: { ...runtime.env } };
    }
    return undefined;
  },

  parseSchema: (key, value) => parseModelSchema(key, value),
};
