import type { CfnElement } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import type { CfnListener } from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_PORT, SHADOW_PORT } from "#lambdas/deployments/serving-contract.ts";
import { egressRules, type SynthesizedApp, synthesize } from "../support/cdk.ts";
import { cfnLintErrors } from "../support/cfn-lint.ts";
import { checkovVenv, scanWithCheckov } from "../support/checkov.ts";

const ADMIN = "arn:aws:iam::123456789012:role/ByomAdmin";
const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000";

describe("the Byom stack with an internet-facing HTTPS scoring endpoint, X-Ray, disposable data and endpoints in every AZ", () => {
  let synth: SynthesizedApp;
  const logicalId = (element: unknown) => synth.stack.resolve((element as CfnElement).logicalId) as string;
  beforeAll(() => {
    checkovVenv().catch(() => {});
    synth = synthesize({
      "byom:internetFacing": "true",
      "byom:certificateArn": CERTIFICATE,
      "byom:retainData": "false",
      "byom:tracing": "true",
      "byom:endpointsInEveryAz": "true",
      "byom:longRunningConcurrency": "3",
      "byom:adminPrincipals": `${ADMIN}, arn:aws:iam::123456789012:user/ops`,
      "byom:mlflowAllowedHosts": "mlflow.internal",
    });
  }, 300_000);

  it("tells the catalog's write functions who the installation admins are, and only them", () => {
    const env = (operationId: string) => {
      const fn = synth.stack.api.functions.get(operationId);
      if (!fn) throw new Error(`no function for ${operationId}`);
      return synth.stack.resolve((fn.function.node.defaultChild as CfnFunction).environment)?.variables ?? {};
    };
    for (const operationId of ["addCatalogEntry", "deleteCatalogEntry"]) {
      expect(env(operationId).ADMIN_PRINCIPALS).toBe(`${ADMIN},arn:aws:iam::123456789012:user/ops`);
    }
    expect(env("listCatalogEntries").ADMIN_PRINCIPALS).toBeUndefined();
  });

  it("tells the import request, which checks the host, and the job worker, which connects, the hosts MLflow imports may reach; no other function", () => {
    const worker = synth.stack.jobs.worker.function.node.defaultChild as CfnFunction;
    expect(synth.stack.resolve(worker.environment)?.variables?.MLFLOW_ALLOWED_HOSTS).toBe("mlflow.internal");
    for (const [operationId, fn] of synth.stack.api.functions) {
      const variables = synth.stack.resolve(
        (fn.function.node.defaultChild as CfnFunction).environment,
      )?.variables;
      expect(variables?.MLFLOW_ALLOWED_HOSTS, operationId).toBe(
        operationId === "importMlflowModel" ? "mlflow.internal" : undefined,
      );
    }
  });

  it("refuses admin principals that are not IAM ARNs", () => {
    expect(() => synthesize({ "byom:adminPrincipals": "alice" })).toThrow(
      /byom:adminPrincipals lists IAM principal ARNs/,
    );
  });

  it("stays cdk-nag clean: the open scoring port is acknowledged because the operator asked for it", () => {
    expect(synth.unacknowledgedFindings).toEqual([]);
    expect(synth.unusedAcknowledgements).toEqual([]);
  });

  it("reports no cfn-lint errors on this template either (two ALBs, the shadow one internal)", async () => {
    const templatePath = synth.assembly.getStackArtifact(synth.stack.artifactId).templateFullPath;
    expect(await cfnLintErrors(templatePath)).toEqual([]);
  }, 900_000);

  it("has no checkov finding that is not acknowledged on this template either, and no acknowledgement that silences nothing", async () => {
    const report = await scanWithCheckov(
      synth.assembly.getStackArtifact(synth.stack.artifactId).templateFullPath,
    );
    expect(report.unacknowledged).toEqual([]);
    expect(report.unneeded).toEqual([]);
    expect(report.acknowledged).toBeGreaterThan(0);
  }, 900_000);

  it("serves HTTPS with TLS 1.2 or 1.3 only, and port 80 does nothing but redirect to it", () => {
    const { scoring } = synth.stack;
    const listeners = Object.values(synth.template.findResources("AWS::ElasticLoadBalancingV2::Listener"))
      .map((l) => l.Properties)
      .filter((p) => p.LoadBalancerArn.Ref === logicalId(scoring.loadBalancer.node.defaultChild));
    const byPort = Object.fromEntries(listeners.map((p) => [p.Port, p]));
    expect(Object.keys(byPort).sort()).toEqual(["443", "80"]);
    expect(byPort[443].Protocol).toBe("HTTPS");
    expect(byPort[443].SslPolicy).toBe("ELBSecurityPolicy-TLS13-1-2-2021-06");
    expect(byPort[80].Protocol).toBe("HTTP");
    expect(byPort[80].DefaultActions).toEqual([
      { Type: "redirect", RedirectConfig: { Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301" } },
    ]);
    // The listener the deployer adds deployments' rules to is the HTTPS one.
    expect(synth.stack.resolve((scoring.listener.node.defaultChild as CfnListener).port)).toBe(443);
  });

  it("tells the create-deployment function to refuse security mode none (no byom:allowUnauthenticatedScoring)", () => {
    const fn = synth.stack.api.functions.get("createDeployment");
    const props =
      synth.template.findResources("AWS::Lambda::Function")[logicalId(fn?.function.node.defaultChild)]
        ?.Properties;
    expect(props.Environment.Variables.UNAUTHENTICATED_SCORING).toBe("refused");
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

  it("puts the shadow listener on a second, internal ALB that only runtime tasks reach", () => {
    const { scoring } = synth.stack;
    expect(scoring.shadowLoadBalancer).not.toBe(scoring.loadBalancer);
    const balancers = synth.template.findResources("AWS::ElasticLoadBalancingV2::LoadBalancer");
    expect(
      Object.values(balancers)
        .map((b) => b.Properties.Scheme)
        .sort(),
    ).toEqual(["internal", "internet-facing"]);
    const shadowAlb = logicalId(scoring.shadowLoadBalancer.node.defaultChild);
    const shadowProps = balancers[shadowAlb]?.Properties;
    expect(shadowProps.Scheme).toBe("internal");
    // Access logs like the scoring ALB's, under their own prefix.
    expect(shadowProps.LoadBalancerAttributes).toEqual(
      expect.arrayContaining([
        { Key: "access_logs.s3.enabled", Value: "true" },
        { Key: "access_logs.s3.prefix", Value: "alb-shadow" },
        { Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" },
      ]),
    );

    const listeners = synth.template.findResources("AWS::ElasticLoadBalancingV2::Listener");
    const onScoringAlb = Object.values(listeners).filter(
      (l) => l.Properties.LoadBalancerArn.Ref === logicalId(scoring.loadBalancer.node.defaultChild),
    );
    expect(onScoringAlb.map((l) => l.Properties.Port).sort()).toEqual([443, 80]);
    const shadow = listeners[logicalId(scoring.shadowListener.node.defaultChild)]?.Properties;
    expect(shadow.LoadBalancerArn).toEqual({ Ref: shadowAlb });
    expect(shadow.Port).toBe(SHADOW_PORT);
    expect(shadow.Protocol).toBe("HTTP");
    expect(shadow.DefaultActions[0].FixedResponseConfig.StatusCode).toBe("404");

    // Its security group: in from runtime tasks on 8081 only, out to runtime tasks on 8080 only.
    const shadowSg = shadowProps.SecurityGroups[0]["Fn::GetAtt"][0];
    const runtimeSg = logicalId(scoring.runtimeSecurityGroup.node.defaultChild);
    const resources = synth.template.toJSON().Resources;
    expect(resources[shadowSg].Properties.SecurityGroupIngress ?? []).toEqual([]);
    const ingressRules = Object.values(synth.template.findResources("AWS::EC2::SecurityGroupIngress")).map(
      (r) => r.Properties,
    );
    expect(ingressRules.filter((p) => p.GroupId["Fn::GetAtt"]?.[0] === shadowSg)).toEqual([
      expect.objectContaining({
        IpProtocol: "tcp",
        FromPort: SHADOW_PORT,
        ToPort: SHADOW_PORT,
        SourceSecurityGroupId: { "Fn::GetAtt": [runtimeSg, "GroupId"] },
      }),
    ]);
    expect(ingressRules.filter((p) => p.FromPort === SHADOW_PORT)).toHaveLength(1);
    // Runtime tasks take the forwarded copies and health checks from it, on 8080.
    expect(
      ingressRules.filter(
        (p) =>
          p.GroupId["Fn::GetAtt"]?.[0] === runtimeSg &&
          p.SourceSecurityGroupId?.["Fn::GetAtt"]?.[0] === shadowSg,
      ),
    ).toEqual([expect.objectContaining({ FromPort: RUNTIME_PORT, ToPort: RUNTIME_PORT })]);
    const shadowEgress = Object.values(synth.template.findResources("AWS::EC2::SecurityGroupEgress"))
      .map((r) => r.Properties)
      .filter((p) => p.GroupId["Fn::GetAtt"]?.[0] === shadowSg);
    expect(shadowEgress).toEqual([
      expect.objectContaining({
        FromPort: RUNTIME_PORT,
        ToPort: RUNTIME_PORT,
        DestinationSecurityGroupId: { "Fn::GetAtt": [runtimeSg, "GroupId"] },
      }),
    ]);
    // Champions reach it on 8081 (besides EFS and AWS services, their only way out), never the public ALB.
    const runtimeEgress = egressRules(synth.template, runtimeSg);
    expect(runtimeEgress.filter((rule) => rule.startsWith(`tcp ${SHADOW_PORT}-`))).toEqual([
      `tcp ${SHADOW_PORT}-${SHADOW_PORT} to sg:${shadowSg}`,
    ]);
    expect(runtimeEgress).toHaveLength(4);
  });

  it("tells the deployer steps the shadow listener and its internal address, and lets them add rules to it", () => {
    const { scoring } = synth.stack;
    const shadowListener = logicalId(scoring.shadowListener.node.defaultChild);
    const shadowAlb = logicalId(scoring.shadowLoadBalancer.node.defaultChild);
    const steps = Object.values(synth.template.findResources("AWS::Lambda::Function")).filter((f) =>
      String(f.Properties.Description ?? "").startsWith("Byom deployer step"),
    );
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) {
      const env = step.Properties.Environment.Variables;
      expect(env.SHADOW_LISTENER_ARN).toEqual({ Ref: shadowListener });
      expect(env.LISTENER_ARN).not.toEqual({ Ref: shadowListener });
      const url = JSON.stringify(env.SHADOW_BASE_URL);
      expect(url).toContain(shadowAlb);
      expect(url).toContain(`:${SHADOW_PORT}`);
    }
    const policies = JSON.stringify(synth.template.findResources("AWS::IAM::Policy"));
    expect(policies).toContain(`{"Ref":"${shadowListener}"}`);
  });

  it("puts every interface endpoint, the deployer's too, in every AZ", () => {
    const interfaces = Object.values(synth.template.findResources("AWS::EC2::VPCEndpoint")).filter(
      (e) => e.Properties.VpcEndpointType === "Interface",
    );
    expect(interfaces.length).toBe(10);
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

  it("reserves concurrency for the job worker only, as byom:longRunningConcurrency says, and runs no more at once", () => {
    const worker = synth.stack.jobs.worker.function.node.defaultChild as CfnFunction;
    expect(synth.stack.resolve(worker.reservedConcurrentExecutions)).toBe(3);
    for (const fn of synth.stack.api.functions.values()) {
      expect(
        synth.stack.resolve((fn.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions),
      ).toBeUndefined();
    }
    synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalId(worker) },
      ScalingConfig: { MaximumConcurrency: 3 },
    });
    expect(() => synthesize({ "byom:longRunningConcurrency": "1" })).toThrow(
      /byom:longRunningConcurrency must be a whole number from 2 to 1000, not '1'/,
    );
  });

  it("keeps every route within API Gateway's 29 s: long work is a job", () => {
    for (const method of Object.values(synth.template.findResources("AWS::ApiGateway::Method"))) {
      const timeout = method.Properties.Integration?.TimeoutInMillis;
      if (timeout !== undefined) expect(timeout).toBeLessThanOrEqual(29_000);
    }
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
