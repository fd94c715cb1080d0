import { acceptedJob } from "#lambdas/jobs/jobs.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { startMlflowImport } from "../imports.ts";
import { importMlflowRoute } from "../routes.ts";

export const handler = httpHandler(importMlflowRoute, async ({ caller, params, body }) =>
  acceptedJob(await startMlflowImport(caller, params.projectId, body)),
);
