import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { locateMlmodel, readMlmodel } from "#lambdas/ingest/mlmodel.ts";
import { ArtifactRejectedError } from "#lambdas/ingest/rejection.ts";
import {
  type RangeReader,
  readCentralDirectory,
  readEntry,
  type ZipLimits,
} from "#lambdas/ingest/zip-directory.ts";
import { run } from "#local/processes.ts";
import { mlflowZips } from "../support/artifacts.ts";
import { buildZip, MINIMAL_MLMODEL } from "../support/zip-builder.ts";

const LIMITS: ZipLimits = {
  maxEntries: 1000,
  maxTotalUncompressedBytes: 1024 ** 3,
  maxCompressionRatio: 200,
  ratioFloorBytes: 1024 ** 2,
  maxCentralDirectoryBytes: 1024 ** 2,
};

/** A reader over a buffer that records every range asked for. */
function rangeReader(bytes: Buffer): RangeReader & { ranges: Array<[number, number]> } {
  const ranges: Array<[number, number]> = [];
  const read = (async (start: number, end: number) => {
    ranges.push([start, end]);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeLessThan(bytes.length);
    return bytes.subarray(start, end + 1);
  }) as RangeReader & { ranges: Array<[number, number]> };
  read.ranges = ranges;
  return read;
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ArtifactRejectedError);
  return (error as Error).message;
}

describe("zip central-directory reader", () => {
  it("reads a real MLflow zip's directory and its MLmodel through a few explicit ranges", async () => {
    const bytes = readFileSync((await mlflowZips()).column);
    const read = rangeReader(bytes);
    const entries = await readCentralDirectory(read, bytes.length, LIMITS);
    expect(entries.map((e) => e.name)).toContain("MLmodel");
    const mlmodel = locateMlmodel(entries);
    const text = (await readEntry(read, mlmodel, 1024 ** 2)).toString("utf8");
    expect(text).toContain("loader_module: mlflow.sklearn");
    expect(read.ranges.length).toBeLessThanOrEqual(4);
  }, 600_000);

  it("reads ZIP64 records, and Python's zipfile agrees the archive is valid", async () => {
    const bytes = buildZip(
      [
        { name: "model/MLmodel", data: Buffer.from(MINIMAL_MLMODEL) },
        { name: "model/model.pkl", data: Buffer.alloc(5000, 7), method: 0 },
      ],
      { zip64: true },
    );
    const entries = await readCentralDirectory(rangeReader(bytes), bytes.length, LIMITS);
    expect(entries.map((e) => [e.name, e.uncompressedSize])).toEqual([
      ["model/MLmodel", MINIMAL_MLMODEL.length],
      ["model/model.pkl", 5000],
    ]);
    const text = await readEntry(rangeReader(bytes), locateMlmodel(entries), 1024);
    expect(text.toString()).toBe(MINIMAL_MLMODEL);

    const file = join(mkdtempSync(join(tmpdir(), "byom-zip64-")), "z.zip");
    writeFileSync(file, bytes);
    const out = await run("python3", [
      "-c",
      "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(len(z.read('model/model.pkl')))",
      file,
    ]);
    expect(out.trim()).toBe("5000");
  });

  it("refuses bytes that are not a zip, and a truncated zip", async () => {
    const random = Buffer.from("this is not a zip archive at all, just text".repeat(10));
    expect(await rejection(readCentralDirectory(rangeReader(random), random.length, LIMITS))).toContain(
      "not a readable zip archive",
    );
    const zip = buildZip([{ name: "MLmodel", data: Buffer.from(MINIMAL_MLMODEL) }]);
    const cut = zip.subarray(0, zip.length - 10);
    expect(await rejection(readCentralDirectory(rangeReader(cut), cut.length, LIMITS))).toContain(
      "no end-of-central-directory record",
    );
  });

  it("refuses path escapes, symbolic links and bombs before inflating anything", async () => {
    for (const name of [
      "../evil.py",
      "model/../../evil.py",
      "/etc/cron.d/evil",
      "C:\\evil.py",
      "a\\..\\..\\b",
    ]) {
      const zip = buildZip([
        { name: "MLmodel", data: Buffer.from(MINIMAL_MLMODEL) },
        { name, data: Buffer.from("x") },
      ]);
      expect(await rejection(readCentralDirectory(rangeReader(zip), zip.length, LIMITS))).toContain(
        "zip-slip",
      );
    }
    const link = buildZip([
      { name: "MLmodel", data: Buffer.from(MINIMAL_MLMODEL) },
      { name: "data", data: Buffer.from("/etc/passwd"), unixMode: 0o120777 },
    ]);
    expect(await rejection(readCentralDirectory(rangeReader(link), link.length, LIMITS))).toContain(
      "symbolic link",
    );
    const bomb = buildZip([
      { name: "MLmodel", data: Buffer.from(MINIMAL_MLMODEL) },
      { name: "weights.bin", data: Buffer.alloc(16 * 1024 ** 2) },
    ]);
    expect(await rejection(readCentralDirectory(rangeReader(bomb), bomb.length, LIMITS))).toMatch(
      /ratio \d+:1, limit 200:1\): refused as a likely zip bomb/,
    );
    const large = buildZip([{ name: "a.bin", data: Buffer.alloc(2 * 1024 ** 2, 1), method: 0 }]);
    const total = await rejection(
      readCentralDirectory(rangeReader(large), large.length, {
        ...LIMITS,
        maxTotalUncompressedBytes: 1024 ** 2,
      }),
    );
    expect(total).toContain("expands to 2097152 bytes");
  });
});

describe("MLmodel reading", () => {
  it("maps a column signature and names unnamed outputs 'prediction'", () => {
    const reading = readMlmodel(MINIMAL_MLMODEL, "MLmodel");
    expect(reading.inputSchema).toEqual([{ name: "x", type: "Float64" }]);
    expect(reading.outputSchema).toEqual([{ name: "prediction", type: "Int64" }]);
    expect(reading.description).toMatchObject({ framework: "sklearn", loaderModule: "mlflow.sklearn" });
    expect(reading.notices).toEqual([]);
  });

  it("maps every MLflow column type", () => {
    const types = ["boolean", "integer", "long", "float", "double", "string", "datetime"];
    const inputs = JSON.stringify(types.map((type) => ({ type, name: type })));
    const reading = readMlmodel(
      `flavors: {python_function: {loader_module: m}}\nsignature:\n  inputs: '${inputs}'\n`,
      "MLmodel",
    );
    expect(reading.inputSchema?.map((c) => c.type)).toEqual([
      "Boolean",
      "Int32",
      "Int64",
      "Float32",
      "Float64",
      "String",
      "Time64",
    ]);
    expect(reading.description.framework).toBe("python_function");
    expect(reading.notices[0]).toContain("output_schema");
  });

  it("is READY without a signature but says the schema must come through metadata", () => {
    const reading = readMlmodel("flavors: {python_function: {loader_module: m}, sklearn: {}}\n", "MLmodel");
    expect(reading.inputSchema).toBeNull();
    expect(reading.description.hasSignature).toBe(false);
    expect(reading.notices[0]).toContain("Set input_schema and output_schema");
  });

  it("refuses tensor inputs, binary columns, no python_function flavor and bad YAML", () => {
    const refuse = (text: string) => {
      try {
        readMlmodel(text, "MLmodel");
      } catch (error) {
        expect(error).toBeInstanceOf(ArtifactRejectedError);
        return (error as Error).message;
      }
      throw new Error("not refused");
    };
    expect(
      refuse(
        `flavors: {python_function: {}}\nsignature:\n  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'\n`,
      ),
    ).toContain("tensor-based, which is unsupported for tabular deployment");
    expect(
      refuse(`flavors: {python_function: {}}\nsignature:\n  inputs: '[{"type": "binary", "name": "img"}]'\n`),
    ).toContain("('img') has type \"binary\"");
    expect(refuse("flavors: {onnx: {}}\n")).toContain("no python_function flavor");
    // A tensor output a hundred million wide is refused, not expanded into columns.
    expect(
      refuse(
        `flavors: {python_function: {}}\nsignature:\n  inputs: '[{"type": "double", "name": "x"}]'\n  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 100000000]}}]'\n`,
      ),
    ).toContain("outputs is 100000000 columns wide; at most 5000");
    expect(refuse("flavors: [unclosed\n")).toContain("is not valid YAML");
    expect(refuse("just a string\n")).toContain("declares no flavors");
  });

  it("refuses a zip with no MLmodel, naming where it looked, and one with several models", async () => {
    const none = buildZip([{ name: "model/model.pkl", data: Buffer.from("x") }]);
    const entries = await readCentralDirectory(rangeReader(none), none.length, LIMITS);
    expect(() => locateMlmodel(entries)).toThrow(/looked for 'MLmodel' at its root and '<folder>\/MLmodel'/);
    const two = buildZip([
      { name: "a/MLmodel", data: Buffer.from(MINIMAL_MLMODEL) },
      { name: "b/MLmodel", data: Buffer.from(MINIMAL_MLMODEL) },
    ]);
    const twoEntries = await readCentralDirectory(rangeReader(two), two.length, LIMITS);
    expect(() => locateMlmodel(twoEntries)).toThrow(/several MLflow models/);
  });
});
