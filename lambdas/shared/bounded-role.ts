import type * as IamSdk from "@aws-sdk/client-iam";
import type { IAMClient } from "@aws-sdk/client-iam";
import { requireSdk } from "#lambdas/shared/aws-sdk.ts";

// Loaded with require(), the cheaper load for a CommonJS SDK (lambdas/shared/aws-sdk.ts).
const {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  PutRolePolicyCommand,
} = requireSdk("@aws-sdk/client-iam") as typeof IamSdk;

/**
 * Roles Byom creates at run time for ECS tasks (a capturing deployment's task role, a catalog
 * image's execution role): always under a permissions boundary the CDK app defines, which caps
 * them whatever their inline policy says, and assumable only by ECS tasks of this account.
 */
export interface BoundedRole {
  readonly roleName: string;
  /** `/byom/…/`: the CDK app scopes CreateRole and PassRole to the path. */
  readonly path: string;
  readonly boundaryArn: string;
  readonly description: string;
  readonly tags: ReadonlyArray<{ readonly Key: string; readonly Value: string }>;
  readonly policyName: string;
  readonly statements: readonly Record<string, unknown>[];
}

/** Creates the role (or finds it: a retried step) and puts its one inline policy; answers its ARN. */
export async function ensureBoundedRole(iam: IAMClient, role: BoundedRole): Promise<string> {
  const account = role.boundaryArn.split(":")[4] ?? "";
  const RoleName = role.roleName;
  let arn: string | undefined;
  try {
    const out = await iam.send(
      new CreateRoleCommand({
        RoleName,
        Path: role.path,
        PermissionsBoundary: role.boundaryArn,
        Description: role.description.slice(0, 1000),
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
        Tags: [...role.tags],
      }),
    );
    arn = out.Role?.Arn;
  } catch (error) {
    // A retried step, or a later revision: the role exists; its policy is put again.
    if ((error as Error).name !== "EntityAlreadyExistsException") throw error;
    arn = (await iam.send(new GetRoleCommand({ RoleName }))).Role?.Arn;
  }
  if (!arn) throw new Error(`IAM returned no ARN for role ${RoleName}`);
  await iam.send(
    new PutRolePolicyCommand({
      RoleName,
      PolicyName: role.policyName,
      PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: role.statements }),
    }),
  );
  return arn;
}

/** Removes the role and its inline policy (either absent: nothing to do). */
export async function deleteBoundedRole(iam: IAMClient, roleName: string, policyName: string): Promise<void> {
  const steps = [
    () => iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
    () => iam.send(new DeleteRoleCommand({ RoleName: roleName })),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      if ((error as Error).name !== "NoSuchEntityException") throw error;
    }
  }
}
