import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { DELETE_STEP_HANDLERS, DEPLOY_STEP_HANDLERS } from "#lambdas/deployments/serving-contract.ts";

/**
 * The deploy and delete state machine definitions exactly as `cdk synth` writes them: the
 * constructs are synthesized in-process into a throwaway stack, and the CloudFormation tokens of
 * their DefinitionString are resolved to local names. Cached by the hash of the sources that shape
 * them, so only the first start after a change pays for loading aws-cdk-lib.
 */
export const LOCAL_ACCOUNT = "000000000000";
export const LOCAL_REGION = "us-east-1";
export const LOCAL_CLUSTER_ARN = `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:cluster/byom-local`;
export const localFunctionArn = (stateName: string) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:byom-${stateName}`;
export const localStateMachineArn = (name: "deploy" | "delete") =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:byom-${name}`;

export interface StateMachineDefinitions {
  readonly deploy: Record<string, unknown>;
  readonly delete: Record<string, unknown>;
}

const SOURCES = [
  "cdk/constructs/deploy-workflow.ts",
  "cdk/constructs/delete-workflow.ts",
  "lambdas/deployments/serving-contract.ts",
];

export async function stateMachineDefinitions(
  repoRoot: string,
  cacheDir: string,
): Promise<StateMachineDefinitions> {
  const hash = createHash("sha256");
  for (const source of SOURCES) hash.update(readFileSync(join(repoRoot, source)));
  const require = createRequire(join(repoRoot, "package.json"));
  hash.update(
    JSON.parse(readFileSync(require.resolve("aws-cdk-lib/package.json"), "utf8")).version as string,
  );
  const cacheFile = join(cacheDir, `definitions-${hash.digest("hex").slice(0, 16)}.json`);
  if (existsSync(cacheFile)) return JSON.parse(readFileSync(cacheFile, "utf8")) as StateMachineDefinitions;
  const definitions = await synthesize();
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(definitions, null, 2));
  return definitions;
}

async function synthesize(): Promise<StateMachineDefinitions> {
  const [{ App, Stack }, lambda, { DeployWorkflow }, { DeleteWorkflow }] = await Promise.all([
    import("aws-cdk-lib"),
    import("aws-cdk-lib/aws-lambda"),
    import("#cdk/constructs/deploy-workflow.ts"),
    import("#cdk/constructs/delete-workflow.ts"),
  ]);
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "ByomLocalWorkflows", {
    env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION },
  });
  const imported = <T extends Record<string, string>>(handlers: T) =>
    Object.fromEntries(
      Object.keys(handlers).map((name) => [
        name,
        lambda.Function.fromFunctionArn(stack, `Fn${name}`, localFunctionArn(name)),
      ]),
    ) as Record<keyof T, import("aws-cdk-lib/aws-lambda").IFunction>;
  const deploy = new DeployWorkflow(stack, "Deploy", {
    steps: imported(DEPLOY_STEP_HANDLERS),
    processorTasks: {
      clusterArn: LOCAL_CLUSTER_ARN,
      subnetIds: ["subnet-local"],
      securityGroupIds: ["sg-local"],
      taskDefinitionArns: [`arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:task-definition/*`],
      passRoleArns: [],
    },
  });
  const remove = new DeleteWorkflow(stack, "Delete", { steps: imported(DELETE_STEP_HANDLERS) });
  const template = app.synth().getStackArtifact(stack.artifactId).template as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const definitionOf = (logicalId: string) => {
    const resource = template.Resources[logicalId];
    if (!resource) throw new Error(`synthesized template has no ${logicalId}`);
    return JSON.parse(resolveTokens(resource.Properties.DefinitionString) as string) as Record<
      string,
      unknown
    >;
  };
  return {
    deploy: definitionOf(stack.getLogicalId(deploy.stateMachine.node.defaultChild as never)),
    delete: definitionOf(stack.getLogicalId(remove.stateMachine.node.defaultChild as never)),
  };
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  "AWS::Partition": "aws",
  "AWS::Region": LOCAL_REGION,
  "AWS::AccountId": LOCAL_ACCOUNT,
  "AWS::URLSuffix": "amazonaws.com",
};

/** Resolves the intrinsic functions CDK leaves in a definition to local names. */
export function resolveTokens(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(resolveTokens);
  const object = value as Record<string, unknown>;
  if ("Fn::Join" in object) {
    const [separator, parts] = object["Fn::Join"] as [string, unknown[]];
    return (resolveTokens(parts) as unknown[]).map(String).join(separator);
  }
  if ("Ref" in object) {
    const ref = object.Ref as string;
    return PSEUDO_PARAMETERS[ref] ?? `local-${ref}`;
  }
  if ("Fn::GetAtt" in object) {
    const [logicalId, attribute] = object["Fn::GetAtt"] as [string, string];
    return `local-${logicalId}-${attribute}`;
  }
  return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, resolveTokens(inner)]));
}
