import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { Route } from "#lambdas/shared/http/route.ts";
import { readBodyWithin } from "./loopback-http.ts";
import type { TokenVerifier } from "./tokens.ts";

/** API Gateway's own payload limit; larger requests never reach a Lambda. */
const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  /** Literal segments: the more, the more specific the template. */
  readonly literals: number;
}

/**
 * Local mode's stand-in for API Gateway with IAM authorization: it authenticates the bearer token,
 * puts the principal where IAM authorization puts it (`requestContext.identity.userArn`), builds
 * the same proxy event and invokes the route's handler module, loaded once like a warm Lambda.
 */
export function createGateway(routes: readonly Route[], tokens: TokenVerifier, repoRoot: string): Server {
  const compiled = routes.map(compile);
  const loaded = new Map<string, Promise<LambdaHandler>>();
  const load = (handlerPath: string) => {
    let handler = loaded.get(handlerPath);
    if (!handler) {
      handler = import(pathToFileURL(join(repoRoot, handlerPath)).href).then(
        (m) => m.handler as LambdaHandler,
      );
      loaded.set(handlerPath, handler);
    }
    return handler;
  };

  // Long query strings (a 2,048-character cursor of 4-byte characters) must reach the handler's
  // validation, not end in Node's 431: API Gateway reads URLs of up to 10 KB.
  return createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error("local gateway: handler crashed", error);
      if (!res.headersSent)
        send(res, 500, errorJson("INTERNAL", "The handler crashed; see the platform's log."));
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    // As in API Gateway and OpenAPI, a literal path segment wins over a template: of the matching
    // templates only the most specific one answers, with its own methods.
    const matches = compiled
      .map((c) => ({ c, m: c.pattern.exec(url.pathname) }))
      .filter((x): x is { c: CompiledRoute; m: RegExpExecArray } => x.m !== null);
    if (matches.length === 0) {
      send(
        res,
        404,
        errorJson("NOT_FOUND", `No API operation at ${url.pathname}. See GET /v1/openapi.json.`),
      );
      return;
    }
    const specificity = Math.max(...matches.map((x) => x.c.literals));
    const resource = matches.filter((x) => x.c.literals === specificity);
    const match = resource.find((x) => x.c.route.method === method);
    if (!match) {
      const allowed = [...new Set(resource.map((x) => x.c.route.method))].join(", ");
      send(
        res,
        405,
        errorJson("METHOD_NOT_ALLOWED", `${method} is not supported on ${url.pathname}; use ${allowed}.`),
        { allow: allowed },
      );
      return;
    }
    const { route } = match.c;
    const principal = tokens.principalOf(req.headers.authorization);
    if (!route.public && !principal) {
      send(
        res,
        401,
        errorJson(
          "UNAUTHENTICATED",
          "Send 'Authorization: Bearer <token>' with the token from .byom/local.json.",
        ),
      );
      return;
    }
    const bytes = await readBodyWithin(req, GATEWAY_MAX_BODY_BYTES);
    if (bytes === undefined) {
      send(
        res,
        413,
        errorJson("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${GATEWAY_MAX_BODY_BYTES} bytes.`),
      );
      return;
    }
    const pathParameters: Record<string, string> = {};
    match.c.paramNames.forEach((name, i) => {
      pathParameters[name] = decodeURIComponent(match.m[i + 1] ?? "");
    });
    const event = proxyEvent(req, url, route, pathParameters, bytes.toString("utf8"), principal);
    const handler = await load(route.handler);
    const result = await handler(event, lambdaContext(route));
    res.writeHead(result.statusCode, result.headers as Record<string, string>);
    res.end(result.body);
  }
}

function compile(route: Route): CompiledRoute {
  const paramNames: string[] = [];
  const source = route.path
    .split("/")
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&");
      paramNames.push(param[1]);
      return "([^/]+)";
    })
    .join("/");
  const literals = route.path.split("/").length - paramNames.length;
  return { route, pattern: new RegExp(`^${source}$`), paramNames, literals };
}

function proxyEvent(
  req: IncomingMessage,
  url: URL,
  route: Route,
  pathParameters: Record<string, string>,
  body: string,
  principal: string | undefined,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers[key] = value;
    else if (Array.isArray(value)) headers[key] = value.join(",");
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = value;
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: route.method,
    headers,
    multiValueHeaders: {},
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body === "" ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      protocol: "HTTP/1.1",
      httpMethod: route.method,
      path: url.pathname,
      stage: "local",
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: "local",
      resourcePath: route.path,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: principal ?? null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        user: principal ?? null,
        userAgent: req.headers["user-agent"] ?? null,
        userArn: principal ?? null,
      },
    },
  };
}

function lambdaContext(route: Route): Context {
  const deadline = Date.now() + (route.lambda?.timeoutSeconds ?? 30) * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: route.operationId,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${route.operationId}`,
    memoryLimitInMB: String(route.lambda?.memoryMb ?? 256),
    awsRequestId: randomUUID(),
    logGroupName: `/local/${route.operationId}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function errorJson(code: string, message: string): string {
  return JSON.stringify({ error: { code, message, details: [] } });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body);
}
