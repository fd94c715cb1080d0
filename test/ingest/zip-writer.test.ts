import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ZipStreamWriter } from "#lambdas/imports/zip-writer.ts";
import { readCentralDirectory, readEntry, type ZipLimits } from "#lambdas/ingest/zip-directory.ts";
import { run } from "#local/processes.ts";

const LIMITS: ZipLimits = {
  maxEntries: 1000,
  maxTotalUncompressedBytes: 1024 ** 3,
  maxCompressionRatio: 1_000_000,
  ratioFloorBytes: 1024 ** 2,
  maxCentralDirectoryBytes: 1024 ** 2,
};

async function* chunks(data: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function writeZip(files: Array<{ name: string; data: Buffer; announced?: number }>): Promise<Buffer> {
  const out: Buffer[] = [];
  const zip = new ZipStreamWriter(async (chunk) => {
    out.push(Buffer.from(chunk));
  });
  for (const file of files) await zip.addFile(file.name, chunks(file.data, 1000), file.announced);
  await zip.finish();
  return Buffer.concat(out);
}

async function pythonReads(zip: Buffer): Promise<Record<string, number>> {
  const file = join(mkdtempSync(join(tmpdir(), "byom-zipw-")), "z.zip");
  writeFileSync(file, zip);
  const out = await run("python3", [
    "-c",
    "import json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: len(z.read(i)) for i in z.infolist()}))",
    file,
  ]);
  return JSON.parse(out);
}

describe("streaming zip writer", () => {
  it("writes archives that Python's zipfile and Byom's reader both read back exactly", async () => {
    const files = [
      { name: "MLmodel", data: Buffer.from("flavors: {}\n") },
      { name: "data/model.bin", data: randomBytes(50_000) },
      { name: "data/empty.txt", data: Buffer.alloc(0) },
      { name: "naïve name.txt", data: Buffer.from("utf-8 names") },
    ];
    const zip = await writeZip(files);
    expect(await pythonReads(zip)).toEqual(Object.fromEntries(files.map((f) => [f.name, f.data.length])));
    const read = async (start: number, end: number) => zip.subarray(start, end + 1);
    const entries = await readCentralDirectory(read, zip.length, LIMITS);
    for (const file of files) {
      const entry = entries.find((e) => e.name === file.name);
      expect(entry).toBeDefined();
      expect((await readEntry(read, entry!, 1024 ** 2)).equals(file.data)).toBe(true);
    }
  });

  it("writes ZIP64 descriptors and extra fields for entries announced beyond 4 GiB", async () => {
    const data = randomBytes(10_000);
    const zip = await writeZip([
      { name: "big.bin", data, announced: 5 * 1024 ** 3 },
      { name: "MLmodel", data: Buffer.from("x") },
    ]);
    expect(await pythonReads(zip)).toEqual({ "big.bin": 10_000, MLmodel: 1 });
    const read = async (start: number, end: number) => zip.subarray(start, end + 1);
    const [big] = await readCentralDirectory(read, zip.length, LIMITS);
    expect((await readEntry(read, big!, 1024 ** 2)).equals(data)).toBe(true);
  });
});
