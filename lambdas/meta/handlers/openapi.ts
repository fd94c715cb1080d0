import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { openApiDocument } from "../openapi-document.ts";
import { openapiRoute } from "../routes.ts";

const document = openApiDocument();

export const handler = httpHandler(openapiRoute, async () => ok(document));
