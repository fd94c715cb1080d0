import type * as EcrSdk from "@aws-sdk/client-ecr";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { requireSdk } from "#lambdas/shared/aws-sdk.ts";
import { logger } from "#lambdas/shared/logger.ts";
import { pinEcrImage } from "../images/ecr-copy.ts";
import { seedBuiltinCatalog } from "../seed.ts";

// Loaded with require(), the cheaper load for a CommonJS SDK (lambdas/shared/aws-sdk.ts).
const { ECRClient } = requireSdk("@aws-sdk/client-ecr") as typeof EcrSdk;

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
  // On AWS (IMAGE_REGISTRY set by cdk/constructs/catalog-images.ts) each image is pinned by digest.
  const registry = process.env.IMAGE_REGISTRY;
  const ecr = registry ? new ECRClient({}) : undefined;
  const seeded = await seedBuiltinCatalog({
    imageUris,
    ...(registry && ecr ? { pinImage: (uri: string) => pinEcrImage(ecr, registry, uri) } : {}),
  });
  logger.info("seeded the built-in catalog", { entries: seeded, requestType: event.RequestType });
  return { PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: { Entries: seeded } };
}

export const onEvent = handler;
