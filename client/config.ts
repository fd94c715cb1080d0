import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ClientError } from "./errors.ts";
import { bearerAuth, type RequestAuth, sigV4Auth } from "./request-auth.ts";

/** Where the client sends requests and how it proves who it is. */
export interface ClientConfig {
  readonly mode: "local" | "aws";
  readonly apiUrl: string;
  readonly auth: RequestAuth;
  /** Where the CLI keeps its own state (resumable uploads): the local-mode data folder. */
  readonly home: string;
}

export interface ConfigInput {
  /** `--api-url`; falls back to BYOM_API_URL. */
  readonly apiUrl?: string | undefined;
  /** `--region`; falls back to AWS_REGION, AWS_DEFAULT_REGION, then the execute-api host name. */
  readonly region?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** What `.byom/local.json` holds (written by local mode on start; see local/platform.ts). */
interface LocalFile {
  readonly apiUrl: string;
  readonly token: string;
}

/**
 * No flags in local mode: the API URL and token come from `<BYOM_HOME or .byom>/local.json`. With
 * an API URL (flag or BYOM_API_URL) requests are signed with SigV4 from the standard AWS credential
 * chain, unless BYOM_TOKEN is set, which sends a bearer token instead (a local platform elsewhere).
 */
export function resolveConfig(input: ConfigInput = {}): ClientConfig {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const home = resolve(cwd, env.BYOM_HOME || ".byom");
  const apiUrl = input.apiUrl || env.BYOM_API_URL;

  if (apiUrl) {
    const url = parseApiUrl(apiUrl);
    if (env.BYOM_TOKEN) return { mode: "local", apiUrl: url, auth: bearerAuth(env.BYOM_TOKEN), home };
    const region = input.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || regionOfHost(url);
    if (!region) {
      throw new ClientError(
        `Cannot tell the AWS region of ${url}. Pass --region <region> or set AWS_REGION.`,
      );
    }
    return { mode: "aws", apiUrl: url, auth: sigV4Auth(region), home };
  }

  const file = join(home, "local.json");
  if (!existsSync(file)) {
    throw new ClientError(
      [
        `No Byom API is configured: ${file} does not exist.`,
        "For local mode, start it with `npm start` in the Byom folder (it writes .byom/local.json),",
        "or set BYOM_HOME to its data folder. For AWS, pass --api-url <your API URL> or set BYOM_API_URL.",
      ].join("\n"),
    );
  }
  let local: Partial<LocalFile>;
  try {
    local = JSON.parse(readFileSync(file, "utf8")) as Partial<LocalFile>;
  } catch (error) {
    throw new ClientError(
      `${file} is not valid JSON (${(error as Error).message}). Restart local mode to rewrite it.`,
    );
  }
  if (!local.apiUrl || !local.token) {
    throw new ClientError(`${file} has no apiUrl or token. Restart local mode to rewrite it.`);
  }
  return { mode: "local", apiUrl: parseApiUrl(local.apiUrl), auth: bearerAuth(local.token), home };
}

function parseApiUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClientError(
      `'${raw}' is not a URL. Pass the API's base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ClientError(`'${raw}' is not an http(s) URL.`);
  }
  return url.href.replace(/\/+$/, "");
}

/** `<api-id>.execute-api.<region>.amazonaws.com` names its region. */
function regionOfHost(apiUrl: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(new URL(apiUrl).hostname)?.[1];
}
