import type * as z from "zod";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RouteResponse {
  readonly description: string;
  readonly schema?: z.ZodType;
}

/**
 * One declaration per API operation. The same object drives request validation (the handler's
 * middleware), the OpenAPI document, the API Gateway resources the CDK app creates and the local
 * gateway's routing, so the contract is written once.
 */
export interface Route {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** API Gateway style template, e.g. `/v1/projects/{projectId}`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  /** The handler module, relative to the repository root; it exports `handler`. */
  readonly handler: string;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly responses: Readonly<Record<number, RouteResponse>>;
  /** Answers without a caller identity (health and the OpenAPI document only). */
  readonly public?: boolean;
  /** Only installation admins may call it (the catalog's writes; docs/deploy-aws.md, docs/local-mode.md). */
  readonly admin?: boolean;
  /** Lambda settings for the few handlers that need more than the defaults. */
  readonly lambda?: { readonly timeoutSeconds?: number; readonly memoryMb?: number };
  /**
   * API Gateway throttling of this method (requests per second, burst), when the CDK app's default
   * for its kind does not fit (cdk/constructs/registry-api.ts: reads, writes, long-running).
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

export const defineRoute = <const R extends Route>(route: R): R => route;
