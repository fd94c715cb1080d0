import { randomBytes, scrypt } from "node:crypto";

/** scrypt cost parameters; docs/runtimes.md documents the format the runtime verifies. */
const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

/**
 * The salted hash a runtime gets in BYOM_PASSPHRASE_HASH: `scrypt$N$r$p$<salt-hex>$<key-hex>`.
 * The passphrase itself is never stored or logged.
 */
export function hashPassphrase(passphrase: string): Promise<string> {
  const salt = randomBytes(16);
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, KEY_BYTES, { N, r: R, p: P }, (error, key) => {
      if (error) reject(error);
      else resolve(`scrypt$${N}$${R}$${P}$${salt.toString("hex")}$${key.toString("hex")}`);
    });
  });
}
