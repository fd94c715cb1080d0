import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { showJob } from "../job-status.ts";
import { getJobRoute } from "../routes.ts";

export const handler = httpHandler(getJobRoute, async ({ caller, params }) =>
  ok(await showJob(caller, params.projectId, params.jobId)),
);
