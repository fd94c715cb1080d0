import { H2O3_FRAMEWORK } from "#lambdas/catalog/builtin.ts";
import type { SchemaColumn } from "#lambdas/experiments/schema-rules.ts";
import { ArtifactRejectedError } from "./rejection.ts";
import type { RangeReader, ZipEntry } from "./zip-directory.ts";
import { readEntry } from "./zip-directory.ts";

/**
 * What an H2O-3 MOJO says about itself, read as data from its zip: `model.ini` ([info], [columns],
 * [domains]) and the response column's domain file. Its features become `input_schema` (a column
 * with a domain is categorical: String; the others are numbers: Float64, as H2O holds them) and its
 * predictions `output_schema` exactly as the MOJO runtime (runtime-images/mojo-runtime) answers
 * them: `predict`, then `<response>.<class>` per class for classifiers.
 */
export const MODEL_INI_MAX_BYTES = 1024 * 1024;
const DOMAIN_MAX_BYTES = 16 * 1024 * 1024;
/** What the built-in MOJO runtime serves (its MojoScorer.SERVED). */
const SERVED_CATEGORIES = ["Binomial", "Multinomial", "Regression"];

export interface MojoReading {
  readonly info: Readonly<Record<string, string>>;
  readonly inputSchema: SchemaColumn[] | null;
  readonly outputSchema: SchemaColumn[] | null;
  readonly metadata: Record<string, unknown>;
  readonly notices: string[];
}

export function locateModelIni(entries: readonly ZipEntry[]): ZipEntry {
  const ini = entries.find((e) => e.name === "model.ini");
  if (ini) return ini;
  if (entries.some((e) => e.name.endsWith("pipeline.mojo"))) {
    throw new ArtifactRejectedError(
      "The zip is a Driverless AI MOJO pipeline (it holds pipeline.mojo), not an H2O-3 MOJO. Upload it as type dai/mojo_pipeline.",
    );
  }
  throw new ArtifactRejectedError(
    "The zip has no model.ini at its root, so it is not an H2O-3 MOJO. Upload the zip that H2O-3 wrote (model.download_mojo() or model.save_mojo()), unchanged.",
  );
}

interface ModelIni {
  readonly info: Record<string, string>;
  readonly columns: string[];
  /** Column index → domain file name under domains/. */
  readonly domains: Map<number, string>;
}

export function parseModelIni(text: string): ModelIni {
  const info: Record<string, string> = {};
  const columns: string[] = [];
  const domains = new Map<number, string>();
  let section = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header?.[1]) {
      section = header[1];
    } else if (section === "info") {
      const eq = line.indexOf("=");
      if (eq > 0) info[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    } else if (section === "columns") {
      columns.push(raw.replace(/\r$/, ""));
    } else if (section === "domains") {
      const domain = /^(\d+):\s*\d+\s+(\S+)$/.exec(line);
      if (domain?.[1] && domain[2]) domains.set(Number(domain[1]), domain[2]);
    }
  }
  return { info, columns, domains };
}

export async function readMojo(
  read: RangeReader,
  entries: readonly ZipEntry[],
  ini: ZipEntry,
): Promise<MojoReading> {
  const parsed = parseModelIni((await readEntry(read, ini, MODEL_INI_MAX_BYTES)).toString("utf8"));
  const { info, columns, domains } = parsed;
  const features = Number(info.n_features);
  if (!info.h2o_version || !info.category || !Number.isInteger(features) || features < 1) {
    throw new ArtifactRejectedError(
      "model.ini lacks h2o_version, category or n_features: the zip is not an H2O-3 MOJO (or a damaged one). Export the model again with model.download_mojo().",
    );
  }
  if (columns.length < features) {
    throw new ArtifactRejectedError(
      `model.ini declares ${features} features but lists ${columns.length} columns: the MOJO is damaged. Export it again.`,
    );
  }
  const metadata: Record<string, unknown> = {
    framework: { string_value: H2O3_FRAMEWORK },
    h2o_version: { string_value: info.h2o_version },
    ...(info.mojo_version ? { mojo_version: { string_value: info.mojo_version } } : {}),
    ...(info.algorithm ? { h2o_algorithm: { string_value: info.algorithm } } : {}),
    h2o_model_category: { string_value: info.category },
  };
  const inputSchema: SchemaColumn[] = columns
    .slice(0, features)
    .map((name, index) => ({ name, type: domains.has(index) ? "String" : "Float64" }));
  if (new Set(inputSchema.map((c) => c.name)).size !== inputSchema.length) {
    throw new ArtifactRejectedError("model.ini names a feature twice: the MOJO is damaged. Export it again.");
  }
  if (!SERVED_CATEGORIES.includes(info.category)) {
    return {
      info,
      inputSchema,
      outputSchema: null,
      metadata,
      notices: [
        `This MOJO is a ${info.category} model (${info.algorithm ?? info.algo ?? "unknown algorithm"}); the built-in H2O-3 MOJO runtime serves ${SERVED_CATEGORIES.join(", ")} models, so no output_schema was written. Deploy it with a runtime of your own (POST /v1/catalog/runtimes).`,
      ],
    };
  }
  let outputSchema: SchemaColumn[];
  if (info.category === "Regression") {
    outputSchema = [{ name: "predict", type: "Float64" }];
  } else {
    const responseIndex = columns.length - 1;
    const response = columns[responseIndex] as string;
    const file = domains.get(responseIndex);
    const entry = file ? entries.find((e) => e.name === `domains/${file}`) : undefined;
    if (!entry) {
      throw new ArtifactRejectedError(
        `The MOJO is a ${info.category} model but holds no class levels for its response '${response}': it is damaged. Export it again.`,
      );
    }
    const levels = domainLevels((await readEntry(read, entry, DOMAIN_MAX_BYTES)).toString("utf8"), info);
    outputSchema = [
      { name: "predict", type: "String" },
      ...levels.map((level) => ({ name: `${response}.${level}`, type: "Float64" as const })),
    ];
  }
  return { info, inputSchema, outputSchema, metadata, notices: [] };
}

/** One level per line; with escape_domain_values H2O wrote `\n` and `\\` escaped. */
function domainLevels(text: string, info: Record<string, string>): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (info.escape_domain_values !== "true") return lines;
  return lines.map((line) => line.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c)));
}
