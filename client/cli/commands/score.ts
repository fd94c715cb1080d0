import { readFileSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { ClientError, UsageError } from "../../errors.ts";
import {
  csvToRequest,
  jsonToRequest,
  readText,
  type ScoreRequest,
  type ScoreResponse,
  score,
  scoreCsvFile,
} from "../../scoring.ts";
import { type CommandContext, defineCommand } from "../command.ts";
import { toCsv } from "../output.ts";
import { findEntry } from "./catalog.ts";
import { deploymentPositional, resolveDeploymentArgument } from "./deployments.ts";
import { projectOption } from "./resolve.ts";

export const scoreCommand = defineCommand({
  name: "score",
  summary: "Score rows from a CSV or JSON file with a deployment",
  description: [
    "--csv takes a header line of column names and one row per line, sent as it is (text/csv,",
    "streamed: any size up to the scorer's columnar limit); --json takes",
    '{"fields": [...], "rows": [[...]]} or an array of {column: value} objects.',
    "Prints the scores as a table, as CSV with --format csv (the scorer's CSV answer, streamed, typed",
    "by the output schema), or the scorer's JSON answer with --format json.",
  ].join("\n"),
  positionals: [deploymentPositional],
  options: {
    ...projectOption,
    csv: { type: "string", placeholder: "file.csv", description: "Rows to score, CSV with a header" },
    json: { type: "string", placeholder: "rows.json", description: "Rows to score, as JSON" },
    "include-input": { type: "boolean", description: "Also print the input columns next to the scores" },
    format: { type: "string", placeholder: "table|csv|json", description: "Output format", default: "table" },
    passphrase: {
      type: "string",
      placeholder: "passphrase",
      description: "The deployment's passphrase, if it has one (or set BYOM_PASSPHRASE)",
    },
  },
  examples: [
    "byom score churn-v1 --project fraud --csv rows.csv",
    "byom score churn-v1 --project fraud --json rows.json --format csv > scores.csv",
  ],
  async run(ctx) {
    const csvFile = ctx.string("csv");
    const jsonFile = ctx.string("json");
    if ((csvFile === undefined) === (jsonFile === undefined)) {
      throw new UsageError("Give the rows with --csv <file> or --json <file> (one of them).", "score");
    }
    const format = ctx.string("format") ?? "table";
    if (format !== "table" && format !== "csv" && format !== "json") {
      throw new UsageError("--format is table, csv or json.", "score");
    }
    const includeInput = ctx.flag("include-input");
    const { client, projectId, deploymentId } = await resolveDeploymentArgument(ctx);
    const deployment = await client.call("getDeployment", { params: { projectId, deploymentId } });
    if (!deployment.endpointUrl) {
      throw new ClientError(
        `Deployment ${deployment.name} is ${deployment.status} and has no endpoint yet.${deployment.failureReason ? ` ${deployment.failureReason}` : ""} Wait for HEALTHY: byom deployments show ${deploymentId} --project ${projectId}`,
      );
    }
    // A CSV goes to the scorer as it is when every runtime serving the deployment takes CSV
    // bodies; otherwise (the H2O-3 MOJO runtime, images without `columnar`), or when input
    // columns are to be echoed (a JSON request's includeFieldsInOutput), it is read here and
    // sent as JSON rows.
    const streamed =
      csvFile !== undefined &&
      !includeInput &&
      (await takesCsv(
        ctx,
        deployment.serving.map((target) => target.runtime),
      ));
    const request: ScoreRequest | undefined = streamed
      ? undefined
      : csvFile
        ? csvToRequest(readInput(csvFile), csvFile)
        : jsonToRequest(parseJson(readInput(jsonFile as string), jsonFile as string), jsonFile as string);
    const passphrase = ctx.string("passphrase") ?? process.env.BYOM_PASSPHRASE;
    let result: ScoreResponse;
    if (request === undefined) {
      const csv = format === "csv";
      const answer = await scoreCsvFile(
        deployment.endpointUrl,
        csvFile as string,
        csv ? "text/csv" : "application/json",
        passphrase,
      );
      if (csv) {
        await pipeline(answer, process.stdout, { end: false });
        return;
      }
      result = JSON.parse(await readText(answer)) as ScoreResponse;
    } else {
      result = await score(
        deployment.endpointUrl,
        includeInput ? { ...request, includeFieldsInOutput: request.fields } : request,
        passphrase,
      );
    }
    if (format === "json") {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    ctx.out.result(result, () =>
      format === "csv"
        ? toCsv(result.fields, result.score)
        : ctx.out.table(
            result.score,
            result.fields.map((field, i) => ({ header: field, value: (row: string[]) => row[i] ?? "" })),
          ),
    );
  },
});

/** Whether every runtime named takes CSV bodies: its catalog entry has the `columnar` capability. */
async function takesCsv(ctx: CommandContext, runtimes: readonly string[]): Promise<boolean> {
  if (runtimes.length === 0) return false;
  for (const name of new Set(runtimes)) {
    const entry = await findEntry(ctx, "runtimes", name).catch(() => undefined);
    const capabilities = entry?.capabilities;
    if (!Array.isArray(capabilities) || !capabilities.includes("columnar")) return false;
  }
  return true;
}

function readInput(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new ClientError(`File '${file}' does not exist or cannot be read. Check the path.`);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ClientError(`${file} is not JSON (${(error as Error).message}).`);
  }
}
