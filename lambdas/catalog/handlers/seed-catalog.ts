import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { logger } from "#lambdas/shared/logger.ts";
import { seedBuiltinCatalog } from "../seed.ts";

const PHYSICAL_RESOURCE_ID = "byom-builtin-catalog";

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string | number>;
}

/**
 * The catalog-seeding custom resource's onEvent handler (CDK provider framework: it returns the
 * response and the framework reports it to CloudFormation). Create and Update seed the built-ins
 * with the image URIs this deployment built; Delete leaves the table to its own removal policy.
 */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
  if (event.RequestType === "Delete") return { PhysicalResourceId: event.PhysicalResourceId };
  const imageUris = (event.ResourceProperties.ImageUris ?? {}) as Record<string, string>;
  const seeded = await seedBuiltinCatalog({ imageUris });
  logger.info("seeded the built-in catalog", { entries: seeded, requestType: event.RequestType });
  return { PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { Entries: seeded } };
}

export const onEvent = handler;
