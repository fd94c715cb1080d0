import { ECRClient } from "@aws-sdk/client-ecr";
import { IAMClient } from "@aws-sdk/client-iam";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { optionalEnv } from "#lambdas/shared/env.ts";
import type { ExecutionRoleSettings } from "./execution-role.ts";

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
  readonly ecr: ECRClient;
  readonly secrets: SecretsManagerClient;
  /** Set when each imported image gets an execution role of its own (the CDK app sets it). */
  readonly executionRoles?: ExecutionRoleSettings;
}

let clients: { ecr: ECRClient; secrets: SecretsManagerClient } | undefined;
let iam: IAMClient | undefined;

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
