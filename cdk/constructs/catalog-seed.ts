import { createHash } from "node:crypto";
import { type CfnResource, CustomResource, Stack, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as logs from "aws-cdk-lib/aws-logs";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { ByomFunction } from "./byom-function.ts";

export const SEED_CATALOG_HANDLER = "lambdas/catalog/handlers/seed-catalog.ts";

export interface CatalogSeedProps {
  readonly table: dynamodb.ITableV2;
  /**
   * Image folder → image URI of the built-in processors and runtimes; passed to the handler as the
   * `ImageUris` property so the seeded catalog can name the images this deployment built.
   */
  readonly imageUris: Readonly<Record<string, string>>;
  /** The handler module (repository-relative). @default SEED_CATALOG_HANDLER */
  readonly handler?: string;
}

/**
 * Seeds the built-in catalog (lambdas/catalog/builtin.ts) into the table on stack create and on every
 * update that changes the catalog or an image: a custom resource backed by the provider framework,
 * running the same seeding code as local mode. Its properties are `CatalogHash` (changes whenever
 * BUILTIN_CATALOG does, which triggers the update) and `ImageUris`.
 */
export class CatalogSeed extends Construct {
  public readonly seeder: ByomFunction;
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: CatalogSeedProps) {
    super(scope, id);
    this.seeder = new ByomFunction(this, "Seeder", {
      entry: props.handler ?? SEED_CATALOG_HANDLER,
      description: "Byom: seeds the built-in catalog",
      timeoutSeconds: 60,
      environment: { TABLE_NAME: props.table.tableName },
    });
    props.table.grantReadWriteData(this.seeder.function);

    const provider = new cr.Provider(this, "Provider", {
      onEventHandler: this.seeder.function,
      logGroup: new logs.LogGroup(this, "ProviderLogs", { retention: logs.RetentionDays.ONE_MONTH }),
    });
    this.resource = new CustomResource(this, "Resource", {
      serviceToken: provider.serviceToken,
      resourceType: "Custom::ByomCatalogSeed",
      properties: {
        CatalogHash: createHash("sha256").update(JSON.stringify(BUILTIN_CATALOG)).digest("hex"),
        ImageUris: props.imageUris,
      },
    });
    const seeder = Stack.of(this).resolve((this.seeder.function.node.defaultChild as CfnResource).logicalId);
    Validations.of(provider).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${seeder}.Arn>:*]`,
      reason: "The provider framework invokes the seeder function and its versions (ARN:*), nothing else.",
    });
    Validations.of(provider).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
      reason:
        "aws-cdk-lib's provider framework function comes with this managed policy; it only relays CloudFormation events to the seeder.",
    });
  }
}
