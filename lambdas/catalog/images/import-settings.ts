import type * as EcrSdk from "@aws-sdk/client-ecr";
import type * as IamSdk from "@aws-sdk/client-iam";
import type * as SecretsSdk from "@aws-sdk/client-secrets-manager";
import { requireSdk } from "#lambdas/shared/aws-sdk.ts";
import { optionalEnv } from "#lambdas/shared/env.ts";
import type { ExecutionRoleSettings } from "./execution-role.ts";

// Loaded with require(), the cheaper load for a CommonJS SDK (lambdas/shared/aws-sdk.ts).
const { SecretsManagerClient } = requireSdk("@aws-sdk/client-secrets-manager") as typeof SecretsSdk;
const { IAMClient } = requireSdk("@aws-sdk/client-iam") as typeof IamSdk;
const { ECRClient } = requireSdk("@aws-sdk/client-ecr") as typeof EcrSdk;

/** The settings the CDK app gives the catalog functions and the job worker; unset in local mode. */
export const IMAGE_IMPORT_SETTINGS = {
  IMAGE_REGISTRY: "this account's ECR registry host, <account>.dkr.ecr.<region>.amazonaws.com",
  IMAGE_REPOSITORY_PREFIX: "the ECR repositories imported images go to: <prefix>/<registry>/<repository>",
  IMAGE_ROLE_BOUNDARY_ARN: "the permissions boundary of the execution role each imported image gets",
  IMAGE_ROLE_LOG_GROUP_ARNS:
    "the runtime and processor log groups those roles write to (comma-separated ARNs)",
} as const;

export interface ImageImportSettings {
  readonly registryHost: string;
  readonly repositoryPrefix: string;
  readonly ecr: EcrSdk.ECRClient;
  readonly secrets: SecretsSdk.SecretsManagerClient;
  /** Set when each imported image gets an execution role of its own (the CDK app sets it). */
  readonly executionRoles?: ExecutionRoleSettings;
}

let clients: { ecr: EcrSdk.ECRClient; secrets: SecretsSdk.SecretsManagerClient } | undefined;
let iam: IamSdk.IAMClient | undefined;

/** Undefined when this installation has no ECR to import into (local mode: no container engine). */
export function imageImportSettings(): ImageImportSettings | undefined {
  const registryHost = optionalEnv("IMAGE_REGISTRY", "");
  if (!registryHost) return undefined;
  clients ??= { ecr: new ECRClient({}), secrets: new SecretsManagerClient({}) };
  const boundaryArn = optionalEnv("IMAGE_ROLE_BOUNDARY_ARN", "");
  if (boundaryArn) iam ??= new IAMClient({});
  return {
    registryHost,
    repositoryPrefix: optionalEnv("IMAGE_REPOSITORY_PREFIX", "byom/images"),
    ...clients,
    ...(boundaryArn && iam
      ? {
          executionRoles: {
            iam,
            boundaryArn,
            logGroupArns: optionalEnv("IMAGE_ROLE_LOG_GROUP_ARNS", "").split(",").filter(Boolean),
          },
        }
      : {}),
  };
}
