import { acceptedJob } from "#lambdas/jobs/jobs.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { deleteExperiment } from "../experiment-deletion.ts";
import { deleteExperimentRoute } from "../routes.ts";

export const handler = httpHandler(deleteExperimentRoute, async ({ caller, params }) =>
  acceptedJob(await deleteExperiment(caller, params.projectId, params.experimentId)),
);
