import { registryReader } from "#lambdas/deployments/registry-reader.ts";
import { DELETE_STATES, DEPLOY_STATES } from "#lambdas/deployments/serving-contract.ts";
import {
  checkRuntime,
  createTargetGroup,
  stageArtifact,
  startRuntime,
} from "#lambdas/deployments/workflow/build-slot.ts";
import { prepare } from "#lambdas/deployments/workflow/plan-slots.ts";
import { recordFailure } from "#lambdas/deployments/workflow/record-failure.ts";
import { retireSlots } from "#lambdas/deployments/workflow/retire-slots.ts";
import * as deleteSteps from "#lambdas/deployments/workflow/teardown.ts";
import { switchTraffic } from "#lambdas/deployments/workflow/traffic-rules.ts";
import { verifySample } from "#lambdas/deployments/workflow/verify-sample.ts";
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
    [DEPLOY_STATES.prepare]: (input) => prepare(input, registryReader, serving),
    [DEPLOY_STATES.stageArtifact]: (input) => stageArtifact(input, serving),
    [DEPLOY_STATES.createTargetGroup]: (input) => createTargetGroup(input, serving),
    [DEPLOY_STATES.startRuntime]: (input) => startRuntime(input, serving),
    [DEPLOY_STATES.checkRuntime]: (input) => checkRuntime(input, serving),
    [DEPLOY_STATES.verifySample]: (input) => verifySample(input, serving),
    [DEPLOY_STATES.switchTraffic]: (input) => switchTraffic(input, serving),
    [DEPLOY_STATES.retireSlots]: (input) => retireSlots(input, serving),
    [DEPLOY_STATES.recordFailure]: (input) => recordFailure(input, serving),
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
