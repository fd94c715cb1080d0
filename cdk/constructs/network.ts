import { RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** The VPC's address range, a literal so security group rules can name it. */
export const DEFAULT_VPC_CIDR = "10.80.0.0/16";

export interface NetworkProps {
  /** @default DEFAULT_VPC_CIDR */
  readonly cidr?: string;
  /** @default 2 (an ALB needs two) */
  readonly maxAzs?: number;
  /**
   * Interface endpoints (ECR, CloudWatch Logs) in every AZ instead of only the first. Tasks in any
   * AZ reach them either way; this only protects image pulls and logs from one AZ's outage, at
   * about USD 22 a month per extra AZ. @default false
   */
  readonly endpointsInEveryAz?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * The VPC. Tasks run in isolated private subnets with no route to the internet: they reach ECR, S3,
 * DynamoDB and CloudWatch Logs through VPC endpoints, and EFS through its mount targets. There is no
 * NAT gateway: the gateway endpoints (S3, DynamoDB) are free and three interface endpoints in one AZ
 * cost less when idle than one NAT gateway (docs/deploy-aws.md has the figures). Public subnets exist
 * only for an internet-facing ALB; they cost nothing.
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

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
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
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    const flowLogs = new logs.LogGroup(this, "FlowLogs", {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog("FlowLog", {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

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
   * DNS on. Each one costs about USD 7.30 a month per AZ.
   */
  addInterfaceEndpoint(id: string, service: ec2.IInterfaceVpcEndpointService): ec2.InterfaceVpcEndpoint {
    return this.vpc.addInterfaceEndpoint(id, {
      service,
      subnets: this.endpointSubnets,
      securityGroups: [this.endpointSecurityGroup],
      privateDnsEnabled: true,
      open: false,
    });
  }
}
