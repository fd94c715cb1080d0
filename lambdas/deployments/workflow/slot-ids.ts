import { randomBytes } from "node:crypto";

/**
 * Slot ids name per-deployment cloud resources, whose names are short (an ALB target group name has
 * at most 32 characters): `s` plus 12 hex characters.
 */
export function newSlotId(): string {
  return `s${randomBytes(6).toString("hex")}`;
}
