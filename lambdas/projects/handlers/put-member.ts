import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { setMember } from "../projects.ts";
import { putMemberRoute } from "../routes.ts";

export const handler = httpHandler(putMemberRoute, async ({ caller, params, body }) =>
  ok(await setMember(caller, params.projectId, body)),
);
