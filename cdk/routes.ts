import type { Route } from "#lambdas/shared/http/route.ts";

/**
 * ROUTES, loaded for synth. Some route modules import domain modules that read their environment
 * when they load (TABLE_NAME, BUCKET_NAME via requireEnv); synth only reads the declarations, so
 * placeholders let those modules load. Deployed functions get the real values (RegistryApi).
 */
const SYNTH_PLACEHOLDER_ENV = ["TABLE_NAME", "BUCKET_NAME"];
for (const name of SYNTH_PLACEHOLDER_ENV) process.env[name] ??= "cdk-synth-placeholder";

export const ROUTES: readonly Route[] = (await import("#lambdas/routes.ts")).ROUTES;
