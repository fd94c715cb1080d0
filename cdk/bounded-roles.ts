import { Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";

/** The ARN pattern of the roles Byom creates at run time under `path` (lambdas/shared/bounded-role.ts). */
export function rolesUnder(scope: Construct, path: string): string {
  return Stack.of(scope).formatArn({
    service: "iam",
    region: "",
    resource: "role",
    resourceName: `${path.slice(1)}*`,
  });
}

/**
 * Lets a function create, update and delete the roles under `path`: creating one or putting its
 * policy only with `boundary` as its permissions boundary, so no role it makes can exceed it.
 */
export function allowBoundedRoles(
  role: iam.IRole,
  scope: Construct,
  path: string,
  boundary: iam.IManagedPolicy,
): void {
  const roles = rolesUnder(scope, path);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole"],
      resources: [roles],
      conditions: { StringEquals: { "iam:PermissionsBoundary": boundary.managedPolicyArn } },
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ["iam:GetRole", "iam:DeleteRolePolicy", "iam:DeleteRole"],
      resources: [roles],
    }),
  );
}
