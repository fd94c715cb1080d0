import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Local mode's stand-in for IAM: bearer tokens mapped to principals `local:<user>`. Only SHA-256
 * hashes of the (256-bit random) tokens are stored, in `<home>/tokens.json`.
 */
interface TokenEntry {
  readonly principal: string;
  readonly sha256: string;
}

const fileOf = (home: string) => join(home, "tokens.json");
const hash = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

export function localPrincipal(user: string): string {
  return `local:${user}`;
}

/** Creates a user with a fresh token (replacing an earlier token of the same user); returns it. */
export function addLocalUser(home: string, user: string): { principal: string; token: string } {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(user)) {
    throw new Error(`User name '${user}' is not valid: use 1-64 letters, digits, '.', '_' or '-'.`);
  }
  const principal = localPrincipal(user);
  const token = `byom_${randomBytes(32).toString("base64url")}`;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const entries = readEntries(home).filter((entry) => entry.principal !== principal);
  entries.push({ principal, sha256: hash(token) });
  writeFileSync(fileOf(home), `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  return { principal, token };
}

/** Resolves tokens to principals, re-reading the file when it changes. */
export class TokenVerifier {
  private entries: TokenEntry[] = [];
  private loadedMtime = -1;

  constructor(private readonly home: string) {}

  principalOf(authorization: string | undefined): string | undefined {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!match?.[1]) return undefined;
    this.reloadIfChanged();
    const presented = Buffer.from(hash(match[1]), "hex");
    return this.entries.find((entry) => timingSafeEqual(Buffer.from(entry.sha256, "hex"), presented))
      ?.principal;
  }

  private reloadIfChanged(): void {
    const file = fileOf(this.home);
    const mtime = existsSync(file) ? statSync(file).mtimeMs : 0;
    if (mtime !== this.loadedMtime) {
      this.entries = readEntries(this.home);
      this.loadedMtime = mtime;
    }
  }
}

function readEntries(home: string): TokenEntry[] {
  const file = fileOf(home);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as TokenEntry[]) : [];
}
