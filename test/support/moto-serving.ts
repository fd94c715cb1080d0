import { ApplicationAutoScalingClient } from "@aws-sdk/client-application-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, CreateLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateClusterCommand, ECSClient } from "@aws-sdk/client-ecs";
import { CreateFileSystemCommand, EFSClient } from "@aws-sdk/client-efs";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { CreatePolicyCommand, IAMClient } from "@aws-sdk/client-iam";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { AwsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import type { MotoServer } from "./moto-s3.ts";

/** moto's default VPC and two of its subnets, through the EC2 query API (no EC2 client in this repo). */
export async function motoDefaultNetwork(
  moto: MotoServer,
): Promise<{ vpcId: string; subnetIds: string[]; securityGroupId: string }> {
  const query = async (action: string) => {
    const response = await fetch(moto.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization:
          "AWS4-HMAC-SHA256 Credential=moto/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
      },
      body: `Action=${action}&Version=2016-11-15`,
    });
    return response.text();
  };
  const vpcId = /<vpcId>(vpc-[0-9a-f]+)<\/vpcId>/.exec(await query("DescribeVpcs"))?.[1];
  const subnetIds = [
    ...(await query("DescribeSubnets")).matchAll(/<subnetId>(subnet-[0-9a-f]+)<\/subnetId>/g),
  ]
    .map((m) => m[1] as string)
    .slice(0, 2);
  // moto checks a service's security groups exist.
  const securityGroupId = /<groupId>(sg-[0-9a-f]+)<\/groupId>/.exec(
    await query("DescribeSecurityGroups"),
  )?.[1];
  if (!vpcId || subnetIds.length < 2 || !securityGroupId)
    throw new Error("moto has no default VPC with two subnets and a security group");
  return { vpcId, subnetIds, securityGroupId };
}

/**
 * Clients for what the serving adapter creates, to check it; like the adapter they reach moto through
 * AWS_ENDPOINT_URL, so set that first.
 */
export function motoServingClients() {
  return {
    ecs: new ECSClient({}),
    elb: new ElasticLoadBalancingV2Client({}),
    efs: new EFSClient({}),
    secrets: new SecretsManagerClient({}),
    scaling: new ApplicationAutoScalingClient({}),
    cloudwatch: new CloudWatchClient({}),
    iam: new IAMClient({}),
    logs: new CloudWatchLogsClient({}),
  };
}
export type MotoServingClients = ReturnType<typeof motoServingClients>;

export type AwsServingSettings = ConstructorParameters<typeof AwsServing>[0] & object;

/**
 * What the CDK stack creates for serving, created in moto (the SDK must already point at it with
 * AWS_ENDPOINT_URL): an internal scoring ALB with an HTTP listener, the ECS cluster, the models
 * file system, the runtime and processor log groups and the permissions boundary of capture roles;
 * returns the AwsServing settings the workflow Lambdas get from their environment.
 */
export async function motoServingStack(moto: MotoServer): Promise<AwsServingSettings> {
  const ecs = new ECSClient({});
  const elb = new ElasticLoadBalancingV2Client({});
  const efs = new EFSClient({});
  const iam = new IAMClient({});
  const logs = new CloudWatchLogsClient({});
  const network = await motoDefaultNetwork(moto);
  const lb = await elb.send(
    new CreateLoadBalancerCommand({ Name: "byom-scoring", Subnets: network.subnetIds, Scheme: "internal" }),
  );
  const listener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancers?.[0]?.LoadBalancerArn as string,
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [
        { Type: "fixed-response", FixedResponseConfig: { StatusCode: "404", ContentType: "text/plain" } },
      ],
    }),
  );
  const clusterArn = (await ecs.send(new CreateClusterCommand({ clusterName: "byom" }))).cluster
    ?.clusterArn as string;
  const fileSystemId = (await efs.send(new CreateFileSystemCommand({ CreationToken: "byom-models" })))
    .FileSystemId as string;
  for (const logGroupName of ["runtime-logs", "processor-logs"])
    await logs.send(new CreateLogGroupCommand({ logGroupName }));
  // The stack's boundary (cdk/constructs/serving-workflows.ts; its statements are pinned by the CDK
  // tests): the adapter only names it.
  const boundary = await iam.send(
    new CreatePolicyCommand({
      PolicyName: "byom-capture-boundary",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: "s3:PutObject", Resource: "arn:aws:s3:::byom-artifacts/capture/*" },
        ],
      }),
    }),
  );
  for (const client of [ecs, elb, efs, iam, logs]) client.destroy();
  return {
    clusterArn,
    vpcId: network.vpcId,
    listenerArn: listener.Listeners?.[0]?.ListenerArn as string,
    endpointBaseUrl: "http://byom-scoring.internal",
    shadowListenerArn: undefined,
    shadowBaseUrl: undefined,
    subnetIds: network.subnetIds,
    securityGroupIds: [network.securityGroupId],
    alarmTopicArn: undefined,
    captureBoundaryArn: boundary.Policy?.Arn as string,
    bucketName: "byom-artifacts",
    executionRoleArn: "arn:aws:iam::123456789012:role/exec",
    taskRoleArn: "arn:aws:iam::123456789012:role/task",
    processorExecutionRoleArn: "arn:aws:iam::123456789012:role/processor-exec",
    processorTaskRoleArn: "arn:aws:iam::123456789012:role/processor-task",
    runtimeLogGroup: "runtime-logs",
    processorLogGroup: "processor-logs",
    fileSystemId,
    cpu: "1024",
    memory: "2048",
    region: "us-east-1",
  };
}
