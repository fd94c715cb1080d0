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

/** POSTs rows to `<endpointUrl>/model/score`; the scorer's `detail` messages are shown as they are. */
export async function score(
  endpointUrl: string,
  request: ScoreRequest,
  passphrase?: string,
): Promise<ScoreResponse> {
  const url = `${endpointUrl.replace(/\/+$/, "")}/model/score`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(passphrase ? { authorization: `Bearer ${passphrase}` } : {}),
      },
      body: JSON.stringify(request),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new ClientError(
      `Cannot reach the deployment at ${url} (${cause}). Is it HEALTHY (byom deployments show)?`,
    );
  }
  const text = await response.text();
  if (!response.ok) {
    let detail = text.trim().slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { detail?: unknown; error?: { message?: string } };
      detail = String(parsed.detail ?? parsed.error?.message ?? detail);
    } catch {
      // not JSON: keep the text
    }
    const hint =
      response.status === 401
        ? " This deployment needs its passphrase: pass --passphrase or set BYOM_PASSPHRASE."
        : response.status === 413
          ? " Send fewer rows per request."
          : "";
    throw new ApiError(response.status, "SCORE_FAILED", `The scorer refused the request: ${detail}.${hint}`);
  }
  return JSON.parse(text) as ScoreResponse;
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
