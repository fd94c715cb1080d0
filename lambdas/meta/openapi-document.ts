import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { ROUTES } from "#lambdas/routes.ts";
import { API_VERSION } from "./version.ts";

/** The OpenAPI 3.1 document, generated from the same route declarations that validate requests. */
export function openApiDocument(): ReturnType<OpenApiGeneratorV31["generateDocument"]> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "sigv4", {
    type: "apiKey",
    name: "Authorization",
    in: "header",
    description:
      "AWS Signature Version 4 (IAM authorization). In local mode: 'Bearer <token>' from .byom/local.json.",
  });
  for (const route of ROUTES) {
    registry.registerPath({
      method: route.method.toLowerCase() as "get",
      path: route.path,
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      security: route.public ? [] : [{ sigv4: [] }],
      request: {
        ...(route.params ? { params: route.params } : {}),
        ...(route.query ? { query: route.query } : {}),
        ...(route.body
          ? { body: { required: true, content: { "application/json": { schema: route.body } } } }
          : {}),
      },
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.schema ? { content: { "application/json": { schema: response.schema } } } : {}),
          },
        ]),
      ),
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Byom registry API",
      version: API_VERSION,
      description: "Bring your own model: projects, experiments, artifacts, models, catalog and deployments.",
    },
  });
}
