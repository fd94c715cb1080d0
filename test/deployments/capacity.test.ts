import { describe, expect, it } from "vitest";
import {
  DEFAULT_RESOURCES,
  desiredReplicas,
  FARGATE_CPU,
  resolveResources,
  validMemoryMiB,
} from "#lambdas/deployments/capacity.ts";
import { ValidationFailedError } from "#lambdas/shared/errors.ts";
import { errorResponse } from "#lambdas/shared/http/error-response.ts";

const PATH = "body.targets.0.resources";
const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailedError);
    const response = errorResponse(error);
    return { status: response.statusCode, body: JSON.parse(response.body) };
  }
  throw new Error("expected a refusal");
};

describe("a target's resources", () => {
  it("default to today's size: 1 vCPU, 2048 MiB, one replica", () => {
    expect(resolveResources(undefined, 10, PATH)).toEqual(DEFAULT_RESOURCES);
    expect(DEFAULT_RESOURCES).toEqual({ cpu: "1", memoryMiB: 2048, replicas: { min: 1, max: 1 } });
  });

  it("fill in what is left out: the smallest valid memory for the cpu, max from min", () => {
    expect(resolveResources({ cpu: "4" }, 10, PATH)).toEqual({
      cpu: "4",
      memoryMiB: 8192,
      replicas: { min: 1, max: 1 },
    });
    expect(resolveResources({ cpu: "0.25", replicas: { min: 2 } }, 10, PATH)).toEqual({
      cpu: "0.25",
      memoryMiB: 2048,
      replicas: { min: 2, max: 2 },
    });
    expect(resolveResources({ replicas: { max: 4 } }, 10, PATH).replicas).toEqual({ min: 1, max: 4 });
  });

  it("follow Fargate's table of sizes", () => {
    expect(FARGATE_CPU).toEqual(["0.25", "0.5", "1", "2", "4", "8", "16"]);
    expect(validMemoryMiB("0.25")).toEqual([512, 1024, 2048]);
    expect(validMemoryMiB("1")).toEqual([2048, 3072, 4096, 5120, 6144, 7168, 8192]);
    expect(validMemoryMiB("8").at(0)).toBe(16384);
    expect(validMemoryMiB("8").at(-1)).toBe(61440);
    expect(validMemoryMiB("16").at(-1)).toBe(122880);
    expect(validMemoryMiB("16")).not.toContain(36864);
  });

  it("refuse a memory size Fargate does not run with the cpu: 400 naming the valid ones", () => {
    const { status, body } = refusal(() => resolveResources({ cpu: "0.25", memoryMiB: 4096 }, 10, PATH));
    expect(status).toBe(400);
    expect(body.error.message).toBe(
      "Fargate runs 0.25 vCPU with 512, 1024, 2048 MiB of memory; 4096 MiB is not one of them.",
    );
    expect(body.error.details).toEqual([
      expect.objectContaining({ path: "body.targets.0.resources.memoryMiB" }),
    ]);
  });

  it("refuse min above max, and max above the installation's limit, naming the context value", () => {
    const swapped = refusal(() => resolveResources({ replicas: { min: 3, max: 2 } }, 10, PATH));
    expect(swapped.status).toBe(400);
    expect(swapped.body.error.message).toBe("replicas.min (3) is above replicas.max (2).");
    const over = refusal(() => resolveResources({ replicas: { min: 1, max: 11 } }, 10, PATH));
    expect(over.status).toBe(400);
    expect(over.body.error.message).toMatch(/above this installation's limit of 10 .*byom:maxReplicas/);
    expect(resolveResources({ replicas: { min: 1, max: 10 } }, 10, PATH).replicas.max).toBe(10);
  });
});

describe("the scaling rule (target tracking, the same on AWS and locally)", () => {
  const base = {
    replicas: { min: 2, max: 5 },
    current: 2,
    targetPerReplica: 2,
    sinceLastChangeMs: 1_000_000,
    cooldownsMs: { scaleOut: 60_000, scaleIn: 300_000 },
  };
  it("asks for enough replicas that each carries its target, within min..max", () => {
    expect(desiredReplicas({ ...base, load: 0 })).toBe(2);
    expect(desiredReplicas({ ...base, load: 7 })).toBe(4);
    expect(desiredReplicas({ ...base, load: 100 })).toBe(5);
    // A fresh service (0 asked for) starts at min; a count outside new bounds is clamped.
    expect(desiredReplicas({ ...base, current: 0, load: 0 })).toBe(2);
    expect(desiredReplicas({ ...base, current: 9, load: 100 })).toBe(5);
  });
  it("scales out once the scale-out cooldown has passed", () => {
    expect(desiredReplicas({ ...base, load: 7, sinceLastChangeMs: 59_999 })).toBe(2);
    expect(desiredReplicas({ ...base, load: 7, sinceLastChangeMs: 60_000 })).toBe(4);
  });
  it("scales in one at a time, after the longer cooldown, with headroom", () => {
    const four = { ...base, current: 4 };
    expect(desiredReplicas({ ...four, load: 0, sinceLastChangeMs: 299_999 })).toBe(4);
    expect(desiredReplicas({ ...four, load: 0 })).toBe(3);
    // 5.5 in flight needs 3 at the target, but not with 10 % headroom below it: stays at 4.
    expect(desiredReplicas({ ...four, load: 5.5 })).toBe(4);
    expect(desiredReplicas({ ...four, load: 5.3 })).toBe(3);
  });
});
