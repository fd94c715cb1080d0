import type { CfnElement } from "aws-cdk-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { DELETE_STATES, DEPLOY_STATES } from "#lambdas/deployments/serving-contract.ts";
import { type SynthesizedApp, synthesize } from "../support/cdk.ts";

let synth: SynthesizedApp;
const logicalId = (element: unknown) => synth.stack.resolve((element as CfnElement).logicalId) as string;

/** A state machine's definition with every token replaced by a placeholder, parsed. */
function definitionOf(stateMachine: unknown): any {
  const resource = synth.template.toJSON().Resources[logicalId((stateMachine as any).node.defaultChild)];
  const parts = resource.Properties.DefinitionString["Fn::Join"][1] as unknown[];
  return JSON.parse(parts.map((p) => (typeof p === "string" ? p : "TOKEN")).join(""));
}

const policyStatementsOf = (roleLogicalId: string) =>
  Object.values(synth.template.findResources("AWS::IAM::Policy"))
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);

beforeAll(() => {
  synth = synthesize();
}, 300_000);

describe("the deployer in the synthesized stack", () => {
  it("writes the deploy workflow in JSONPath, with the processor as a retried runTask.sync and every failure caught", () => {
    const definition = definitionOf(synth.stack.deployer.deployWorkflow.stateMachine);
    expect(definition.QueryLanguage ?? "JSONPath").toBe("JSONPath");
    expect(JSON.stringify(definition)).not.toMatch(/"Assign"|JSONata/);
    const build = definition.States[DEPLOY_STATES.buildSlots];
    const processor = build.ItemProcessor.States[DEPLOY_STATES.runProcessor];
    expect(processor.Resource).toBe("arn:aws:states:::ecs:runTask.sync");
    expect(processor.Parameters.LaunchType).toBe("FARGATE");
    expect(processor.Parameters.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe("DISABLED");
    expect(processor.Retry[0].ErrorEquals).toContain("ECS.AmazonECSException");
    expect(processor.Retry[0].ErrorEquals).not.toContain("States.TaskFailed");
    for (const state of [DEPLOY_STATES.prepare, DEPLOY_STATES.buildSlots, DEPLOY_STATES.switchTraffic]) {
      expect(definition.States[state].Catch, state).toEqual([
        { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: DEPLOY_STATES.recordFailure },
      ]);
    }
    expect(definition.States[DEPLOY_STATES.recordFailure].Next).toBe(DEPLOY_STATES.failed);
    const choice = build.ItemProcessor.States[DEPLOY_STATES.runtimeReady];
    expect(choice.Default).toBe(DEPLOY_STATES.waitForRuntime);
  });

  it("deletes through Teardown (retried) then Forget, recording a failure", () => {
    const definition = definitionOf(synth.stack.deployer.deleteWorkflow.stateMachine);
    expect(definition.StartAt).toBe(DELETE_STATES.teardown);
    expect(definition.States[DELETE_STATES.teardown].Next).toBe(DELETE_STATES.forget);
    expect(definition.States[DELETE_STATES.teardown].Catch[0].Next).toBe(DELETE_STATES.recordFailure);
  });

  it("lets the deploy state machine run only the per-slot processor task definitions, in the scoring cluster", () => {
    const role = logicalId(synth.stack.deployer.deployWorkflow.stateMachine.role.node.defaultChild);
    const runTask = policyStatementsOf(role).find((s: any) => [s.Action].flat().includes("ecs:RunTask"));
    expect(runTask).toBeDefined();
    // Not the catalog's templates, which mount the shared access point: only what a slot registers.
    expect([runTask.Resource].flat()).toHaveLength(1);
    expect(JSON.stringify(runTask.Resource)).toContain(":task-definition/byom-*-processor:*");
    expect(runTask.Condition.ArnEquals["ecs:cluster"]).toBeDefined();
  });

  it("gives the deployments API the state machines, and only the changing operations the right to start them", () => {
    const functions = synth.template.findResources("AWS::Lambda::Function");
    for (const operation of [
      "createDeployment",
      "getDeployment",
      "listDeployments",
      "updateDeployment",
      "deleteDeployment",
    ]) {
      const fn = synth.stack.api.functions.get(operation);
      expect(fn, operation).toBeDefined();
      const env = functions[logicalId(fn?.function.node.defaultChild)]?.Properties.Environment.Variables;
      expect(env.DEPLOY_STATE_MACHINE_ARN, operation).toBeDefined();
      expect(env.DELETE_STATE_MACHINE_ARN, operation).toBeDefined();
      const statements = policyStatementsOf(logicalId(fn?.role.node.defaultChild));
      const starts = statements.some((s: any) => [s.Action].flat().includes("states:StartExecution"));
      expect(starts, operation).toBe(!operation.startsWith("get") && !operation.startsWith("list"));
    }
  });

  it("runs the step Lambdas in the isolated subnets with the models volume mounted", () => {
    const functions = Object.values(synth.template.findResources("AWS::Lambda::Function")).filter((f) =>
      String(f.Properties.Description ?? "").startsWith("Byom deployer step"),
    );
    expect(functions.length).toBe(13);
    for (const fn of functions) {
      expect(fn.Properties.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
      expect(fn.Properties.FileSystemConfigs[0].LocalMountPath).toBe("/mnt/models");
      expect(fn.Properties.Environment.Variables.MODELS_ROOT).toBe("/mnt/models");
    }
  });

  it("mounts the models volume in the steps as root through an access point of their own, and lets them make slot access points", () => {
    const points = synth.template.findResources("AWS::EFS::AccessPoint");
    const steps = points[logicalId(synth.stack.fileSystem.stepsAccessPoint.node.defaultChild)];
    expect(steps?.Properties.PosixUser).toEqual({ Uid: "0", Gid: "0" });
    expect(steps?.Properties.RootDirectory.Path).toBe("/models");
    const prepare = synth.stack.deployer.node.findChild("StepPrepare") as any;
    const fn =
      synth.template.findResources("AWS::Lambda::Function")[logicalId(prepare.function.node.defaultChild)];
    expect(fn?.Properties.FileSystemConfigs).toEqual([
      { Arn: expect.anything(), LocalMountPath: "/mnt/models" },
    ]);
    expect(JSON.stringify(fn?.Properties.FileSystemConfigs[0].Arn)).toContain(
      logicalId(synth.stack.fileSystem.stepsAccessPoint.node.defaultChild),
    );
    const statements = policyStatementsOf(logicalId(prepare.role.node.defaultChild));
    const create = statements.find((s: any) =>
      [s.Action].flat().includes("elasticfilesystem:CreateAccessPoint"),
    );
    expect(JSON.stringify(create.Resource)).toContain(
      logicalId(synth.stack.fileSystem.fileSystem.node.defaultChild),
    );
    const remove = statements.find((s: any) =>
      [s.Action].flat().includes("elasticfilesystem:DeleteAccessPoint"),
    );
    expect(remove.Condition).toEqual({ StringLike: { "aws:ResourceTag/byom:slot": "*" } });
    expect(JSON.stringify(statements)).toContain("elasticfilesystem:ClientRootAccess");
  });

  it("gives runtimes their passphrase hash through Secrets Manager: the execution role reads byom/ secrets, the steps manage them", () => {
    const deployer = synth.stack.deployer as any;
    const executionRole = deployer.node.findChild("RuntimeExecutionRole");
    const read = policyStatementsOf(logicalId(executionRole.node.defaultChild)).find((s: any) =>
      [s.Action].flat().includes("secretsmanager:GetSecretValue"),
    );
    expect(JSON.stringify(read.Resource)).toContain(":secret:byom/*");
    const prepare = deployer.node.findChild("StepStartRuntime");
    const manage = policyStatementsOf(logicalId(prepare.role.node.defaultChild)).find((s: any) =>
      [s.Action].flat().includes("secretsmanager:CreateSecret"),
    );
    expect([manage.Action].flat()).toEqual(
      expect.arrayContaining(["secretsmanager:DeleteSecret", "secretsmanager:PutSecretValue"]),
    );
    expect(JSON.stringify(manage.Resource)).toContain(":secret:byom/*");
    // The internal install lets deployments go without a passphrase.
    const create = synth.stack.api.functions.get("createDeployment");
    const env =
      synth.template.findResources("AWS::Lambda::Function")[logicalId(create?.function.node.defaultChild)]
        ?.Properties.Environment.Variables;
    expect(env.UNAUTHENTICATED_SCORING).toBe("allowed");
  });

  it("bounds capturing deployments' own roles: the steps create them only with the boundary, which allows capture/ writes and the models mount", () => {
    const deployer = synth.stack.deployer as any;
    const boundaryId = logicalId(deployer.captureBoundary.node.defaultChild);
    const boundary = synth.template.toJSON().Resources[boundaryId].Properties.PolicyDocument.Statement;
    expect(boundary.map((s: any) => [s.Action].flat().sort())).toEqual([
      ["s3:AbortMultipartUpload", "s3:PutObject"],
      ["elasticfilesystem:ClientMount"],
    ]);
    expect(JSON.stringify(boundary[0].Resource)).toContain("/capture/*");
    const start = deployer.node.findChild("StepStartRuntime");
    const statements = policyStatementsOf(logicalId(start.role.node.defaultChild));
    const create = statements.find((s: any) => [s.Action].flat().includes("iam:CreateRole"));
    expect([create.Action].flat().sort()).toEqual(["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole"]);
    expect(create.Condition).toEqual({ StringEquals: { "iam:PermissionsBoundary": { Ref: boundaryId } } });
    expect(JSON.stringify(create.Resource)).toContain(":role/byom/capture/*");
    const pass = statements.filter((s: any) => [s.Action].flat().includes("iam:PassRole"));
    expect(pass.some((s: any) => JSON.stringify(s.Resource).includes(":role/byom/capture/*"))).toBe(true);
    for (const s of pass)
      expect(s.Condition.StringEquals["iam:PassedToService"]).toBe("ecs-tasks.amazonaws.com");
    const env =
      synth.template.findResources("AWS::Lambda::Function")[logicalId(start.function.node.defaultChild)]
        ?.Properties.Environment.Variables;
    expect(env.CAPTURE_ROLE_BOUNDARY_ARN).toEqual({ Ref: boundaryId });
  });

  it("reaches EFS and Secrets Manager from the isolated subnets through interface endpoints", () => {
    const names = JSON.stringify(
      Object.values(synth.template.findResources("AWS::EC2::VPCEndpoint")).map(
        (e) => e.Properties.ServiceName,
      ),
    );
    expect(names).toContain(".elasticfilesystem");
    expect(names).toContain(".secretsmanager");
  });

  it("lets the steps register runtime services with Application Auto Scaling, and tells the API the replica limit", () => {
    const deployer = synth.stack.deployer as any;
    const start = deployer.node.findChild("StepStartRuntime");
    const statements = policyStatementsOf(logicalId(start.role.node.defaultChild));
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeregisterScalableTarget",
      ]),
    );
    const linked = statements.find((s: any) => [s.Action].flat().includes("iam:CreateServiceLinkedRole"));
    expect(linked.Condition).toEqual({
      StringLike: { "iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com" },
    });
    const create = synth.stack.api.functions.get("createDeployment");
    const env =
      synth.template.findResources("AWS::Lambda::Function")[logicalId(create?.function.node.defaultChild)]
        ?.Properties.Environment.Variables;
    expect(env.MAX_REPLICAS).toBe("10");
  });
});
