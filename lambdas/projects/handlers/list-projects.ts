import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listMyProjects } from "../projects.ts";
import { listProjectsRoute } from "../routes.ts";

export const handler = httpHandler(listProjectsRoute, async ({ caller, query }) =>
  ok(await listMyProjects(caller, query)),
);
