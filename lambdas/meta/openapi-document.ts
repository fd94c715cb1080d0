import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import * as z from "zod";
import { ROUTES } from "#lambdas/routes.ts";
import type { Route } from "#lambdas/shared/http/route.ts";
import { errorBody } from "#lambdas/shared/http/schemas.ts";
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
        Object.entries(withProjectDeleting(route)).map(([status, response]) => {
          const links = status.startsWith("2") ? linksFrom(route, response.schema) : {};
          return [
            status,
            {
              description: response.description,
              ...(response.schema ? { content: { "application/json": { schema: response.schema } } } : {}),
              ...(Object.keys(links).length > 0 ? { links } : {}),
            },
          ];
        }),
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

/**
 * Every write inside a project can meet the project being deleted: 409 PROJECT_DELETING
 * (lambdas/projects/access.ts), whether or not the route declares conflicts of its own.
 */
function withProjectDeleting(route: Route): Route["responses"] {
  const projectWrite = route.path.startsWith("/v1/projects/{projectId}") && route.method !== "GET";
  if (!projectWrite || "409" in route.responses) return route.responses;
  return {
    ...route.responses,
    409: { description: "The project is being deleted (PROJECT_DELETING)", schema: errorBody },
  };
}

/**
 * OpenAPI links from a response to every operation whose required parameters it supplies, at least
 * one of them from its body: create → get → patch → delete, and on to what lives inside. A
 * parameter comes from the request's own path when the route has it, else from a property of the
 * response body of the same name (top level, or one object down: `{artifact: {artifactId}}`).
 */
function linksFrom(source: Route, schema: z.ZodType | undefined): Record<string, object> {
  // Nothing is followed from a deletion: its job (202) lives under the deleted project and stays
  // readable to whoever asked, which a fuzzer's use-after-free check would read as the project
  // still being there. The job is found through the answer's Location header instead.
  if (source.method === "DELETE") return {};
  const fromBody = bodyValues(schema);
  if (fromBody.size === 0) return {};
  const fromPath = new Set(source.params ? Object.keys(source.params.shape) : []);
  const links: Record<string, object> = {};
  for (const target of ROUTES) {
    // A body naming another resource (`{experimentId}`) needs an id no link can supply, and an
    // import needs an MLflow server no link can supply either.
    if (target === source || target.public || NOT_LINKED.has(target.operationId)) continue;
    if (referencesOtherIds(target.body)) continue;
    const needed = [...requiredNames(target.params), ...requiredNames(target.query)];
    if (needed.length === 0) continue;
    const parameters: Record<string, string> = {};
    for (const name of needed) {
      const pointer = fromBody.get(name);
      if (fromPath.has(name)) parameters[name] = `$request.path.${name}`;
      else if (pointer) parameters[name] = `$response.body#${pointer}`;
      else break;
    }
    const usesBody = Object.values(parameters).some((v) => v.startsWith("$response"));
    if (Object.keys(parameters).length === needed.length && usesBody) {
      links[target.operationId] = { operationId: target.operationId, parameters };
    }
  }
  return links;
}

const NOT_LINKED = new Set(["importMlflowModel"]);

/** Whether a body names another resource by id, at its top level or in a list (`targets[].modelId`). */
function referencesOtherIds(body: z.ZodType | undefined): boolean {
  const options = body instanceof z.ZodDiscriminatedUnion ? (body.options as z.ZodType[]) : [body];
  return options.some(
    (option) =>
      option instanceof z.ZodObject &&
      Object.entries(option.shape).some(
        ([name, field]) =>
          /Id$/.test(name) ||
          (field instanceof z.ZodArray && referencesOtherIds((field as z.ZodArray).element as z.ZodType)),
      ),
  );
}

function requiredNames(schema: z.ZodObject | undefined): string[] {
  if (!schema) return [];
  return Object.entries(schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([name]) => name);
}

/** Property name → JSON pointer, for the body's scalar properties (top level wins). */
function bodyValues(schema: z.ZodType | undefined): Map<string, string> {
  const values = new Map<string, string>();
  if (!(schema instanceof z.ZodObject)) return values;
  const nested: Array<[string, z.ZodObject]> = [];
  for (const [name, field] of Object.entries(schema.shape)) {
    if (field instanceof z.ZodObject) nested.push([name, field]);
    else if (field instanceof z.ZodString || field instanceof z.ZodNumber) values.set(name, `/${name}`);
  }
  for (const [outer, object] of nested) {
    for (const [name, field] of Object.entries(object.shape)) {
      if (!values.has(name) && (field instanceof z.ZodString || field instanceof z.ZodNumber)) {
        values.set(name, `/${outer}/${name}`);
      }
    }
  }
  return values;
}
