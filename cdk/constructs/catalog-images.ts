import { ArnFormat, Stack, Token, Validations } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import type { IMAGE_IMPORT_SETTINGS } from "#lambdas/catalog/image-import.ts";
import type { ByomFunction } from "./byom-function.ts";
import type { ContainerImages } from "./container-images.ts";

/** Where the catalog copies images from outside the account: `<prefix>/<registry>/<repository>`. */
export const IMPORTED_IMAGE_PREFIX = "byom/images";
/** Secrets a catalog entry's imageCredentialsArn may name (the importers read nothing else). */
export const REGISTRY_SECRET_PREFIX = "byom-registry/";

const PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"];

/** The ECR repositories images of catalog entries are in: the built-ins' assets and the imported ones. */
export function imageRepositoryArns(scope: Construct, images: ContainerImages): string[] {
  const imported = Stack.of(scope).formatArn({
    service: "ecr",
    resource: "repository",
    resourceName: `${IMPORTED_IMAGE_PREFIX}/*`,
  });
  const assets = [...new Set([...images.assets.values()].map((asset) => asset.repository.repositoryArn))];
  return [...assets, imported];
}

/**
 * Lets a task execution role pull the images catalog entries name, and nothing else: the built-in
 * images' asset repository and the repositories imported images are copied to (docs/catalog.md).
 */
export function grantImagePull(scope: Construct, role: iam.IRole, images: ContainerImages): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: PULL_ACTIONS, resources: imageRepositoryArns(scope, images) }),
  );
  // GetAuthorizationToken has no resource-level permissions.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["ecr:GetAuthorizationToken"], resources: ["*"] }),
  );
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagArn(scope, `ecr:repository/${IMPORTED_IMAGE_PREFIX}/*`)}]`,
    reason:
      "Tasks pull the images of catalog entries, which are copied into repositories created per image under byom/images/ when an entry is added (and the built-ins' asset repository): nothing else.",
  });
}

/** An ARN as cdk-nag's findings spell it (tokens as <AWS::…>, a region when the stack has one). */
function nagArn(scope: Construct, resource: string): string {
  const stack = Stack.of(scope);
  const region = Token.isUnresolved(stack.region) ? "<AWS::Region>" : stack.region;
  const partition = Token.isUnresolved(stack.region) ? "<AWS::Partition>" : "aws";
  const [service, ...rest] = resource.split(":");
  return `arn:${partition}:${service}:${region}:<AWS::AccountId>:${rest.join(":")}`;
}

export interface CatalogImagesProps {
  readonly images: ContainerImages;
  /** The functions that add entries (read manifests) and copy images (the job worker). */
  readonly importers: readonly ByomFunction[];
  /** The seeder pins the built-ins' images by digest. */
  readonly seeder: ByomFunction;
}

/**
 * Bringing catalog images into this account's ECR (lambdas/catalog/image-import.ts), from outside
 * the VPC: the functions that add entries and run the import job read any registry over the
 * internet and push into `byom/images/*`; tasks in the VPC then pull only from ECR.
 */
export class CatalogImages extends Construct {
  constructor(scope: Construct, id: string, props: CatalogImagesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const settings: Record<keyof typeof IMAGE_IMPORT_SETTINGS, string> = {
      IMAGE_REGISTRY: `${stack.account}.dkr.ecr.${stack.region}.${stack.urlSuffix}`,
      IMAGE_REPOSITORY_PREFIX: IMPORTED_IMAGE_PREFIX,
    };
    const imported = stack.formatArn({
      service: "ecr",
      resource: "repository",
      resourceName: `${IMPORTED_IMAGE_PREFIX}/*`,
    });
    const anyRepository = stack.formatArn({ service: "ecr", resource: "repository", resourceName: "*" });
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
      // An entry may name an image in another repository of this account: read, then copied.
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: PULL_ACTIONS, resources: [anyRepository] }),
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
        resources: imageRepositoryArns(this, props.images).slice(0, -1),
      }),
    );
    const arn = (resource: string) => nagArn(this, resource);
    const reasons: Record<string, string> = {
      [`AwsSolutions-IAM5[Resource::${arn(`ecr:repository/${IMPORTED_IMAGE_PREFIX}/*`)}]`]:
        "Catalog entries' images are copied into repositories created per image under byom/images/ when an entry is added; pulls are limited to that prefix.",
      [`AwsSolutions-IAM5[Resource::${arn("ecr:repository/*")}]`]:
        "A catalog entry may name an image in any repository of this account: the catalog reads it (pull only) to copy it under byom/images/, from which tasks pull.",
      [`AwsSolutions-IAM5[Resource::${arn(`secretsmanager:secret:${REGISTRY_SECRET_PREFIX}*`)}]`]:
        "Private registries' credentials are secrets named byom-registry/<name> that admins create; the catalog reads only those.",
      "AwsSolutions-IAM5[Resource::*]": "ecr:GetAuthorizationToken has no resource-level permissions.",
    };
    for (const fn of props.importers) {
      for (const [id, reason] of Object.entries(reasons)) Validations.of(fn).acknowledge({ id, reason });
    }
  }
}
