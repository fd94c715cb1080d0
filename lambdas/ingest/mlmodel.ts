import { parse as parseYaml } from "yaml";
import type { ModelDescription } from "#lambdas/artifacts/artifacts-repository.ts";
import { type ColumnType, MAX_SCHEMA_COLUMNS, type SchemaColumn } from "#lambdas/experiments/schema-rules.ts";
import { ArtifactRejectedError } from "./rejection.ts";
import type { ZipEntry } from "./zip-directory.ts";

/**
 * What an MLflow model's `MLmodel` file says, read as data (YAML, no tags executed, nothing
 * imported): flavors, Python version, loader module and the signature as a model schema. The
 * signature rules mirror the MLflow processor's (runtime-images/python/byom_ready/schema.py), so a
 * schema written at ingestion is the one the deployed model is served with.
 */
export const PYFUNC = "python_function";
export const MLMODEL_MAX_BYTES = 1024 * 1024;

const MLFLOW_TYPES: Readonly<Record<string, ColumnType>> = {
  boolean: "Boolean",
  integer: "Int32",
  long: "Int64",
  float: "Float32",
  double: "Float64",
  string: "String",
  datetime: "Time64",
};

const TENSOR_TYPES: Readonly<Record<string, ColumnType>> = {
  bool: "Boolean",
  int8: "Int32",
  int16: "Int32",
  int32: "Int32",
  int64: "Int64",
  uint8: "Int32",
  uint16: "Int32",
  uint32: "Int64",
  float16: "Float32",
  float32: "Float32",
  float64: "Float64",
  str: "String",
  object: "String",
};

export interface MlmodelReading {
  readonly description: ModelDescription;
  readonly inputSchema: SchemaColumn[] | null;
  readonly outputSchema: SchemaColumn[] | null;
  readonly notices: string[];
}

/**
 * Finds MLmodel at the zip's root or in its one top-level folder (how `zip -r model.zip model/`
 * lays it out). `__MACOSX/` resource forks are ignored.
 */
export function locateMlmodel(entries: readonly ZipEntry[]): ZipEntry {
  const files = entries.filter((e) => !e.isDirectory && !e.name.startsWith("__MACOSX/"));
  const root = files.find((e) => e.name === "MLmodel");
  if (root) return root;
  const nested = files.filter((e) => /^[^/]+\/MLmodel$/.test(e.name));
  const topFolders = new Set(files.filter((e) => e.name.includes("/")).map((e) => e.name.split("/")[0]));
  if (nested.length === 1 && topFolders.size === 1) return nested[0] as ZipEntry;
  if (nested.length > 1) {
    throw new ArtifactRejectedError(
      `The zip holds several MLflow models (${nested.map((e) => e.name).join(", ")}). Upload one model per artifact.`,
    );
  }
  const sample = files
    .slice(0, 5)
    .map((e) => e.name)
    .join(", ");
  throw new ArtifactRejectedError(
    `No MLmodel file in the zip: looked for 'MLmodel' at its root and '<folder>/MLmodel' in a single top-level folder (the zip holds ${files.length} file(s)${sample ? `, e.g. ${sample}` : ""}). Zip the directory that mlflow.<flavor>.save_model wrote, the one that contains MLmodel.`,
  );
}

export function readMlmodel(text: string, path: string): MlmodelReading {
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 100, prettyErrors: false });
  } catch (error) {
    throw new ArtifactRejectedError(
      `${path} is not valid YAML (${oneLine((error as Error).message)}). Save the model again with MLflow.`,
    );
  }
  if (!isObject(document) || !isObject(document.flavors) || Object.keys(document.flavors).length === 0) {
    throw new ArtifactRejectedError(
      `${path} declares no flavors: it is not an MLflow model. Save it with MLflow.`,
    );
  }
  const flavors = document.flavors;
  const pyfunc = flavors[PYFUNC];
  if (!isObject(pyfunc)) {
    throw new ArtifactRejectedError(
      `${path} has no ${PYFUNC} flavor (flavors: ${Object.keys(flavors).join(", ")}): Byom's Python runtimes load models through it. Save the model with an MLflow flavor that writes ${PYFUNC}.`,
    );
  }
  const native = Object.keys(flavors).filter((name) => name !== PYFUNC);
  const description: ModelDescription = {
    flavors: Object.keys(flavors),
    framework: native[0] ?? PYFUNC,
    pythonVersion: stringOrNull(pyfunc.python_version),
    loaderModule: stringOrNull(pyfunc.loader_module),
    mlflowVersion: stringOrNull(document.mlflow_version),
    mlmodelPath: path,
    hasSignature: isObject(document.signature) && document.signature.inputs !== undefined,
  };
  const signature = isObject(document.signature) ? document.signature : {};
  const inputSchema = signatureToSchema(signature.inputs, "inputs", "input");
  const outputSchema = signatureToSchema(signature.outputs, "outputs", "prediction");
  const notices: string[] = [];
  if (!inputSchema) {
    notices.push(
      "The MLmodel has no signature, so no schema was written. Set input_schema and output_schema with PATCH on the experiment before deploying it, or log the model with a signature.",
    );
  } else if (!outputSchema) {
    notices.push(
      "The MLmodel's signature has no outputs, so output_schema was not written. Set it with PATCH on the experiment before deploying it.",
    );
  }
  return { description, inputSchema, outputSchema, notices };
}

function signatureToSchema(
  raw: unknown,
  what: "inputs" | "outputs",
  defaultName: string,
): SchemaColumn[] | null {
  if (raw === undefined || raw === null) return null;
  let specs: unknown = raw;
  if (typeof raw === "string") {
    try {
      specs = JSON.parse(raw);
    } catch (error) {
      throw new ArtifactRejectedError(
        `The MLmodel signature ${what} is not valid JSON (${oneLine((error as Error).message)}). Log the model again with a signature.`,
      );
    }
  }
  if (!Array.isArray(specs) || specs.length === 0) {
    throw new ArtifactRejectedError(`The MLmodel signature ${what} must be a non-empty list of columns.`);
  }
  if (specs.length > MAX_SCHEMA_COLUMNS) tooWide(what, specs.length);
  const columns: SchemaColumn[] = [];
  for (const [index, spec] of specs.entries()) {
    const kind = isObject(spec) ? spec.type : undefined;
    if (kind === "tensor" && what === "outputs" && specs.length === 1) {
      return tensorOutputs(spec as Record<string, unknown>, defaultName);
    }
    if (kind === "tensor") {
      throw new ArtifactRejectedError(
        `The MLmodel signature ${what} is tensor-based, which is unsupported for tabular deployment: Byom serves named columns. Log the model with a column-based signature, e.g. mlflow.models.infer_signature(<pandas DataFrame>, <predictions>).`,
      );
    }
    const type = typeof kind === "string" ? MLFLOW_TYPES[kind] : undefined;
    const given = isObject(spec) && typeof spec.name === "string" && spec.name !== "" ? spec.name : undefined;
    if (!type) {
      throw new ArtifactRejectedError(
        `The MLmodel signature ${what}[${index}]${given ? ` ('${given}')` : ""} has type ${JSON.stringify(kind ?? null)}, which is unsupported for tabular deployment (supported: ${Object.keys(MLFLOW_TYPES).join(", ")}). Convert that column to one of these types before logging the model, or set the schema through metadata.`,
      );
    }
    const name = given ?? (specs.length === 1 ? defaultName : `${defaultName}.${index}`);
    if (columns.some((c) => c.name === name)) {
      throw new ArtifactRejectedError(`The MLmodel signature ${what} names the column '${name}' twice.`);
    }
    columns.push({ name, type });
  }
  return columns;
}

/** A single output tensor `[-1]` or `[-1, k]` is k prediction columns, as `predict` returns them. */
function tensorOutputs(spec: Record<string, unknown>, defaultName: string): SchemaColumn[] {
  const tensor = isObject(spec["tensor-spec"]) ? spec["tensor-spec"] : {};
  const type = TENSOR_TYPES[String(tensor.dtype)] ?? "Float64";
  const shape = Array.isArray(tensor.shape) ? tensor.shape : [-1];
  const second = shape[1];
  const width = shape.length === 2 && typeof second === "number" && second > 0 ? second : 1;
  if (width > MAX_SCHEMA_COLUMNS) tooWide("outputs", width);
  if (width === 1) return [{ name: defaultName, type }];
  return Array.from({ length: width }, (_, i) => ({ name: `${defaultName}.${i}`, type }));
}

/** Refused before anything that size is built: a hostile MLmodel must not exhaust the Lambda's memory. */
function tooWide(what: "inputs" | "outputs", width: number): never {
  throw new ArtifactRejectedError(
    `The MLmodel signature ${what} is ${width} columns wide; at most ${MAX_SCHEMA_COLUMNS} are supported for tabular deployment. Log the model with a narrower signature, or set the schema through metadata.`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return null;
}

function oneLine(text: string): string {
  return text.split(/\s+/).join(" ").slice(0, 300);
}
