import type { Route } from "#lambdas/shared/http/route.ts";

/**
 * ROUTES, loaded for synth. Some route modules import domain modules that read their environment
 * when they load (TABLE_NAME, BUCKET_NAME via requireEnv); synth only reads the declarations, so
 * placeholders let those modules load. Deployed functions get the real values (RegistryApi).
 */
const SYNTH_PLACEHOLDER_ENV = ["TABLE_NAME", "BUCKET_NAME"];
for (const name of SYNTH_PLACEHOLDER_ENV) process.env[name] ??= "cdk-synth-placeholder";

async function loadRoutes(): Promise<readonly Route[]> {
  try {
    return (await import("#lambdas/routes.ts")).ROUTES;
  } catch (error) {
    throw new Error(
      `cdk synth could not load lambdas/routes.ts: ${(error as Error).message} Route modules are read at synth time: keep them free of work at load (environment reads, clients), or add the variable to SYNTH_PLACEHOLDER_ENV in cdk/routes.ts.`,
      { cause: error },
    );
  }
}

export const ROUTES: readonly Route[] = await loadRoutes();
