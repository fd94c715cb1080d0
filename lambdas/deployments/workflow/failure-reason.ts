import type { ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";
import type { StatesError } from "#lambdas/deployments/workflow/workflow-io.ts";

/** A reason a person can act on, from a States error: a Lambda error, an ECS task, a timeout. */
export async function failureReasonOf(
  error: StatesError | undefined,
  infra: ServingInfrastructure,
): Promise<string> {
  if (!error) return "The workflow failed without an error.";
  const cause = error.Cause ?? "";
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(cause) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed.errorMessage === "string") return parsed.errorMessage;
  const task = parsed && (parsed.TaskArn ?? parsed.taskArn);
  if (typeof task === "string") {
    const containers = (parsed?.Containers ?? parsed?.containers ?? []) as Array<Record<string, unknown>>;
    const container = containers[0] ?? {};
    const exitCode = container.ExitCode ?? container.exitCode;
    const tail = await infra
      .processorLogTail(task, String(container.Name ?? container.name ?? ""))
      .catch(() => undefined);
    // A pull failure (CannotPullContainerError) logs nothing: ECS's stoppedReason and the
    // container's reason say why.
    const stopped = [parsed?.StoppedReason ?? parsed?.stoppedReason, container.Reason ?? container.reason]
      .filter((r): r is string => typeof r === "string" && r !== "")
      .join("; ");
    return `The artifact processor failed${exitCode !== undefined ? ` (exit code ${String(exitCode)})` : ""}: ${tail ?? (stopped || "no reason was logged")}`;
  }
  if (error.Error === "States.Timeout") return `A workflow step timed out: ${cause || "no detail"}.`;
  return cause ? `${error.Error ?? "Error"}: ${cause}` : (error.Error ?? "unknown error");
}
