import { createReadStream, statSync } from "node:fs";
import { type ClientRequest, request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { ApiError, ClientError } from "./errors.ts";

/** A score request and answer of the scorer API (docs/scorer-api.md). */
export interface ScoreRequest {
  readonly fields: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
  /** Input columns to echo next to the scores. */
  readonly includeFieldsInOutput?: readonly string[];
}

export interface ScoreResponse {
  readonly id: string;
  readonly fields: string[];
  readonly score: string[][];
}

const scoreUrl = (endpointUrl: string) => `${endpointUrl.replace(/\/+$/, "")}/model/score`;
const authorization = (passphrase?: string) => (passphrase ? { authorization: `Bearer ${passphrase}` } : {});

function unreachable(url: string, error: unknown): ClientError {
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
  return new ClientError(
    `Cannot reach the deployment at ${url} (${cause ?? (error as Error).message}). Is it HEALTHY (byom deployments show)?`,
  );
}

/** A scorer's refusal as an error a person can act on: its `detail` as it is, and what to do. */
function refused(status: number, text: string): ApiError {
  let detail = text.trim().slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { detail?: unknown; error?: { message?: string } };
    detail = String(parsed.detail ?? parsed.error?.message ?? detail);
  } catch {
    // not JSON: keep the text
  }
  const hint =
    status === 401
      ? " This deployment needs its passphrase: pass --passphrase or set BYOM_PASSPHRASE."
      : status === 413
        ? " Send fewer rows per request."
        : "";
  return new ApiError(status, "SCORE_FAILED", `The scorer refused the request: ${detail}.${hint}`);
}

/** POSTs rows to `<endpointUrl>/model/score`; the scorer's `detail` messages are shown as they are. */
export async function score(
  endpointUrl: string,
  request: ScoreRequest,
  passphrase?: string,
): Promise<ScoreResponse> {
  const url = scoreUrl(endpointUrl);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...authorization(passphrase) },
      body: JSON.stringify(request),
    });
  } catch (error) {
    throw unreachable(url, error);
  }
  const text = await response.text();
  if (!response.ok) throw refused(response.status, text);
  return JSON.parse(text) as ScoreResponse;
}

/**
 * POSTs a CSV file as it is (`text/csv`), streamed from disk, and answers the scorer's response
 * as a stream in the `accept` format: the scorer reads CSV bodies batch by batch, so neither side
 * holds the file (docs/scorer-api.md). `Expect: 100-continue` lets the scorer refuse (a missing
 * passphrase, a body over its limit) before a byte of the body is sent; a server that ignores
 * it gets the body after a second, as curl does.
 */
export async function scoreCsvFile(
  endpointUrl: string,
  file: string,
  accept: string,
  passphrase?: string,
): Promise<IncomingMessage> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new ClientError(`File '${file}' does not exist or cannot be read. Check the path.`);
  }
  if (size === 0) throw new ClientError(`${file} is empty: it needs a header line of column names.`);
  const url = scoreUrl(endpointUrl);
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  let request: ClientRequest | undefined;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const sent = send(target, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "text/csv",
        "content-length": size,
        accept,
        expect: "100-continue",
        ...authorization(passphrase),
      },
    });
    request = sent;
    let sending = false;
    const sendBody = () => {
      if (sending) return;
      sending = true;
      const body = createReadStream(file);
      body.on("error", (error) => sent.destroy(error));
      body.pipe(sent);
    };
    const fallback = setTimeout(sendBody, 1000);
    sent.on("continue", () => {
      clearTimeout(fallback);
      sendBody();
    });
    sent.on("response", (answer) => {
      clearTimeout(fallback);
      resolve(answer);
    });
    sent.on("error", (error) => {
      clearTimeout(fallback);
      reject(unreachable(url, error));
    });
  });
  const status = response.statusCode ?? 502;
  if (status >= 200 && status < 300) return response;
  const text = await readText(response);
  request?.destroy(); // a refusal before (or while) the body went: the rest is not sent
  throw refused(status, text);
}

/** A whole answer stream as UTF-8 text. */
export async function readText(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** RFC 4180 CSV into rows of strings (quoted fields, doubled quotes, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (i < source.length) {
    const c = source[i] as string;
    if (quoted) {
      if (c === '"' && source[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      row.push(field);
      field = "";
      if (!(row.length === 1 && row[0] === "")) rows.push(row);
      row = [];
      if (c === "\r" && source[i + 1] === "\n") i++;
    } else field += c;
    i++;
  }
  if (quoted) throw new ClientError("The CSV ends inside a quoted field: a closing quote is missing.");
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** A CSV with a header line → score request; every row must have the header's length. */
export function csvToRequest(text: string, file: string): ScoreRequest {
  const [header, ...rows] = parseCsv(text);
  if (!header || header.length === 0)
    throw new ClientError(`${file} is empty: it needs a header line of column names.`);
  rows.forEach((row, i) => {
    if (row.length !== header.length) {
      throw new ClientError(
        `${file} line ${i + 2} has ${row.length} values; the header has ${header.length}.`,
      );
    }
  });
  if (rows.length === 0) throw new ClientError(`${file} has a header but no rows to score.`);
  return { fields: header, rows };
}

/** `{fields, rows}` as the scorer takes it, or an array of `{column: value}` objects. */
export function jsonToRequest(value: unknown, file: string): ScoreRequest {
  if (Array.isArray(value)) {
    if (value.length === 0) throw new ClientError(`${file} holds no rows.`);
    const fields: string[] = [];
    for (const row of value) {
      if (typeof row !== "object" || row === null || Array.isArray(row)) {
        throw new ClientError(`${file}: every row must be an object of column: value.`);
      }
      for (const key of Object.keys(row)) if (!fields.includes(key)) fields.push(key);
    }
    return {
      fields,
      rows: value.map((row) => fields.map((f) => (row as Record<string, unknown>)[f] ?? null)),
    };
  }
  const request = value as Partial<ScoreRequest> | null;
  if (request && Array.isArray(request.fields) && Array.isArray(request.rows)) {
    return { fields: request.fields, rows: request.rows };
  }
  throw new ClientError(
    `${file} must hold {"fields": [...], "rows": [[...]]} or an array of {column: value} objects.`,
  );
}
