import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { createProject } from "../projects.ts";
import { createProjectRoute } from "../routes.ts";

export const handler = httpHandler(createProjectRoute, async ({ caller, body }) =>
  created(await createProject(caller, body)),
);
