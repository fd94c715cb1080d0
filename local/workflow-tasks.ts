import * as deleteSteps from "#lambdas/deployer/delete-steps.ts";
import * as deploySteps from "#lambdas/deployer/deploy-steps.ts";
import { registryReader } from "#lambdas/deployer/registry-reader.ts";
import { DELETE_STATES, DEPLOY_STATES } from "#lambdas/deployer/workflow-states.ts";
import { type LocalServing, StatesTaskError } from "./local-serving.ts";

type TaskHandler = (input: never) => Promise<unknown>;
type LocalHandler = (input: unknown) => Promise<unknown>;

/**
 * Every Task state of the deploy and delete workflows bound to the function its Lambda handler
 * calls, with local mode's infrastructure port in place of ECS and the ALB. Errors leave as a Lambda
 * error reaches Step Functions: `Error` is the error's name, `Cause` the JSON Lambda reports.
 */
export function localTaskHandlers(serving: LocalServing): Record<string, LocalHandler> {
  const handlers: Record<string, TaskHandler> = {
    [DEPLOY_STATES.prepare]: (input) => deploySteps.prepare(input, registryReader, serving),
    [DEPLOY_STATES.stageArtifact]: (input) => deploySteps.stageArtifact(input),
    [DEPLOY_STATES.createTargetGroup]: (input) => deploySteps.createTargetGroup(input, serving),
    [DEPLOY_STATES.startRuntime]: (input) => deploySteps.startRuntime(input, serving),
    [DEPLOY_STATES.checkRuntime]: (input) => deploySteps.checkRuntime(input, serving),
    [DEPLOY_STATES.verifySample]: (input) => deploySteps.verifySample(input, serving),
    [DEPLOY_STATES.switchTraffic]: (input) => deploySteps.switchTraffic(input, serving),
    [DEPLOY_STATES.retireSlots]: (input) => deploySteps.retireSlots(input, serving),
    [DEPLOY_STATES.recordFailure]: (input) => deploySteps.recordFailure(input, serving),
    [DELETE_STATES.teardown]: (input) => deleteSteps.teardown(input, serving),
    [DELETE_STATES.forget]: (input) => deleteSteps.forget(input),
    [DELETE_STATES.recordFailure]: (input) => deleteSteps.recordTeardownFailure(input, serving),
  };
  const asLambda = Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (input: unknown) => {
        try {
          return await handler(input as never);
        } catch (error) {
          const name = (error as Error).name || "Error";
          throw new StatesTaskError(
            name,
            JSON.stringify({ errorType: name, errorMessage: (error as Error).message ?? String(error) }),
          );
        }
      },
    ]),
  );
  return {
    ...asLambda,
    [DEPLOY_STATES.runProcessor]: (input) => serving.runProcessorTask(input as Record<string, unknown>),
  };
}
