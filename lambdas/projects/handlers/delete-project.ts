import { acceptedJob } from "#lambdas/jobs/jobs.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { deleteProject } from "../project-deletion.ts";
import { deleteProjectRoute } from "../routes.ts";

export const handler = httpHandler(deleteProjectRoute, async ({ caller, params }) =>
  acceptedJob(await deleteProject(caller, params.projectId)),
);
