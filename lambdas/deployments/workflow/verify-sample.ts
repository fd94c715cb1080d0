import { type SchemaColumnRef, SHADOW_HEADER } from "#lambdas/deployments/deployment-record.ts";
import type { ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";
import { describeTarget, pendingSlot } from "#lambdas/deployments/workflow/held-deployment.ts";
import type { BuildItem } from "#lambdas/deployments/workflow/workflow-io.ts";
import { DomainError } from "#lambdas/shared/errors.ts";

export class SampleScoreFailedError extends DomainError {
  readonly code = "SAMPLE_SCORE_FAILED";
}

/** H2O-style string values each column type converts from, as Byom's runtimes' own samples use. */
const SAMPLE_VALUES: Readonly<Record<string, string>> = {
  Boolean: "true",
  Time64: "2024-01-01T00:00:00Z",
  Float32: "0.5",
  Float64: "0.5",
  Int32: "1",
  Int64: "1",
  String: "a",
};

/** One row of the input schema, in the scorer API's request shape (docs/scorer-api.md). */
export function sampleRequestOf(schema: readonly SchemaColumnRef[]): { fields: string[]; rows: string[][] } {
  return {
    fields: schema.map((column) => column.name),
    rows: [schema.map((column) => SAMPLE_VALUES[column.type] ?? "a")],
  };
}

/** Scores the runtime's own sample request once, through the slot's rule (docs/deployments.md, Health). */
export async function verifySample(item: BuildItem, infra: ServingInfrastructure): Promise<BuildItem> {
  const { record, slot } = await pendingSlot(item);
  const base = await infra.slotEndpoint(item.deploymentId, slot);
  const what = describeTarget(slot.target);
  const sample = await fetch(`${base}/model/sample_request`, { signal: AbortSignal.timeout(10_000) });
  const protectedByPassphrase = record.security.mode === "passphrase";
  if (protectedByPassphrase) {
    // The workflow never holds the passphrase (only its hash): it checks that the runtime refuses
    // callers without it, which /readyz (healthy) does not show.
    const refused = await fetch(`${base}/model/score`, {
      method: "POST",
      headers: { "content-type": "application/json", [SHADOW_HEADER]: "verify" },
      body: "{}",
      signal: AbortSignal.timeout(10_000),
    });
    if (refused.status !== 401) {
      throw new SampleScoreFailedError(
        `${what} answers ${refused.status} without the passphrase; it must answer 401.`,
      );
    }
    return item;
  }
  // A runtime without GET /model/sample_request (the seed requires only schema and score) is
  // verified with one row built from the model's input schema.
  let body: string;
  if (sample.status === 404 || sample.status === 405)
    body = JSON.stringify(sampleRequestOf(slot.target.inputSchema));
  else if (!sample.ok)
    throw new SampleScoreFailedError(
      `${what}: GET /model/sample_request answered ${sample.status}: ${await sample.text()}`,
    );
  else body = await sample.text();
  const scored = await fetch(`${base}/model/score`, {
    method: "POST",
    headers: { "content-type": "application/json", [SHADOW_HEADER]: "verify" },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  if (!scored.ok) {
    throw new SampleScoreFailedError(
      `${what} failed to score its own sample request: ${scored.status} ${(await scored.text()).slice(0, 500)}`,
    );
  }
  return item;
}
