import type { Slot } from "#lambdas/deployments/deployment-record.ts";

/**
 * The JSON the state machines pass between states (JSONPath). Kept small: steps read the
 * authoritative deployment item and only carry ids, counters and what the next state needs.
 */
export interface WorkflowInput {
  readonly projectId: string;
  readonly deploymentId: string;
  /** The execution's name; it holds the deployment (activeWorkflow) until it ends. */
  readonly workflowId: string;
}

export interface HealthWait {
  readonly attempts: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  /** Set by the first check: when the runtime has to be ready (epoch milliseconds). */
  readonly deadline?: number;
  readonly healthy: boolean;
  /** The last "not ready yet" detail recorded as an event, and how many were (bounded). */
  readonly reported?: string;
  readonly reports?: number;
}

export interface ProcessorRun {
  readonly taskDefinition: string;
  readonly containerName: string;
  readonly environment: ReadonlyArray<{ readonly Name: string; readonly Value: string }>;
}

/** One slot to build: an item of the BuildSlots Map. */
export interface BuildItem extends WorkflowInput {
  readonly slotId: string;
  readonly health: HealthWait;
  readonly processorRun?: ProcessorRun;
}

export interface PreparedDeploy extends WorkflowInput {
  readonly build: readonly BuildItem[];
  readonly drainSeconds: number;
}

export interface SwitchedDeploy extends WorkflowInput {
  readonly retire: readonly Slot[];
  readonly drainSeconds: number;
}

/** What a Catch puts at `$.error`. */
export interface StatesError {
  readonly Error?: string;
  readonly Cause?: string;
}

export interface FailedRun extends WorkflowInput {
  readonly error?: StatesError;
}
