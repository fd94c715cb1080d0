import { Duration, Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
// SHADOW_PORT: champion runtimes send their copies of score requests there, and the deployment's
// shadow rule forwards them to the challenger. Plain HTTP inside the VPC, whatever the scoring
// listener speaks (a certificate names the clients' host, not the ALB's).
import { RUNTIME_PORT, SHADOW_PORT } from "#lambdas/deployments/serving-contract.ts";

/**
 * The HTTPS listener's security policy: TLS 1.3 and 1.2 only, forward-secret ciphers (AWS's
 * recommended policy; `elbv2.SslPolicy.RECOMMENDED_TLS` names the same one today).
 */
export const SCORING_TLS_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS;

/** What the listener answers for a path that matches no deployment: the scorer API's error shape. */
export const NO_DEPLOYMENT_BODY = JSON.stringify({
  detail: "No deployment answers at this path. Score at /{deploymentId}/model/score.",
});

export interface ScoringClusterProps {
  readonly vpc: ec2.IVpc;
  /** The VPC's CIDR (a literal): who may reach an internal ALB unless allowedCidr says otherwise. */
  readonly vpcCidr: string;
  /** Where the ALB lives when it is internal. */
  readonly privateSubnets: ec2.SubnetSelection;
  /** Where the ALB lives when it is internet-facing. */
  readonly publicSubnets: ec2.SubnetSelection;
  readonly accessLogsBucket: s3.IBucket;
  /**
   * Put the ALB on the internet. Off by default: scoring is then reachable from inside the VPC (and
   * peered networks, VPN, Direct Connect) only. @default false
   */
  readonly internetFacing?: boolean;
  /**
   * Where scoring clients may connect from. @default the VPC's CIDR when internal, 0.0.0.0/0 when
   * internet-facing
   */
  readonly allowedCidr?: string;
  /**
   * An ACM certificate ARN: the listener then speaks HTTPS on 443 (TLS 1.2 or 1.3, SCORING_TLS_POLICY)
   * and port 80 only redirects to it. Required when `internetFacing`.
   * @default HTTP on port 80 (internal ALB only)
   */
  readonly certificateArn?: string;
  /** @default false */
  readonly deletionProtection?: boolean;
}

/**
 * Where runtimes run: the ECS cluster (Fargate, Container Insights on), the ALB in front of them and
 * its listener. The listener's default action is a 404 in the scorer API's error shape; the deploy
 * workflow adds one target group and one `/{deploymentId}/*` rule per deployment. Only the ALB
 * reaches runtime tasks, on 8080. The shadow listener (SHADOW_PORT), which only runtime tasks may
 * reach, takes champion/challenger deployments' shadow rules: on the scoring ALB when that is
 * internal; on a second, internal ALB of its own when the scoring ALB is internet-facing (its name
 * resolves to public addresses, which tasks in the isolated subnets cannot reach).
 */
export class ScoringCluster extends Construct {
  public readonly internetFacing: boolean;
  public readonly cluster: ecs.Cluster;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly listener: elbv2.ApplicationListener;
  /** The security group of the ALB. */
  public readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  /**
   * For runtime tasks: ingress only from the ALB, on RUNTIME_PORT; egress only to the shadow listener
   * (SHADOW_PORT) and to what the stack opens (EFS, the VPC endpoints): nothing by default.
   */
  public readonly runtimeSecurityGroup: ec2.SecurityGroup;
  /** For processor tasks: no ingress at all; egress only to what the stack opens (nothing by default). */
  public readonly processorSecurityGroup: ec2.SecurityGroup;
  /** The scheme and host scoring clients use, e.g. `http://internal-byom-….elb.amazonaws.com`. */
  public readonly endpointBaseUrl: string;
  /**
   * The ALB the shadow listener is on: `loadBalancer` when that is internal, otherwise an internal ALB
   * for shadow copies only (a challenger then needs a target group on it too).
   */
  public readonly shadowLoadBalancer: elbv2.ApplicationLoadBalancer;
  /** The listener champion runtimes send shadow copies to, and its base URL as they reach it. */
  public readonly shadowListener: elbv2.ApplicationListener;
  public readonly shadowBaseUrl: string;

  constructor(scope: Construct, id: string, props: ScoringClusterProps) {
    super(scope, id);
    const internetFacing = props.internetFacing ?? false;
    this.internetFacing = internetFacing;
    if (internetFacing && !props.certificateArn) {
      throw new Error(
        "An internet-facing scoring endpoint serves HTTPS only, and no certificate was given. Pass the ARN " +
          "of an ACM certificate for the DNS name clients will use: -c byom:certificateArn=arn:aws:acm:" +
          "<region>:<account>:certificate/<id> (construct prop certificateArn), or leave " +
          "byom:internetFacing off to keep the scoring ALB internal.",
      );
    }
    this.cluster = new ecs.Cluster(this, "Cluster", {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });

    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, "LoadBalancerSecurityGroup", {
      vpc: props.vpc,
      description: "Byom scoring ALB",
      allowAllOutbound: false,
    });
    this.runtimeSecurityGroup = new ec2.SecurityGroup(this, "RuntimeSecurityGroup", {
      vpc: props.vpc,
      description: `Byom runtime tasks: the scorer API on ${RUNTIME_PORT}, from the scoring ALB only`,
      // Model code runs here: it may send only what addEgressRule opens (no internet, no other host).
      allowAllOutbound: false,
    });
    this.processorSecurityGroup = new ec2.SecurityGroup(this, "ProcessorSecurityGroup", {
      vpc: props.vpc,
      description: "Byom processor tasks: no inbound traffic",
      allowAllOutbound: false,
    });
    this.runtimeSecurityGroup.addIngressRule(
      this.loadBalancerSecurityGroup,
      ec2.Port.tcp(RUNTIME_PORT),
      "Scoring traffic and health checks from the ALB",
    );
    this.loadBalancerSecurityGroup.addEgressRule(
      this.runtimeSecurityGroup,
      ec2.Port.tcp(RUNTIME_PORT),
      "To runtime tasks",
    );

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc: props.vpc,
      internetFacing,
      vpcSubnets: internetFacing ? props.publicSubnets : props.privateSubnets,
      securityGroup: this.loadBalancerSecurityGroup,
      dropInvalidHeaderFields: true,
      deletionProtection: props.deletionProtection ?? false,
      idleTimeout: Duration.seconds(60),
    });
    this.loadBalancer.logAccessLogs(props.accessLogsBucket, "alb");

    const clientPeer = ec2.Peer.ipv4(props.allowedCidr ?? (internetFacing ? "0.0.0.0/0" : props.vpcCidr));
    const notFound = elbv2.ListenerAction.fixedResponse(404, {
      contentType: "application/json",
      messageBody: NO_DEPLOYMENT_BODY,
    });
    if (props.certificateArn) {
      this.listener = this.loadBalancer.addListener("Https", {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
        sslPolicy: SCORING_TLS_POLICY,
        open: false,
        defaultAction: notFound,
      });
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
      this.loadBalancerSecurityGroup.addIngressRule(clientPeer, ec2.Port.tcp(443), "Scoring clients (HTTPS)");
      this.loadBalancerSecurityGroup.addIngressRule(clientPeer, ec2.Port.tcp(80), "Redirect to HTTPS");
      this.endpointBaseUrl = `https://${this.loadBalancer.loadBalancerDnsName}`;
    } else {
      this.listener = this.loadBalancer.addListener("Http", {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: notFound,
      });
      this.loadBalancerSecurityGroup.addIngressRule(clientPeer, ec2.Port.tcp(80), "Scoring clients (HTTP)");
      this.endpointBaseUrl = `http://${this.loadBalancer.loadBalancerDnsName}`;
    }
    if (internetFacing) {
      const shadowSecurityGroup = new ec2.SecurityGroup(this, "ShadowLoadBalancerSecurityGroup", {
        vpc: props.vpc,
        description: "Byom shadow ALB: copies of score requests from champion to challenger runtimes",
        allowAllOutbound: false,
      });
      this.runtimeSecurityGroup.addIngressRule(
        shadowSecurityGroup,
        ec2.Port.tcp(RUNTIME_PORT),
        "Shadow copies and health checks from the shadow ALB",
      );
      shadowSecurityGroup.addEgressRule(
        this.runtimeSecurityGroup,
        ec2.Port.tcp(RUNTIME_PORT),
        "To runtime tasks",
      );
      this.shadowLoadBalancer = new elbv2.ApplicationLoadBalancer(this, "ShadowLoadBalancer", {
        vpc: props.vpc,
        internetFacing: false,
        vpcSubnets: props.privateSubnets,
        securityGroup: shadowSecurityGroup,
        dropInvalidHeaderFields: true,
        deletionProtection: props.deletionProtection ?? false,
        idleTimeout: Duration.seconds(60),
      });
      this.shadowLoadBalancer.logAccessLogs(props.accessLogsBucket, "alb-shadow");
      this.shadowListener = this.addShadowListener(this.shadowLoadBalancer, shadowSecurityGroup, notFound);
    } else {
      this.shadowLoadBalancer = this.loadBalancer;
      this.shadowListener = this.addShadowListener(
        this.loadBalancer,
        this.loadBalancerSecurityGroup,
        notFound,
      );
    }
    this.shadowBaseUrl = `http://${this.shadowLoadBalancer.loadBalancerDnsName}:${SHADOW_PORT}`;
    if (internetFacing && !props.allowedCidr) {
      Validations.of(this.loadBalancerSecurityGroup).acknowledge({
        id: "AwsSolutions-EC23",
        reason:
          "The operator asked for an internet-facing scoring endpoint (byom:internetFacing); deployments protect themselves with a passphrase, and byom:allowedCidr narrows the range.",
      });
    }
  }

  /**
   * The shadow listener on `loadBalancer` (construct id `Shadow`), open to runtime tasks only, and
   * runtime tasks' only way out besides AWS services: to this listener's port on this ALB.
   */
  private addShadowListener(
    loadBalancer: elbv2.ApplicationLoadBalancer,
    securityGroup: ec2.SecurityGroup,
    defaultAction: elbv2.ListenerAction,
  ): elbv2.ApplicationListener {
    const listener = loadBalancer.addListener("Shadow", {
      port: SHADOW_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction,
    });
    securityGroup.addIngressRule(
      this.runtimeSecurityGroup,
      ec2.Port.tcp(SHADOW_PORT),
      "Shadow copies from champion runtimes",
    );
    this.runtimeSecurityGroup.addEgressRule(
      securityGroup,
      ec2.Port.tcp(SHADOW_PORT),
      "Champions send shadow copies to the shadow listener",
    );
    return listener;
  }
}
