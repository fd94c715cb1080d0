import { readFileSync } from "node:fs";
import { ClientError, UsageError } from "../../errors.ts";
import { csvToRequest, jsonToRequest, type ScoreRequest, score } from "../../scoring.ts";
import { defineCommand } from "../command.ts";
import { toCsv } from "../output.ts";
import { deploymentPositional, resolveDeploymentArgument } from "./deployments.ts";
import { projectOption } from "./resolve.ts";

export const scoreCommand = defineCommand({
  name: "score",
  summary: "Score rows from a CSV or JSON file with a deployment",
  description: [
    "--csv takes a header line of column names and one row per line; --json takes",
    '{"fields": [...], "rows": [[...]]} or an array of {column: value} objects.',
    "Prints the scores as a table, as CSV with --format csv, or the scorer's answer with --format json.",
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
    const request: ScoreRequest = csvFile
      ? csvToRequest(readInput(csvFile), csvFile)
      : jsonToRequest(parseJson(readInput(jsonFile as string), jsonFile as string), jsonFile as string);

    const { client, projectId, deploymentId } = await resolveDeploymentArgument(ctx);
    const deployment = await client.call("getDeployment", { params: { projectId, deploymentId } });
    if (!deployment.endpointUrl) {
      throw new ClientError(
        `Deployment ${deployment.name} is ${deployment.status} and has no endpoint yet.${deployment.failureReason ? ` ${deployment.failureReason}` : ""} Wait for HEALTHY: byom deployments show ${deploymentId} --project ${projectId}`,
      );
    }
    const result = await score(
      deployment.endpointUrl,
      ctx.flag("include-input") ? { ...request, includeFieldsInOutput: request.fields } : request,
      ctx.string("passphrase") ?? process.env.BYOM_PASSPHRASE,
    );
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
