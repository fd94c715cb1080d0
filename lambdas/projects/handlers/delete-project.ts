import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { noContent } from "#lambdas/shared/http/respond.ts";
import { deleteProject } from "../project-deletion.ts";
import { deleteProjectRoute } from "../routes.ts";

export const handler = httpHandler(deleteProjectRoute, async ({ caller, params }) => {
  await deleteProject(caller, params.projectId);
  return noContent();
});
