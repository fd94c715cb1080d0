import type { IAMClient } from "@aws-sdk/client-iam";
import { deleteBoundedRole, ensureBoundedRole } from "#lambdas/shared/bounded-role.ts";
import { executionRoleName, IMAGE_ROLE_PATH } from "./execution-role-names.ts";
import { ecrRegistryOf, parseImageReference } from "./image-reference.ts";

/**
 * Each imported catalog image gets a task execution role of its own (docs/catalog.md,
 * "Permissions"): it may pull that one ECR repository and nothing else, write the task logs and
 * read the runtime secrets ECS injects. It is created under a permissions boundary the CDK app
 * defines (cdk/constructs/catalog-images.ts), which caps it whatever its policy says, recorded on
 * the entry (`executionRoleArn`), named in the task definitions registered for the entry, and
 * deleted with the entry.
 */

const POLICY_NAME = "pull-this-image";

export interface ExecutionRoleSettings {
  readonly iam: IAMClient;
  readonly boundaryArn: string;
  /** The log groups of runtime and processor tasks (their ARNs, without `:*`). */
  readonly logGroupArns: readonly string[];
}

/** Creates (or updates) the entry's role; its policy names the pinned image's repository only. */
export async function ensureExecutionRole(
  settings: ExecutionRoleSettings,
  kind: string,
  name: string,
  pinnedImage: string,
): Promise<string> {
  const [, partition = "aws", , , account = ""] = settings.boundaryArn.split(":");
  const ref = parseImageReference(pinnedImage);
  const region = ecrRegistryOf(ref.registry)?.region ?? "";
  return ensureBoundedRole(settings.iam, {
    roleName: executionRoleName(kind, name),
    path: IMAGE_ROLE_PATH,
    boundaryArn: settings.boundaryArn,
    description: `Byom: ECS tasks of catalog ${kind} '${name}'`,
    tags: [{ Key: "byom:catalog", Value: kind }],
    policyName: POLICY_NAME,
    statements: [
      {
        Effect: "Allow",
        Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
        Resource: `arn:${partition}:ecr:${region}:${account}:repository/${ref.repository}`,
      },
      // No resource-level permissions.
      { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      {
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: settings.logGroupArns.map((group) => `${group}:*`),
      },
      // The passphrase hash and secret settings of a runtime slot (byom/<deployment>/<slot>).
      {
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: `arn:${partition}:secretsmanager:${region}:${account}:secret:byom/*`,
      },
    ],
  });
}

/** Removes the entry's role (absent: nothing to do). */
export async function deleteExecutionRole(iam: IAMClient, kind: string, name: string): Promise<void> {
  await deleteBoundedRole(iam, executionRoleName(kind, name), POLICY_NAME);
}
