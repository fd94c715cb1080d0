import { Match } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { type SynthesizedApp, synthesize } from "../support/cdk.ts";

const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000";

describe("the Byom stack with an internet-facing HTTPS scoring endpoint, X-Ray, disposable data and endpoints in every AZ", () => {
  let synth: SynthesizedApp;
  beforeAll(() => {
    synth = synthesize({
      "byom:internetFacing": "true",
      "byom:certificateArn": CERTIFICATE,
      "byom:retainData": "false",
      "byom:tracing": "true",
      "byom:maxIntegrationTimeoutSeconds": "300",
      "byom:endpointsInEveryAz": "true",
    });
  });

  it("stays cdk-nag clean: the open scoring port is acknowledged because the operator asked for it", () => {
    expect(synth.unacknowledgedFindings).toEqual([]);
    expect(synth.unusedAcknowledgements).toEqual([]);
  });

  it("puts the ALB on the internet and serves scoring over HTTPS with the given certificate", () => {
    synth.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internet-facing",
    });
    synth.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 443,
      Protocol: "HTTPS",
      Certificates: [{ CertificateArn: CERTIFICATE }],
      DefaultActions: [Match.objectLike({ Type: "fixed-response" })],
    });
    synth.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      DefaultActions: [
        Match.objectLike({ Type: "redirect", RedirectConfig: Match.objectLike({ Port: "443" }) }),
      ],
    });
    synth.template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      GroupDescription: "Byom scoring ALB",
      SecurityGroupIngress: Match.arrayWith([
        Match.objectLike({ CidrIp: "0.0.0.0/0", FromPort: 443, ToPort: 443 }),
      ]),
    });
    expect(synth.template.toJSON().Outputs.ScoringUrl.Value["Fn::Join"][1][0]).toBe("https://");
  });

  it("has no shadow listener: runtimes in the isolated subnets cannot reach an internet-facing ALB", () => {
    expect(synth.stack.scoring.shadowListener).toBeUndefined();
    const listeners = Object.values(synth.template.findResources("AWS::ElasticLoadBalancingV2::Listener"));
    expect(listeners.map((l) => l.Properties.Port).sort()).toEqual([443, 80]);
    for (const fn of Object.values(synth.template.findResources("AWS::Lambda::Function"))) {
      expect(fn.Properties.Environment?.Variables?.SHADOW_LISTENER_ARN).toBeUndefined();
    }
  });

  it("puts every interface endpoint, the deployer's too, in every AZ", () => {
    const interfaces = Object.values(synth.template.findResources("AWS::EC2::VPCEndpoint")).filter(
      (e) => e.Properties.VpcEndpointType === "Interface",
    );
    expect(interfaces.length).toBe(6);
    for (const endpoint of interfaces) expect(endpoint.Properties.SubnetIds.length).toBe(2);
  });

  it("traces the API stage and every function with X-Ray", () => {
    synth.template.hasResourceProperties("AWS::ApiGateway::Stage", { TracingEnabled: true });
    for (const fn of synth.stack.api.functions.values()) {
      expect(synth.stack.resolve((fn.function.node.defaultChild as CfnFunction).tracingConfig)).toEqual({
        mode: "Active",
      });
    }
  });

  it("lets long routes keep the caller waiting up to the raised integration timeout", () => {
    synth.template.hasResourceProperties("AWS::ApiGateway::Method", {
      OperationName: "importMlflowModel",
      Integration: Match.objectLike({ TimeoutInMillis: 300_000 }),
    });
  });

  it("refuses a context value that is not a timeout", () => {
    expect(() => synthesize({ "byom:maxIntegrationTimeoutSeconds": "soon" })).toThrow(
      /byom:maxIntegrationTimeoutSeconds must be a whole number of seconds from 1 to 900, not 'soon'/,
    );
  });

  it("lets the table and buckets go with the stack when data is not retained", () => {
    synth.template.hasResource("AWS::DynamoDB::GlobalTable", {
      DeletionPolicy: "Delete",
      Properties: Match.objectLike({ Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })] }),
    });
    for (const bucket of Object.values(synth.template.findResources("AWS::S3::Bucket"))) {
      expect(bucket.DeletionPolicy).toBe("Delete");
    }
  });
});
