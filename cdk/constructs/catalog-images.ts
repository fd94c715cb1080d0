import { ArnFormat, Stack, Token, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { IMAGE_ROLE_PATH } from "#lambdas/catalog/images/execution-role-names.ts";
import type { IMAGE_IMPORT_SETTINGS } from "#lambdas/catalog/images/import-settings.ts";
import { allowBoundedRoles, rolesUnder } from "../bounded-roles.ts";
import type { ByomFunction } from "./byom-function.ts";
import type { ContainerImages } from "./container-images.ts";

/** Where the catalog copies images from outside the account: `<prefix>/<registry>/<repository>`. */
export const IMPORTED_IMAGE_PREFIX = "byom/images";
/** Secrets a catalog entry's imageCredentialsArn may name (the importers read nothing else). */
export const REGISTRY_SECRET_PREFIX = "byom-registry/";

const PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"];

/** The ECR repositories imported catalog images are copied to. */
function importedRepositories(scope: Construct): string {
  return Stack.of(scope).formatArn({
    service: "ecr",
    resource: "repository",
    resourceName: `${IMPORTED_IMAGE_PREFIX}/*`,
  });
}

/** The built-in images' repository (the CDK asset repository). */
function assetRepositories(images: ContainerImages): string[] {
  return [...new Set([...images.assets.values()].map((asset) => asset.repository.repositoryArn))];
}

/** The execution roles the catalog creates, one per imported image (lambdas/catalog/images/execution-role.ts). */
export const imageRoleArns = (scope: Construct): string => rolesUnder(scope, IMAGE_ROLE_PATH);

/**
 * Lets a task execution role pull the built-in images (the CDK asset repository) and nothing
 * else. Imported images are pulled with roles of their own, each limited to its repository
 * (docs/catalog.md, "Permissions").
 */
export function grantImagePull(_scope: Construct, role: iam.IRole, images: ContainerImages): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: PULL_ACTIONS, resources: assetRepositories(images) }),
  );
  // GetAuthorizationToken has no resource-level permissions.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }),
  );
}

/** An ARN as cdk-nag's findings spell it (tokens as <AWS::…>, a region when the stack has one; none for IAM). */
function nagArn(scope: Construct, resource: string): string {
  const stack = Stack.of(scope);
  const [service, ...rest] = resource.split(":");
  const region = service === "iam" ? "" : Token.isUnresolved(stack.region) ? "<AWS::Region>" : stack.region;
  const partition = Token.isUnresolved(stack.region) ? "<AWS::Partition>" : "aws";
  return `arn:${partition}:${service}:${region}:<AWS::AccountId>:${rest.join(":")}`;
}

export interface CatalogImagesProps {
  readonly images: ContainerImages;
  /** The functions that add entries (read manifests) and copy images (the job worker). */
  readonly importers: readonly ByomFunction[];
  /** The function that deletes entries (and with them their images' execution roles). */
  readonly deleter?: ByomFunction;
  /** Where runtime and processor tasks log: imported images' execution roles write there. */
  readonly taskLogGroups: readonly logs.ILogGroup[];
  /** The seeder pins the built-ins' images by digest. */
  readonly seeder: ByomFunction;
}

/**
 * Bringing catalog images into this account's ECR (lambdas/catalog/image-import.ts), from outside
 * the VPC: the functions that add entries and run the import job read any registry over the
 * internet and push into `byom/images/*`; tasks in the VPC then pull only from ECR, each imported
 * image with an execution role of its own that the catalog creates under `imageRoleBoundary`.
 */
export class CatalogImages extends Construct {
  /** The most an imported image's execution role may do, whatever policy the catalog gives it. */
  public readonly imageRoleBoundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: CatalogImagesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const imported = importedRepositories(this);
    const anyRepository = stack.formatArn({ service: "ecr", resource: "repository", resourceName: "*" });
    const runtimeSecrets = stack.formatArn({
      service: "secretsmanager",
      resource: "secret",
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: "byom/*",
    });
    this.imageRoleBoundary = new iam.ManagedPolicy(this, "ImageRoleBoundary", {
      description: "Byom: the most an imported catalog image's execution role may do",
      statements: [
        // Any repository of this account: an entry may name an image already there (not copied).
        new iam.PolicyStatement({ actions: PULL_ACTIONS, resources: [anyRepository] }),
        new iam.PolicyStatement({ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }),
        new iam.PolicyStatement({
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: props.taskLogGroups.map((group) => `${group.logGroupArn}`),
        }),
        new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [runtimeSecrets] }),
      ],
    });
    const boundaryReasons: Record<string, string> = {
      [`AwsSolutions-IAM5[Resource::${nagArn(this, "ecr:repository/*")}]`]:
        "A boundary, not a grant: each catalog image's role is given its one repository (under byom/images/, or the in-account repository the entry names), and may never get more than pulls from this account's ECR.",
      "AwsSolutions-IAM5[Resource::*]": "ecr:GetAuthorizationToken has no resource-level permissions.",
      [`AwsSolutions-IAM5[Resource::${nagArn(this, "secretsmanager:secret:byom/*")}]`]:
        "Runtime slots' passphrase-hash secrets are created at run time, named byom/<deployment>/<slot>; ECS reads them with the task's execution role.",
    };
    for (const [id, reason] of Object.entries(boundaryReasons))
      Validations.of(this.imageRoleBoundary).acknowledge({ id, reason });
    const settings: Record<keyof typeof IMAGE_IMPORT_SETTINGS, string> = {
      IMAGE_REGISTRY: `${stack.account}.dkr.ecr.${stack.region}.${stack.urlSuffix}`,
      IMAGE_REPOSITORY_PREFIX: IMPORTED_IMAGE_PREFIX,
      IMAGE_ROLE_BOUNDARY_ARN: this.imageRoleBoundary.managedPolicyArn,
      IMAGE_ROLE_LOG_GROUP_ARNS: props.taskLogGroups
        .map((group) =>
          stack.formatArn({
            service: "logs",
            resource: "log-group",
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            resourceName: group.logGroupName,
          }),
        )
        .join(","),
    };
    for (const fn of [...props.importers, ...(props.deleter ? [props.deleter] : [])]) {
      // Each imported image's execution role: created only with the boundary.
      allowBoundedRoles(fn.role, this, IMAGE_ROLE_PATH, this.imageRoleBoundary);
    }
    if (props.deleter) {
      for (const name of ["IMAGE_REGISTRY", "IMAGE_ROLE_BOUNDARY_ARN"] as const)
        props.deleter.function.addEnvironment(name, settings[name]);
      Validations.of(props.deleter).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(this, `iam:role${IMAGE_ROLE_PATH}*`)}]`,
        reason:
          "Deleting a catalog entry deletes its image's execution role, one of the roles the catalog creates under /byom/images/.",
      });
    }
    const registrySecrets = stack.formatArn({
      service: "secretsmanager",
      resource: "secret",
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `${REGISTRY_SECRET_PREFIX}*`,
    });
    for (const fn of props.importers) {
      for (const [name, value] of Object.entries(settings)) fn.function.addEnvironment(name, value);
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            "ecr:CreateRepository",
            "ecr:TagResource",
            "ecr:DescribeImages",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:PutImage",
            ...PULL_ACTIONS,
          ],
          resources: [imported],
        }),
      );
      // An entry may name an image in another repository of this account: pinned by its digest
      // there, not copied (the entry's own role pulls it).
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ["ecr:DescribeImages"], resources: [anyRepository] }),
      );
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }),
      );
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [registrySecrets] }),
      );
    }
    props.seeder.function.addEnvironment("IMAGE_REGISTRY", settings.IMAGE_REGISTRY);
    props.seeder.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ecr:DescribeImages"],
        resources: assetRepositories(props.images),
      }),
    );
    const arn = (resource: string) => nagArn(this, resource);
    const reasons: Record<string, string> = {
      [`AwsSolutions-IAM5[Resource::${arn(`ecr:repository/${IMPORTED_IMAGE_PREFIX}/*`)}]`]:
        "Catalog entries' images are copied into repositories created per image under byom/images/ when an entry is added; pulls are limited to that prefix.",
      [`AwsSolutions-IAM5[Resource::${arn("ecr:repository/*")}]`]:
        "A catalog entry may name an image in any repository of this account: the catalog reads its digest (DescribeImages only) to pin it there; the entry's own execution role then pulls that one repository.",
      [`AwsSolutions-IAM5[Resource::${arn(`secretsmanager:secret:${REGISTRY_SECRET_PREFIX}*`)}]`]:
        "Private registries' credentials are secrets named byom-registry/<name> that admins create; the catalog reads only those.",
      "AwsSolutions-IAM5[Resource::*]": "ecr:GetAuthorizationToken has no resource-level permissions.",
      [`AwsSolutions-IAM5[Resource::${arn(`iam:role${IMAGE_ROLE_PATH}*`)}]`]:
        "Each imported image gets an execution role of its own under /byom/images/, created only with the image role boundary (it may pull its own repository, write task logs, read runtime secrets).",
    };
    for (const fn of props.importers) {
      for (const [id, reason] of Object.entries(reasons)) Validations.of(fn).acknowledge({ id, reason });
    }
  }
}
