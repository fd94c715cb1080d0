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
    const definition = definitionOf(synth.stack.servingWorkflows.deployWorkflow.stateMachine);
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
    const definition = definitionOf(synth.stack.servingWorkflows.deleteWorkflow.stateMachine);
    expect(definition.StartAt).toBe(DELETE_STATES.teardown);
    expect(definition.States[DELETE_STATES.teardown].Next).toBe(DELETE_STATES.forget);
    expect(definition.States[DELETE_STATES.teardown].Catch[0].Next).toBe(DELETE_STATES.recordFailure);
  });

  it("lets the deploy state machine run only the per-slot processor task definitions, in the scoring cluster", () => {
    const role = logicalId(synth.stack.servingWorkflows.deployWorkflow.stateMachine.role.node.defaultChild);
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
    const prepare = synth.stack.servingWorkflows.node.findChild("StepPrepare") as any;
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
    const deployer = synth.stack.servingWorkflows as any;
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
    const deployer = synth.stack.servingWorkflows as any;
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
    const deployer = synth.stack.servingWorkflows as any;
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

  it("lets the monitor list what the orphan sweep looks for, and remove it with the steps' rights", () => {
    const monitor = (synth.stack.servingWorkflows as any).node.findChild("StepMonitor");
    const statements = policyStatementsOf(logicalId(monitor.role.node.defaultChild));
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining([
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTags",
        "ecs:ListServices",
        "ecs:ListTaskDefinitionFamilies",
        "ecs:ListTaskDefinitions",
        "elasticfilesystem:DescribeAccessPoints",
        "secretsmanager:ListSecrets",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:DeleteRule",
        "ecs:DeleteService",
        "elasticfilesystem:DeleteAccessPoint",
        "secretsmanager:DeleteSecret",
      ]),
    );
    const listServices = statements.find((s: any) => [s.Action].flat().includes("ecs:ListServices"));
    expect(listServices.Condition.ArnEquals["ecs:cluster"]).toBeDefined();
    // Only the monitor lists: a deploy step has no ListServices.
    const start = (synth.stack.servingWorkflows as any).node.findChild("StepStartRuntime");
    const stepActions = policyStatementsOf(logicalId(start.role.node.defaultChild)).flatMap((s: any) =>
      [s.Action].flat(),
    );
    expect(stepActions).not.toContain("ecs:ListServices");
  });

  it("lets GET a deployment read its services' counts in this cluster and target health, no other API function", () => {
    const functions = synth.template.findResources("AWS::Lambda::Function");
    for (const operation of ["getDeployment", "listDeployments", "createDeployment"]) {
      const fn = synth.stack.api.functions.get(operation);
      const statements = policyStatementsOf(logicalId(fn?.role.node.defaultChild));
      const describe = statements.find((s: any) => [s.Action].flat().includes("ecs:DescribeServices"));
      const health = statements.find((s: any) =>
        [s.Action].flat().includes("elasticloadbalancing:DescribeTargetHealth"),
      );
      const env = functions[logicalId(fn?.function.node.defaultChild)]?.Properties.Environment.Variables;
      if (operation !== "getDeployment") {
        expect(describe, operation).toBeUndefined();
        expect(health, operation).toBeUndefined();
        continue;
      }
      expect(describe.Condition.ArnEquals["ecs:cluster"]).toBeDefined();
      expect(JSON.stringify(describe.Resource)).toContain(":service/*");
      expect([describe.Action].flat()).toEqual(["ecs:DescribeServices"]);
      expect([health.Action].flat()).toEqual(["elasticloadbalancing:DescribeTargetHealth"]);
      expect(env.CLUSTER_ARN).toBeDefined();
    }
  });
});

describe("catalog images in the synthesized stack", () => {
  const ecrStatements = (roleLogicalId: string) =>
    policyStatementsOf(roleLogicalId).filter((s: any) =>
      [s.Action].flat().some((a: string) => a.startsWith("ecr:")),
    );
  const resourcesText = (statement: any) => JSON.stringify(statement.Resource);

  it("lets the installation's runtime and processor execution roles pull only the built-ins' asset repository", () => {
    const roles = synth.template.findResources("AWS::IAM::Role");
    const executionRoles = Object.keys(roles).filter((id) => /(Runtime|Processor)ExecutionRole/.test(id));
    expect(executionRoles).toHaveLength(2);
    for (const role of executionRoles) {
      const statements = ecrStatements(role);
      const pull = statements.filter((s: any) => [s.Action].flat().includes("ecr:BatchGetImage"));
      expect(pull, role).toHaveLength(1);
      const resources = [pull[0].Resource].flat();
      // The CDK assets repository (one for every built-in); imported images have roles of their own.
      expect(resources, role).toHaveLength(1);
      expect(resourcesText(pull[0])).toContain("container-assets");
      expect(resourcesText(pull[0])).not.toContain("byom/images");
      expect(resourcesText(pull[0])).not.toMatch(/:repository\/\*"/);
      // Nothing but pulls; the token call is the one action without resource-level permissions.
      for (const s of statements) {
        const actions = [s.Action].flat();
        expect(
          actions.every((a: string) =>
            [
              "ecr:BatchGetImage",
              "ecr:GetDownloadUrlForLayer",
              "ecr:BatchCheckLayerAvailability",
              "ecr:GetAuthorizationToken",
            ].includes(a),
          ),
          role,
        ).toBe(true);
        if (s.Resource === "*") expect(actions).toEqual(["ecr:GetAuthorizationToken"]);
      }
    }
  });

  it("lets the catalog's add-entry function and the job worker push only under byom/images/ and read byom-registry/ secrets", () => {
    const functions = synth.template.findResources("AWS::Lambda::Function");
    for (const fn of [synth.stack.api.functions.get("addCatalogEntry"), synth.stack.jobs.worker]) {
      expect(fn).toBeDefined();
      const env = functions[logicalId(fn?.function.node.defaultChild)]?.Properties.Environment.Variables;
      expect(env.IMAGE_REPOSITORY_PREFIX).toBe("byom/images");
      expect(JSON.stringify(env.IMAGE_REGISTRY)).toContain(".dkr.ecr.");
      const statements = policyStatementsOf(logicalId(fn?.role.node.defaultChild));
      const push = statements.find((s: any) => [s.Action].flat().includes("ecr:PutImage"));
      expect(resourcesText(push)).toContain(":repository/byom/images/*");
      expect([push.Resource].flat()).toHaveLength(1);
      const secrets = statements.find((s: any) =>
        [s.Action].flat().includes("secretsmanager:GetSecretValue"),
      );
      expect(resourcesText(secrets)).toContain(":secret:byom-registry/*");
    }
    // Only those two may push images.
    const pushers = Object.values(synth.template.findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).includes("ecr:PutImage"),
    );
    expect(pushers).toHaveLength(2);
  });

  it("bounds imported images' own execution roles: created only with the boundary, passed only to ECS tasks", () => {
    const boundaryId = logicalId(synth.stack.catalogImages.imageRoleBoundary.node.defaultChild);
    const boundary = synth.template.toJSON().Resources[boundaryId].Properties.PolicyDocument.Statement;
    expect(boundary.map((s: any) => [s.Action].flat().sort())).toEqual([
      ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
      ["ecr:GetAuthorizationToken"],
      ["logs:CreateLogStream", "logs:PutLogEvents"],
      ["secretsmanager:GetSecretValue"],
    ]);
    // Pulls from this account's ECR only (an entry may name an in-account repository, not copied).
    expect(resourcesText(boundary[0])).toMatch(/:ecr:us-east-1:.*:repository\/\*"/);
    expect([boundary[0].Resource].flat()).toHaveLength(1);
    expect(boundary[1].Resource).toBe("*");
    expect([boundary[2].Resource].flat()).toHaveLength(2);
    expect(resourcesText(boundary[3])).toContain(":secret:byom/*");

    const functions = synth.template.findResources("AWS::Lambda::Function");
    const creators = [
      synth.stack.api.functions.get("addCatalogEntry"),
      synth.stack.jobs.worker,
      synth.stack.api.functions.get("deleteCatalogEntry"),
    ];
    for (const fn of creators) {
      expect(fn).toBeDefined();
      const env = functions[logicalId(fn?.function.node.defaultChild)]?.Properties.Environment.Variables;
      expect(env.IMAGE_ROLE_BOUNDARY_ARN).toEqual({ Ref: boundaryId });
      const statements = policyStatementsOf(logicalId(fn?.role.node.defaultChild));
      const create = statements.find((s: any) => [s.Action].flat().includes("iam:CreateRole"));
      expect([create.Action].flat().sort()).toEqual(["iam:CreateRole", "iam:PutRolePolicy", "iam:TagRole"]);
      expect(create.Condition).toEqual({ StringEquals: { "iam:PermissionsBoundary": { Ref: boundaryId } } });
      expect(resourcesText(create)).toContain(":role/byom/images/*");
      expect([create.Resource].flat()).toHaveLength(1);
      // No function may pass them; only the serving steps and the deploy state machine, below.
      expect(statements.some((s: any) => [s.Action].flat().includes("iam:PassRole"))).toBe(false);
    }
    // Only these three create roles under /byom/images/.
    const creating = Object.values(synth.template.findResources("AWS::IAM::Policy")).filter((p) =>
      p.Properties.PolicyDocument.Statement.some(
        (s: any) =>
          [s.Action].flat().includes("iam:CreateRole") && resourcesText(s).includes(":role/byom/images/"),
      ),
    );
    expect(creating).toHaveLength(3);

    const deployer = synth.stack.servingWorkflows as any;
    const start = deployer.node.findChild("StepStartRuntime");
    const machine = logicalId(deployer.deployWorkflow.stateMachine.role.node.defaultChild);
    for (const role of [logicalId(start.role.node.defaultChild), machine]) {
      const pass = policyStatementsOf(role).filter((s: any) => [s.Action].flat().includes("iam:PassRole"));
      expect(
        pass.some((s: any) => resourcesText(s).includes(":role/byom/images/*")),
        role,
      ).toBe(true);
      for (const s of pass)
        expect(s.Condition.StringEquals["iam:PassedToService"]).toBe("ecs-tasks.amazonaws.com");
    }
  });

  it("registers no processor task definition at synth: the workflow registers each from the catalog entry", () => {
    expect(Object.keys(synth.template.findResources("AWS::ECS::TaskDefinition"))).toEqual([]);
    const step = synth.template.findResources("AWS::Lambda::Function");
    const env = Object.values(step).find(
      (f) => f.Properties.Environment?.Variables?.PROCESSOR_EXECUTION_ROLE_ARN,
    )?.Properties.Environment.Variables;
    expect(env.PROCESSOR_TASK_ROLE_ARN).toBeDefined();
    expect(env.RUNTIME_IMAGES).toBeUndefined();
    expect(env.PROCESSOR_TASK_DEFINITIONS).toBeUndefined();
  });
});

describe("deployment monitoring in the synthesized stack", () => {
  const stepEnv = (state: string) => {
    const fn = (synth.stack.servingWorkflows as any).node.findChild(`Step${state}`);
    return synth.template.findResources("AWS::Lambda::Function")[logicalId(fn.function.node.defaultChild)]
      ?.Properties.Environment.Variables;
  };

  it("lets the steps put and delete only byom-* alarms, reached through a monitoring endpoint", () => {
    for (const state of ["SwitchTraffic", "Teardown"]) {
      const fn = (synth.stack.servingWorkflows as any).node.findChild(`Step${state}`);
      const statements = policyStatementsOf(logicalId(fn.role.node.defaultChild));
      const alarms = statements.filter((s: any) =>
        [s.Action].flat().some((a: string) => a.startsWith("cloudwatch:")),
      );
      expect(alarms, state).toHaveLength(1);
      expect([alarms[0].Action].flat().sort()).toEqual([
        "cloudwatch:DeleteAlarms",
        "cloudwatch:PutMetricAlarm",
      ]);
      expect(JSON.stringify(alarms[0].Resource)).toMatch(/:cloudwatch:.*:alarm:byom-\*"/);
    }
    // Without byom:alarmTopicArn the alarms change state and notify nobody.
    expect(stepEnv("SwitchTraffic").ALARM_TOPIC_ARN).toBe("");
    const services = Object.values(synth.template.findResources("AWS::EC2::VPCEndpoint")).map((e) =>
      JSON.stringify(e.Properties.ServiceName),
    );
    expect(services.some((name) => name.includes(".monitoring"))).toBe(true);
  });

  it("lets the metrics route read metrics and nothing else of CloudWatch", () => {
    const metrics = synth.stack.api.functions.get("getDeploymentMetrics");
    const statements = policyStatementsOf(logicalId(metrics?.role.node.defaultChild));
    const cloudwatch = statements.filter((s: any) => JSON.stringify(s.Action).includes("cloudwatch:"));
    expect(cloudwatch).toEqual([
      expect.objectContaining({ Action: "cloudwatch:GetMetricData", Resource: "*" }),
    ]);
    // The other API functions get no CloudWatch permission.
    const show = synth.stack.api.functions.get("getDeployment");
    expect(JSON.stringify(policyStatementsOf(logicalId(show?.role.node.defaultChild)))).not.toContain(
      "cloudwatch:",
    );
    expect(synth.unacknowledgedFindings).toEqual([]);
  });
});
