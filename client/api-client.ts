import type * as z from "zod";
import type { Route } from "#lambdas/shared/http/route.ts";
import type { ClientConfig } from "./config.ts";
import { ApiError, ClientError } from "./errors.ts";
import { type ClientOperationId, OPERATIONS, type RouteOf } from "./operations.ts";

/**
 * A typed client for the registry API, called by operation id. Request types are the input types of
 * the zod schemas the server validates with (`lambdas/<domain>/routes.ts`) and the result type is
 * the success response's schema; method and path come from `operations.ts`, which the compiler
 * checks against the same declarations, so the client cannot drift from the contract.
 */

type Schema<S> = S extends z.ZodType ? S : never;

/** Path parameters, query and body of an operation, typed from its route declaration. */
export type RequestOf<R extends Route> = (R["params"] extends z.ZodType
  ? { readonly params: z.input<Schema<R["params"]>> }
  : { readonly params?: undefined }) &
  (R["query"] extends z.ZodType
    ? { readonly query?: Partial<z.input<Schema<R["query"]>>> }
    : { readonly query?: undefined }) &
  (R["body"] extends z.ZodType
    ? { readonly body: z.input<Schema<R["body"]>> }
    : { readonly body?: undefined });

type SuccessStatus = 200 | 201 | 202;

type SuccessSchema<R extends Route> = {
  [K in keyof R["responses"]]: K extends SuccessStatus
    ? R["responses"][K] extends { readonly schema: infer S extends z.ZodType }
      ? S
      : never
    : never;
}[keyof R["responses"]];

/** What a successful call returns: the success response schema's output type (204: undefined). */
export type ResponseOf<R extends Route> = [SuccessSchema<R>] extends [never]
  ? undefined
  : z.output<SuccessSchema<R>>;

export class ByomClient {
  constructor(readonly config: ClientConfig) {}

  async call<Id extends ClientOperationId>(
    operationId: Id,
    request: RequestOf<RouteOf<Id>>,
  ): Promise<ResponseOf<RouteOf<Id>>> {
    type Result = ResponseOf<RouteOf<Id>>;
    const route = OPERATIONS[operationId];
    const url = new URL(this.config.apiUrl + fillPath(route.path, request.params));
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers = await this.config.auth({
      method: route.method,
      url,
      headers: {
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body,
    });
    delete headers.host;
    let response: Response;
    try {
      response = await fetch(url, { method: route.method, headers, body });
    } catch (error) {
      throw unreachable(this.config.apiUrl, error);
    }
    const text = await response.text();
    if (!response.ok) throw apiError(response.status, text, route);
    if (text === "") return undefined as Result;
    try {
      return JSON.parse(text) as Result;
    } catch {
      throw new ClientError(
        `${route.method} ${url.pathname} answered ${response.status} with a body that is not JSON. Is ${this.config.apiUrl} a Byom API?`,
      );
    }
  }

  /** Every item of a list operation, following `nextCursor` (bounded, in case a server loops). */
  async *all<Id extends ClientOperationId>(
    operationId: Id,
    request: RequestOf<RouteOf<Id>>,
    maxPages = 1000,
  ): AsyncGenerator<ResponseOf<RouteOf<Id>> extends { items: (infer T)[] } ? T : never> {
    let cursor: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const query = { ...(request.query ?? {}), limit: 100, ...(cursor ? { cursor } : {}) };
      const result = (await this.call(operationId, { ...request, query } as RequestOf<RouteOf<Id>>)) as {
        items: unknown[];
        nextCursor: string | null;
      };
      for (const item of result.items) yield item as never;
      if (!result.nextCursor) return;
      cursor = result.nextCursor;
    }
  }
}

/** `/v1/projects/{projectId}` + `{projectId: "prj-…"}` → `/v1/projects/prj-…`. */
export function fillPath(template: string, params: unknown): string {
  const values = (params ?? {}) as Record<string, unknown>;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined || value === null || value === "") {
      throw new ClientError(`Internal: no value for {${name}} in ${template}.`);
    }
    return encodeURIComponent(String(value));
  });
}

interface Operation {
  readonly method: string;
  readonly path: string;
}

function apiError(status: number, text: string, route: Operation): ApiError {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown[] } };
    if (parsed.error?.message) {
      return new ApiError(
        status,
        parsed.error.code ?? "ERROR",
        parsed.error.message,
        parsed.error.details ?? [],
      );
    }
    // API Gateway's own answers (e.g. a SigV4 rejection) carry `message` at the top level.
    const gateway =
      (parsed as { message?: string; Message?: string }).message ?? (parsed as { Message?: string }).Message;
    if (gateway)
      return new ApiError(status, status === 403 ? "FORBIDDEN" : "ERROR", gatewayHint(status, gateway));
  } catch {
    // not JSON: fall through
  }
  const excerpt = text.trim().slice(0, 300);
  return new ApiError(
    status,
    "ERROR",
    `${route.method} ${route.path} failed with HTTP ${status}${excerpt ? `: ${excerpt}` : ""}.`,
  );
}

function gatewayHint(status: number, message: string): string {
  if (status === 403 && /signature|security token|credential|not authorized/i.test(message)) {
    return `${message} (check your AWS credentials, e.g. \`aws sts get-caller-identity\`, and --region)`;
  }
  return message;
}

function unreachable(apiUrl: string, error: unknown): ClientError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  return new ClientError(
    `Cannot reach the Byom API at ${apiUrl} (${reason}). Is local mode running (\`npm start\`), or is --api-url right?`,
  );
}
