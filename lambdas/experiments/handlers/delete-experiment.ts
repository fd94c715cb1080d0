import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { noContent } from "#lambdas/shared/http/respond.ts";
import { deleteExperiment } from "../experiment-deletion.ts";
import { deleteExperimentRoute } from "../routes.ts";

export const handler = httpHandler(deleteExperimentRoute, async ({ caller, params }) => {
  await deleteExperiment(caller, params.projectId, params.experimentId);
  return noContent();
});
