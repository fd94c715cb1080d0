import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { showProject } from "../projects.ts";
import { getProjectRoute } from "../routes.ts";

export const handler = httpHandler(getProjectRoute, async ({ caller, params }) =>
  ok(await showProject(caller, params.projectId)),
);
