import middy, { type MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type * as z from "zod";
import type { Caller } from "../caller.ts";
import {
  ForbiddenError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationFailedError,
} from "../errors.ts";
import { logger } from "../logger.ts";
import { callerOf } from "./caller.ts";
import { errorResponse, JSON_HEADERS } from "./error-response.ts";
import type { HttpResult } from "./respond.ts";
import type { Route } from "./route.ts";

/** Request bodies above this are refused with 413 before parsing. */
export const MAX_BODY_BYTES = 1024 * 1024;

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ApiRequest<R extends Route> {
  readonly caller: R["public"] extends true ? Caller | undefined : Caller;
  readonly params: Infer<R["params"]>;
  readonly query: Infer<R["query"]>;
  readonly body: Infer<R["body"]>;
  readonly requestId: string;
}

export type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Builds a Lambda handler for one route: middleware first (request context for the logger, the
 * route's contract, the single error mapping), the plain domain call last.
 */
export function httpHandler<R extends Route>(
  route: R,
  fn: (request: ApiRequest<R>) => Promise<HttpResult>,
): ApiHandler {
  const parsed = new WeakMap<object, ApiRequest<R>>();
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(errorResponses())
    .use(requestContract(route, parsed))
    .handler(async (event) => {
      const request = parsed.get(event);
      if (!request) throw new Error("request contract middleware did not run");
      return toApiGatewayResult(await fn(request));
    }) as unknown as ApiHandler;
}

function errorResponses(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    onError: async (request) => {
      request.response = errorResponse(request.error);
    },
  };
}

function requestContract<R extends Route>(
  route: R,
  parsed: WeakMap<object, ApiRequest<R>>,
): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> {
  return {
    before: async ({ event, context }) => {
      logger.appendKeys({ operation: route.operationId, requestId: context.awsRequestId });
      const caller = route.public ? undefined : callerOf(event);
      if (route.admin && caller) requireAdmin(caller);
      const params = parsePart(route.params, event.pathParameters ?? {}, "path");
      const query = parsePart(route.query, event.queryStringParameters ?? {}, "query");
      const body = route.body === undefined ? undefined : parsePart(route.body, readJsonBody(event), "body");
      parsed.set(event, {
        caller,
        params,
        query,
        body,
        requestId: context.awsRequestId,
      } as ApiRequest<R>);
    },
  };
}

/**
 * Installation admins: principals listed in ADMIN_PRINCIPALS (comma-separated; the CDK app sets it
 * from the context value byom:adminPrincipals, local mode to local:admin). None listed: nobody.
 */
function requireAdmin(caller: Caller): void {
  const admins = (process.env.ADMIN_PRINCIPALS ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (!admins.includes(caller.principal)) {
    throw new ForbiddenError(
      `Only installation admins may change the catalog, and ${caller.principal} is not one. On AWS admins are listed in the context value byom:adminPrincipals; in local mode use the local:admin token from .byom/local.json.`,
    );
  }
}

function readJsonBody(event: APIGatewayProxyEvent): unknown {
  const contentType = headerOf(event, "content-type");
  if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(
      `Content-Type '${contentType}' is not accepted. Send the body as JSON with 'Content-Type: application/json'.`,
    );
  }
  const raw = event.body ?? "";
  const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  if (Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(
      `The request body is larger than ${MAX_BODY_BYTES} bytes. Upload large content as an artifact instead.`,
    );
  }
  if (text.trim() === "") {
    throw new ValidationFailedError("The request needs a JSON body.", [{ path: "body", message: "missing" }]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationFailedError(`The request body is not valid JSON: ${(error as Error).message}.`, [
      { path: "body", message: "invalid JSON" },
    ]);
  }
}

function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name && value !== undefined) return value;
  }
  return undefined;
}

function parsePart(schema: z.ZodType | undefined, value: unknown, where: "path" | "query" | "body"): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  const summary = details.map((d) => `${d.path}: ${d.message}`).join("; ");
  throw new ValidationFailedError(`The request is invalid: ${summary}.`, details);
}

function toApiGatewayResult(result: HttpResult): APIGatewayProxyResult {
  if (result.body === undefined) {
    return { statusCode: result.status, headers: { ...result.headers }, body: "" };
  }
  return {
    statusCode: result.status,
    headers: { ...JSON_HEADERS, ...result.headers },
    body: JSON.stringify(result.body),
  };
}
