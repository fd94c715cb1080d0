import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  type IAMClient,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { executionRoleName, IMAGE_ROLE_PATH } from "./execution-role-names.ts";
import { parseImageReference } from "./image-reference.ts";

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
  const region = /\.dkr\.ecr\.([a-z0-9-]+)\./.exec(ref.registry)?.[1] ?? "";
  const RoleName = executionRoleName(kind, name);
  let arn: string | undefined;
  try {
    const out = await settings.iam.send(
      new CreateRoleCommand({
        RoleName,
        Path: IMAGE_ROLE_PATH,
        PermissionsBoundary: settings.boundaryArn,
        Description: `Byom: ECS tasks of catalog ${kind} '${name}'`.slice(0, 1000),
        AssumeRolePolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "ecs-tasks.amazonaws.com" },
              Action: "sts:AssumeRole",
              Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
          ],
        }),
        Tags: [{ Key: "byom:catalog", Value: kind }],
      }),
    );
    arn = out.Role?.Arn;
  } catch (error) {
    // A retried job: the role exists; its policy is put again.
    if ((error as Error).name !== "EntityAlreadyExistsException") throw error;
    arn = (await settings.iam.send(new GetRoleCommand({ RoleName }))).Role?.Arn;
  }
  if (!arn) throw new Error(`IAM returned no ARN for role ${RoleName}`);
  await settings.iam.send(
    new PutRolePolicyCommand({
      RoleName,
      PolicyName: POLICY_NAME,
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
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
      }),
    }),
  );
  return arn;
}

/** Removes the entry's role (absent: nothing to do). */
export async function deleteExecutionRole(iam: IAMClient, kind: string, name: string): Promise<void> {
  const RoleName = executionRoleName(kind, name);
  for (const command of [
    new DeleteRolePolicyCommand({ RoleName, PolicyName: POLICY_NAME }),
    new DeleteRoleCommand({ RoleName }),
  ]) {
    try {
      await iam.send(command as DeleteRoleCommand);
    } catch (error) {
      if ((error as Error).name !== "NoSuchEntityException") throw error;
    }
  }
}
