import type { ResolvedTarget, Slot } from "#lambdas/deployments/deployment-record.ts";

/**
 * A deployment's first slot (position 0, revision 1) with an access point of its own, serving a
 * primary target that takes all the traffic; `target` gives the rest of that target's fields.
 */
export function primarySlot(target: Partial<ResolvedTarget>): Slot {
  return {
    slotId: "s0123456789ab",
    position: 0,
    revision: 1,
    resources: { accessPointId: "fsap-slot" },
    target: { role: "primary", weight: 100, ...target } as ResolvedTarget,
  };
}
