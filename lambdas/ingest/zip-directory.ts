import { crc32, inflateRawSync } from "node:zlib";
import { ArtifactRejectedError } from "./rejection.ts";

/**
 * A ZIP (and ZIP64) central-directory reader over ranged reads: it fetches the end of the archive,
 * then the central directory, then only the entries asked for, so a multi-GB zip is never
 * downloaded whole. It judges the archive from its directory: path escapes, symbolic links,
 * encryption, overlapping entries and compression ratios (zip bombs) are refused before any entry
 * is inflated.
 */

/** Reads bytes [start, end] inclusive. */
export type RangeReader = (start: number, end: number) => Promise<Buffer>;

export interface ZipEntry {
  readonly name: string;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly method: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
  readonly isDirectory: boolean;
}

export interface ZipLimits {
  readonly maxEntries: number;
  readonly maxTotalUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio allowed for an entry bigger than `ratioFloorBytes`. */
  readonly maxCompressionRatio: number;
  readonly ratioFloorBytes: number;
  readonly maxCentralDirectoryBytes: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const MAX_COMMENT = 0xffff;
const LOCAL_HEADER_SIZE = 30;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

const notZip = (detail: string) =>
  new ArtifactRejectedError(
    `The file is not a readable zip archive (${detail}). Upload a zip of the MLflow model directory, e.g. \`cd model && zip -r ../model.zip .\`.`,
  );

export async function readCentralDirectory(
  read: RangeReader,
  size: number,
  limits: ZipLimits,
): Promise<ZipEntry[]> {
  if (size < EOCD_SIZE) throw notZip(`only ${size} bytes`);
  const tailStart = Math.max(0, size - (EOCD_SIZE + MAX_COMMENT + ZIP64_LOCATOR_SIZE));
  const tail = await read(tailStart, size - 1);
  const eocdAt = findEocd(tail);
  if (eocdAt < 0) throw notZip("no end-of-central-directory record");
  const eocd = tail.subarray(eocdAt);
  if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0) {
    throw new ArtifactRejectedError("The zip archive spans several disks; upload it as one single-file zip.");
  }
  let entryCount = eocd.readUInt16LE(10);
  let directorySize = eocd.readUInt32LE(12);
  let directoryOffset = eocd.readUInt32LE(16);
  let directoryEnd = tailStart + eocdAt;

  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locatorAt = eocdAt - ZIP64_LOCATOR_SIZE;
    if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== ZIP64_LOCATOR_SIGNATURE) {
      throw notZip("ZIP64 sizes without a ZIP64 locator");
    }
    const recordOffset = toSafeNumber(tail.readBigUInt64LE(locatorAt + 8));
    if (recordOffset + 56 > size) throw notZip("ZIP64 record beyond the end of the file");
    const record = await read(recordOffset, recordOffset + 55);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw notZip("bad ZIP64 end record");
    entryCount = toSafeNumber(record.readBigUInt64LE(32));
    directorySize = toSafeNumber(record.readBigUInt64LE(40));
    directoryOffset = toSafeNumber(record.readBigUInt64LE(48));
    directoryEnd = recordOffset;
  }
  if (entryCount > limits.maxEntries) {
    throw new ArtifactRejectedError(
      `The zip holds ${entryCount} entries, more than the ${limits.maxEntries} allowed. Zip only the model directory.`,
    );
  }
  if (directorySize > limits.maxCentralDirectoryBytes) {
    throw new ArtifactRejectedError(
      `The zip's central directory is ${directorySize} bytes, more than the ${limits.maxCentralDirectoryBytes} allowed. Zip only the model directory.`,
    );
  }
  if (directoryOffset + directorySize > directoryEnd) throw notZip("central directory beyond its end record");
  if (entryCount === 0)
    throw new ArtifactRejectedError("The zip archive is empty. Zip the MLflow model directory.");

  const directory =
    directorySize === 0 ? Buffer.alloc(0) : await read(directoryOffset, directoryOffset + directorySize - 1);
  const entries = parseDirectory(directory, entryCount);
  checkEntries(entries, directoryOffset, limits);
  return entries;
}

/** Inflates one entry (stored or deflated), refusing more than `maxBytes` and checking its CRC. */
export async function readEntry(read: RangeReader, entry: ZipEntry, maxBytes: number): Promise<Buffer> {
  if (entry.uncompressedSize > maxBytes) {
    throw new ArtifactRejectedError(
      `'${entry.name}' is ${entry.uncompressedSize} bytes; at most ${maxBytes} are expected for it.`,
    );
  }
  const header = await read(entry.localHeaderOffset, entry.localHeaderOffset + LOCAL_HEADER_SIZE - 1);
  if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw notZip(`no local header for '${entry.name}'`);
  const dataStart =
    entry.localHeaderOffset + LOCAL_HEADER_SIZE + header.readUInt16LE(26) + header.readUInt16LE(28);
  const compressed =
    entry.compressedSize === 0
      ? Buffer.alloc(0)
      : await read(dataStart, dataStart + entry.compressedSize - 1);
  let data: Buffer;
  if (entry.method === 0) {
    data = compressed;
  } else if (entry.method === 8) {
    try {
      data = inflateRawSync(compressed, { maxOutputLength: Math.max(1, maxBytes) });
    } catch (error) {
      throw notZip(`'${entry.name}' does not inflate: ${(error as Error).message}`);
    }
  } else {
    throw new ArtifactRejectedError(
      `'${entry.name}' uses zip compression method ${entry.method}; only stored (0) and deflate (8) are supported. Re-create the zip with a standard zip tool.`,
    );
  }
  if (data.length !== entry.uncompressedSize || crc32(data) !== entry.crc32) {
    throw notZip(`'${entry.name}' does not match its recorded size or CRC-32`);
  }
  return data;
}

function findEocd(tail: Buffer): number {
  for (let at = tail.length - EOCD_SIZE; at >= 0; at--) {
    if (
      tail.readUInt32LE(at) === EOCD_SIGNATURE &&
      at + EOCD_SIZE + tail.readUInt16LE(at + 20) === tail.length
    ) {
      return at;
    }
  }
  return -1;
}

function parseDirectory(directory: Buffer, entryCount: number): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < entryCount; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
      throw notZip(`central directory entry ${i + 1} of ${entryCount} is damaged`);
    }
    const flags = directory.readUInt16LE(at + 8);
    const method = directory.readUInt16LE(at + 10);
    const crc = directory.readUInt32LE(at + 16);
    let compressedSize = directory.readUInt32LE(at + 20);
    let uncompressedSize = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const madeBy = directory.readUInt16LE(at + 4) >> 8;
    const externalAttributes = directory.readUInt32LE(at + 38);
    let localHeaderOffset = directory.readUInt32LE(at + 42);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > directory.length) throw notZip(`central directory entry ${i + 1} runs past the directory`);
    const rawName = directory.subarray(at + 46, at + 46 + nameLength);
    const name = rawName.toString(flags & 0x800 ? "utf8" : "latin1");

    // ZIP64 extended information: only the fields saturated in the fixed part are present, in order.
    const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let field = e + 4;
        const take = () => {
          if (field + 8 > e + 4 + length) throw notZip(`'${name}' has a truncated ZIP64 field`);
          const value = toSafeNumber(extra.readBigUInt64LE(field));
          field += 8;
          return value;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      e += 4 + length;
    }

    if (flags & 0x1) {
      throw new ArtifactRejectedError(
        `'${name}' is encrypted. Byom cannot read encrypted zips; upload the model without a password.`,
      );
    }
    // Unix "made by" with a symbolic-link mode: extraction could write outside the model directory.
    if (madeBy === 3 && ((externalAttributes >>> 16) & S_IFMT) === S_IFLNK) {
      throw new ArtifactRejectedError(
        `'${name}' is a symbolic link. Links are refused because extracting them can escape the model directory; zip the files they point to instead (zip without -y).`,
      );
    }
    entries.push({
      name,
      compressedSize,
      uncompressedSize,
      method,
      crc32: crc,
      localHeaderOffset,
      isDirectory: name.endsWith("/"),
    });
    at = next;
  }
  return entries;
}

function checkEntries(entries: ZipEntry[], directoryOffset: number, limits: ZipLimits): void {
  let total = 0;
  for (const entry of entries) {
    const unsafe = unsafePathReason(entry.name);
    if (unsafe) {
      throw new ArtifactRejectedError(
        `The zip entry '${entry.name}' ${unsafe}; extracting it would write outside the model directory (zip-slip). Zip the model directory with relative paths only.`,
      );
    }
    total += entry.uncompressedSize;
    if (
      entry.uncompressedSize > limits.ratioFloorBytes &&
      entry.uncompressedSize > entry.compressedSize * limits.maxCompressionRatio
    ) {
      const ratio =
        entry.compressedSize === 0 ? "∞" : Math.round(entry.uncompressedSize / entry.compressedSize);
      throw new ArtifactRejectedError(
        `The zip entry '${entry.name}' expands from ${entry.compressedSize} to ${entry.uncompressedSize} bytes (ratio ${ratio}:1, limit ${limits.maxCompressionRatio}:1): refused as a likely zip bomb. Store such data uncompressed or raise BYOM_ZIP_MAX_RATIO.`,
      );
    }
  }
  if (total > limits.maxTotalUncompressedBytes) {
    throw new ArtifactRejectedError(
      `The zip expands to ${total} bytes, more than the ${limits.maxTotalUncompressedBytes} allowed: refused as a likely zip bomb. Raise BYOM_ZIP_MAX_UNCOMPRESSED_BYTES if the model really is that large.`,
    );
  }
  // Entries whose data overlap (or run into the directory) are the trick of non-recursive zip bombs.
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < byOffset.length; i++) {
    const entry = byOffset[i] as ZipEntry;
    const nextStart = byOffset[i + 1]?.localHeaderOffset ?? directoryOffset;
    if (entry.localHeaderOffset + LOCAL_HEADER_SIZE + entry.compressedSize > nextStart) {
      throw new ArtifactRejectedError(
        `The zip entry '${entry.name}' overlaps the next entry or the central directory: the archive is corrupt or crafted (overlapping entries are a zip-bomb technique). Re-create the zip with a standard zip tool.`,
      );
    }
  }
}

/** Why a zip entry name could escape the extraction directory, or undefined when it cannot. */
export function unsafePathReason(name: string): string | undefined {
  if (name.includes("\u0000")) return "contains a NUL character";
  const normalized = name.replace(/\\/g, "/");
  if (normalized.startsWith("/")) return "is an absolute path";
  if (/^[A-Za-z]:/.test(normalized)) return "starts with a drive letter";
  if (normalized.split("/").includes("..")) return "contains a '..' path segment";
  return undefined;
}

function toSafeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw notZip("a size or offset beyond 2^53");
  return Number(value);
}
