import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Time-ordered identifiers (ULID-like, lower case): 10 characters of milliseconds then 16 random
 * ones, so lists sorted by id come out in creation order. `prefix` makes ids self-describing.
 */
export function newId(prefix: string): string {
  let time = Date.now();
  let timePart = "";
  for (let i = 0; i < 10; i++) {
    timePart = ALPHABET.charAt(time % 32) + timePart;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(16);
  let randomPart = "";
  for (const byte of random) randomPart += ALPHABET.charAt(byte % 32);
  return `${prefix}-${timePart}${randomPart}`;
}

export function nowIso(): string {
  return new Date().toISOString();
}
