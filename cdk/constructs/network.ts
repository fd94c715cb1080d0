import { Aws, Stack, Validations } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";

/** The VPC's address range, a literal so security group rules can name it. */
export const DEFAULT_VPC_CIDR = "10.80.0.0/16";
/** Where VPC flow logs go in the log bucket. */
export const FLOW_LOGS_PREFIX = "vpc-flow-logs/";

export interface NetworkProps {
  /** @default DEFAULT_VPC_CIDR */
  readonly cidr?: string;
  /** @default 2 (an ALB needs two) */
  readonly maxAzs?: number;
  /**
   * Interface endpoints in every AZ instead of only the first. Tasks in any AZ reach them either
   * way; this only protects image pulls and logs from one AZ's outage, at about USD 7.30 a month per
   * endpoint per extra AZ. @default false
   */
  readonly endpointsInEveryAz?: boolean;
  /** Receives the flow logs of all traffic, under FLOW_LOGS_PREFIX. */
  readonly flowLogBucket: s3.IBucket;
  /** The only buckets of this account the S3 gateway endpoint lets requests reach. */
  readonly buckets: readonly s3.IBucket[];
  /** The only tables the DynamoDB gateway endpoint lets requests reach (with their indexes). */
  readonly tables: readonly dynamodb.ITableV2[];
}

/**
 * The VPC. Tasks run in isolated private subnets with no route to the internet: they reach ECR, S3,
 * DynamoDB and CloudWatch Logs through VPC endpoints, and EFS through its mount targets. There is no
 * NAT gateway: the gateway endpoints (S3, DynamoDB) are free and three interface endpoints in one AZ
 * cost less when idle than one NAT gateway (docs/deploy-aws.md has the figures). Public subnets exist
 * only for an internet-facing ALB; they cost nothing.
 *
 * Every endpoint's policy admits only this account's principals calling this account's resources
 * (the S3 one: the given buckets, plus the AWS-owned bucket ECR serves image layers from), so code
 * in the VPC cannot use an endpoint to send data to another account. Flow logs record all traffic.
 */
export class Network extends Construct {
  public readonly vpc: ec2.Vpc;
  /** Where tasks and the internal ALB live. */
  public readonly taskSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  public readonly publicSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PUBLIC };
  public readonly endpointSecurityGroup: ec2.SecurityGroup;
  /** Where interface endpoints live: the first AZ's task subnet, or every AZ's. */
  public readonly endpointSubnets: ec2.SubnetSelection;
  public readonly cidr: string;
  public readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  public readonly dynamoDbEndpoint: ec2.GatewayVpcEndpoint;
  /** The region's AWS-managed prefix lists: the addresses the gateway endpoints route. */
  public readonly s3PrefixList: ec2.IPeer;
  public readonly dynamoDbPrefixList: ec2.IPeer;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.cidr = props.cidr ?? DEFAULT_VPC_CIDR;
    this.vpc = new ec2.Vpc(this, "Vpc", {
      ipAddresses: ec2.IpAddresses.cidr(this.cidr),
      maxAzs: props.maxAzs ?? 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: "tasks", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 },
      ],
    });
    this.vpc.addFlowLog("FlowLog", {
      destination: ec2.FlowLogDestination.toS3(props.flowLogBucket, FLOW_LOGS_PREFIX),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    // Log delivery would add this itself on first delivery, but CloudFormation rewrites the whole
    // bucket policy on the next update and would drop it: declare it.
    const fromThisAccountsLogDelivery = {
      StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID },
      ArnLike: { "aws:SourceArn": `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` },
    };
    props.flowLogBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "FlowLogDeliveryWrite",
        principals: [new iam.ServicePrincipal("delivery.logs.amazonaws.com")],
        actions: ["s3:PutObject"],
        resources: [props.flowLogBucket.arnForObjects(`${FLOW_LOGS_PREFIX}AWSLogs/${Aws.ACCOUNT_ID}/*`)],
        conditions: {
          ...fromThisAccountsLogDelivery,
          StringEquals: {
            ...fromThisAccountsLogDelivery.StringEquals,
            "s3:x-amz-acl": "bucket-owner-full-control",
          },
        },
      }),
    );
    props.flowLogBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "FlowLogDeliveryAclCheck",
        principals: [new iam.ServicePrincipal("delivery.logs.amazonaws.com")],
        actions: ["s3:GetBucketAcl", "s3:ListBucket"],
        resources: [props.flowLogBucket.bucketArn],
        conditions: fromThisAccountsLogDelivery,
      }),
    );

    // Construct ids as the VPC's own gatewayEndpoints option named them (ids are a contract).
    this.s3Endpoint = this.vpc.addGatewayEndpoint("S3", { service: ec2.GatewayVpcEndpointAwsService.S3 });
    this.dynamoDbEndpoint = this.vpc.addGatewayEndpoint("DynamoDB", {
      service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
    });
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: "ThisAccountsBuckets",
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:*"],
        resources: props.buckets.flatMap((bucket) => [bucket.bucketArn, bucket.arnForObjects("*")]),
        conditions: { StringEquals: { "aws:PrincipalAccount": Aws.ACCOUNT_ID } },
      }),
    );
    // Image pulls: ECR hands out presigned URLs (signed by an ECR account) for layers in this bucket.
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: "EcrImageLayers",
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:GetObject"],
        resources: [`arn:${Aws.PARTITION}:s3:::prod-${Stack.of(this).region}-starport-layer-bucket/*`],
      }),
    );
    this.dynamoDbEndpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: "ThisAccountsTables",
        principals: [new iam.AnyPrincipal()],
        actions: ["dynamodb:*"],
        resources: props.tables.flatMap((table) => [table.tableArn, `${table.tableArn}/index/*`]),
        conditions: { StringEquals: { "aws:PrincipalAccount": Aws.ACCOUNT_ID } },
      }),
    );
    this.s3PrefixList = ec2.Peer.prefixList(this.managedPrefixListId("S3PrefixList", "s3"));
    this.dynamoDbPrefixList = ec2.Peer.prefixList(this.managedPrefixListId("DynamoDBPrefixList", "dynamodb"));

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, "EndpointSecurityGroup", {
      vpc: this.vpc,
      description: "Byom interface endpoints: HTTPS from inside the VPC",
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup.addIngressRule(
      ec2.Peer.ipv4(this.cidr),
      ec2.Port.tcp(443),
      "HTTPS from the VPC",
    );
    this.endpointSubnets = props.endpointsInEveryAz
      ? this.taskSubnets
      : { subnets: [this.vpc.isolatedSubnets[0] as ec2.ISubnet] };
    // What tasks need: image pulls and logs (S3 and DynamoDB go through the gateway endpoints).
    this.addInterfaceEndpoint("EcrApi", ec2.InterfaceVpcEndpointAwsService.ECR);
    this.addInterfaceEndpoint("EcrDocker", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER);
    this.addInterfaceEndpoint("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS);
  }

  /**
   * Another AWS service for code in the VPC, as the built-in endpoints are made: in the endpoint
   * subnets (first AZ, or every AZ), behind the endpoint security group (HTTPS from the VPC), private
   * DNS on, and a policy that admits only this account's principals acting on this account's
   * resources. Each one costs about USD 7.30 a month per AZ.
   */
  addInterfaceEndpoint(id: string, service: ec2.IInterfaceVpcEndpointService): ec2.InterfaceVpcEndpoint {
    const endpoint = this.vpc.addInterfaceEndpoint(id, {
      service,
      subnets: this.endpointSubnets,
      securityGroups: [this.endpointSecurityGroup],
      privateDnsEnabled: true,
      open: false,
    });
    endpoint.addToPolicy(
      new iam.PolicyStatement({
        sid: "ThisAccountOnly",
        principals: [new iam.AnyPrincipal()],
        actions: ["*"],
        resources: ["*"],
        conditions: {
          StringEquals: { "aws:PrincipalAccount": Aws.ACCOUNT_ID, "aws:ResourceAccount": Aws.ACCOUNT_ID },
        },
      }),
    );
    return endpoint;
  }

  /**
   * Lets a security group whose outbound traffic is otherwise closed reach AWS: the interface
   * endpoints on 443 (ECR, CloudWatch Logs and any added later) and S3 through its gateway endpoint
   * on 443 (for Fargate tasks: image layers). Nothing else: no internet, no other port.
   */
  allowAwsServicesFrom(securityGroup: ec2.ISecurityGroup): void {
    securityGroup.addEgressRule(
      this.endpointSecurityGroup,
      ec2.Port.tcp(443),
      "AWS APIs through the VPC interface endpoints",
    );
    securityGroup.addEgressRule(this.s3PrefixList, ec2.Port.tcp(443), "S3 through the gateway endpoint");
  }

  /** Lets a security group with closed egress reach DynamoDB through its gateway endpoint (443). */
  allowDynamoDbFrom(securityGroup: ec2.ISecurityGroup): void {
    securityGroup.addEgressRule(
      this.dynamoDbPrefixList,
      ec2.Port.tcp(443),
      "DynamoDB through the gateway endpoint",
    );
  }

  /**
   * The ID of the region's AWS-managed prefix list `com.amazonaws.<region>.<service>`, looked up at
   * deploy time (the IDs differ per region, and the stack synthesizes without credentials).
   */
  private managedPrefixListId(id: string, service: string): string {
    const call: cr.AwsSdkCall = {
      service: "EC2",
      action: "describeManagedPrefixLists",
      parameters: {
        Filters: [
          { Name: "prefix-list-name", Values: [`com.amazonaws.${Stack.of(this).region}.${service}`] },
        ],
      },
      physicalResourceId: cr.PhysicalResourceId.fromResponse("PrefixLists.0.PrefixListId"),
      outputPaths: ["PrefixLists.0.PrefixListId"],
    };
    const lookup = new cr.AwsCustomResource(this, id, {
      onCreate: call,
      onUpdate: call,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ["ec2:DescribeManagedPrefixLists"], resources: ["*"] }),
      ]),
    });
    Validations.of(lookup).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ec2:DescribeManagedPrefixLists has no resource-level permissions; it is the lookup's only action and reads no data.",
    });
    // aws-cdk-lib runs every AwsCustomResource of the stack on one singleton function.
    const provider = Stack.of(this).node.tryFindChild(
      `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, "")}`,
    );
    if (provider) {
      Validations.of(provider).acknowledge({
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason:
          "aws-cdk-lib's AwsCustomResource function comes with this managed policy; it only writes its own logs and runs at deploy time.",
      });
    }
    return lookup.getResponseField("PrefixLists.0.PrefixListId");
  }
}
