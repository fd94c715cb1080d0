import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { healthRoute } from "../routes.ts";
import { API_VERSION } from "../version.ts";

export const handler = httpHandler(healthRoute, async () => ok({ status: "ok", version: API_VERSION }));
