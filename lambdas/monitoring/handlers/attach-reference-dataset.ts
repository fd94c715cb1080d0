import { attachReferenceDatasetRoute } from "#lambdas/monitoring/drift-routes.ts";
import { attachReferenceDataset } from "#lambdas/monitoring/reference-dataset.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";

export const handler = httpHandler(attachReferenceDatasetRoute, async ({ caller, params, body }) =>
  ok(await attachReferenceDataset(caller, params.projectId, params.modelId, params.version, body)),
);
