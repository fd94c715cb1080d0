import { RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as efs from "aws-cdk-lib/aws-efs";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { MODELS_FILE_SYSTEM_PATH } from "#lambdas/deployments/serving-contract.ts";

/** The uid/gid the processor and runtime images run as (`USER 10001` in their Dockerfiles). */
export const IMAGE_USER_ID = "10001";

export interface ModelFileSystemProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** @default RemovalPolicy.DESTROY (models are derived from artifacts in S3 and can be rebuilt) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * EFS for models: the deploy workflow stages an artifact here, the processor writes the ready model
 * (TARGET_PATH) and the runtime reads it (MODEL_PATH). Encrypted at rest; the file system policy
 * refuses clients without TLS and anonymous ones (mount with transit encryption and IAM
 * authorization). The deploy workflow's steps get in through `stepsAccessPoint` as root (they
 * hand each slot's directory to the slot's own POSIX user and remove it); each slot's processor and
 * runtime through an access point of their own, rooted at the slot's directory, which the workflow
 * creates. `accessPoint` (the images' user) is what the catalog's processor task definitions name;
 * the workflow replaces it per slot. Only security groups passed to `allowFrom` reach port 2049.
 */
export class ModelFileSystem extends Construct {
  public readonly fileSystem: efs.FileSystem;
  public readonly accessPoint: efs.AccessPoint;
  public readonly stepsAccessPoint: efs.AccessPoint;
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ModelFileSystemProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description: "Byom model file system: NFS from Byom tasks only",
      allowAllOutbound: false,
    });
    this.fileSystem = new efs.FileSystem(this, "FileSystem", {
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroup: this.securityGroup,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      enableAutomaticBackups: false,
      allowAnonymousAccess: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.fileSystem.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "DenyUnencryptedTransport",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["*"],
        conditions: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
    this.accessPoint = this.fileSystem.addAccessPoint("Models", {
      path: MODELS_FILE_SYSTEM_PATH,
      posixUser: { uid: IMAGE_USER_ID, gid: IMAGE_USER_ID },
      createAcl: { ownerUid: IMAGE_USER_ID, ownerGid: IMAGE_USER_ID, permissions: "750" },
    });
    this.stepsAccessPoint = this.fileSystem.addAccessPoint("Steps", {
      path: MODELS_FILE_SYSTEM_PATH,
      posixUser: { uid: "0", gid: "0" },
      createAcl: { ownerUid: IMAGE_USER_ID, ownerGid: IMAGE_USER_ID, permissions: "750" },
    });
  }

  /** Lets a task or function security group mount the file system (NFS, TCP 2049). */
  allowFrom(peer: ec2.ISecurityGroup, description: string): void {
    this.fileSystem.connections.allowDefaultPortFrom(peer, description);
  }
}
