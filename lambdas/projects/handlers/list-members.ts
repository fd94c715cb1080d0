import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listProjectMembers } from "../projects.ts";
import { listMembersRoute } from "../routes.ts";

export const handler = httpHandler(listMembersRoute, async ({ caller, params, query }) =>
  ok(await listProjectMembers(caller, params.projectId, query)),
);
