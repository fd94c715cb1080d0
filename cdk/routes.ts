import type { Route } from "#lambdas/shared/http/route.ts";

/**
 * ROUTES, loaded for synth. Route modules hold declarations only (schemas, constants): no
 * environment reads or clients at load, so synth needs no placeholders.
 */

async function loadRoutes(): Promise<readonly Route[]> {
  try {
    return (await import("#lambdas/routes.ts")).ROUTES;
  } catch (error) {
    throw new Error(
      `cdk synth could not load lambdas/routes.ts: ${(error as Error).message} Route modules are read at synth time: keep them free of work at load (environment reads, clients).`,
      { cause: error },
    );
  }
}

export const ROUTES: readonly Route[] = await loadRoutes();
