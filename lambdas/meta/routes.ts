import * as z from "zod";
import { defineRoute } from "#lambdas/shared/http/route.ts";

export const healthRoute = defineRoute({
  operationId: "health",
  method: "GET",
  path: "/v1/health",
  summary: "Liveness",
  tag: "meta",
  handler: "lambdas/meta/handlers/health.ts",
  public: true,
  responses: {
    200: { description: "Alive", schema: z.object({ status: z.literal("ok"), version: z.string() }) },
  },
});

export const openapiRoute = defineRoute({
  operationId: "openapi",
  method: "GET",
  path: "/v1/openapi.json",
  summary: "This API's OpenAPI 3.1 document",
  tag: "meta",
  handler: "lambdas/meta/handlers/openapi.ts",
  public: true,
  responses: { 200: { description: "OpenAPI 3.1 document", schema: z.record(z.string(), z.unknown()) } },
});

export const metaRoutes = [healthRoute, openapiRoute];
