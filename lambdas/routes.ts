import { deploymentRoutes } from "#lambdas/deployments/api/routes.ts";
import { artifactRoutes } from "./artifacts/routes.ts";
import { catalogRoutes } from "./catalog/routes.ts";
import { experimentRoutes } from "./experiments/routes.ts";
import { importRoutes } from "./imports/routes.ts";
import { jobRoutes } from "./jobs/routes.ts";
import { metaRoutes } from "./meta/routes.ts";
import { modelRoutes } from "./models/routes.ts";
import { driftRoutes } from "./monitoring/drift-routes.ts";
import { projectRoutes } from "./projects/routes.ts";
import type { Route } from "./shared/http/route.ts";

/**
 * Every API operation. The CDK app creates one Lambda and one API Gateway method per entry; local
 * mode's gateway routes to the same handler modules; the OpenAPI document lists them all.
 */
export const ROUTES: readonly Route[] = [
  ...metaRoutes,
  ...projectRoutes,
  ...experimentRoutes,
  ...artifactRoutes,
  ...importRoutes,
  ...modelRoutes,
  ...catalogRoutes,
  ...deploymentRoutes,
  ...driftRoutes,
  ...jobRoutes,
];
