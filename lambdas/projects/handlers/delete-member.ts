import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { noContent } from "#lambdas/shared/http/respond.ts";
import { removeMember } from "../projects.ts";
import { deleteMemberRoute } from "../routes.ts";

export const handler = httpHandler(deleteMemberRoute, async ({ caller, params, query }) => {
  await removeMember(caller, params.projectId, query.principal);
  return noContent();
});
