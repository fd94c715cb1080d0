import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32, createDeflateRaw } from "node:zlib";

/**
 * Writes a zip archive as a stream: each file is deflated on the fly and followed by a data
 * descriptor (its CRC and sizes are known only at its end), then the central directory. ZIP64
 * records are written when an entry, an offset or the entry count needs them, so archives beyond
 * 4 GiB stay readable. Nothing is buffered beyond zlib's window.
 */
const ZIP64_LIMIT = 0xffffffff;
/** Entries announced at least this large get ZIP64 sizes in their data descriptor. */
const ZIP64_ENTRY_THRESHOLD = 0xf0000000;
const FLAGS = 0x0808; // bit 3: sizes in a data descriptor; bit 11: UTF-8 names

interface WrittenEntry {
  readonly name: Buffer;
  readonly crc: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly offset: number;
  readonly zip64: boolean;
}

export class ZipStreamWriter {
  private offset = 0;
  private readonly entries: WrittenEntry[] = [];

  constructor(private readonly sink: (chunk: Buffer) => Promise<void>) {}

  /** Appends one file. `expectedBytes` (when known) decides whether its descriptor needs ZIP64. */
  async addFile(name: string, source: AsyncIterable<Uint8Array>, expectedBytes = 0): Promise<void> {
    const nameBytes = Buffer.from(name, "utf8");
    const zip64 = expectedBytes >= ZIP64_ENTRY_THRESHOLD;
    const offset = this.offset;
    const extra = zip64 ? zip64Extra([0, 0]) : Buffer.alloc(0);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(zip64 ? 45 : 20, 4);
    header.writeUInt16LE(FLAGS, 6);
    header.writeUInt16LE(8, 8);
    header.writeUInt16LE(0x21, 12); // a fixed DOS date (1980-01-01): reproducible archives
    header.writeUInt16LE(nameBytes.length, 26);
    header.writeUInt16LE(extra.length, 28);
    await this.emit(Buffer.concat([header, nameBytes, extra]));

    let crc = 0;
    let uncompressedSize = 0;
    let compressedSize = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        crc = crc32(chunk, crc);
        uncompressedSize += chunk.length;
        done(null, chunk);
      },
    });
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        compressedSize += chunk.length;
        this.emit(chunk).then(() => done(), done);
      },
    });
    await pipeline(Readable.from(source), measure, createDeflateRaw({ level: 1 }), sink);

    const large = zip64 || compressedSize >= ZIP64_LIMIT || uncompressedSize >= ZIP64_LIMIT;
    if (large && !zip64) {
      throw new Error(`'${name}' grew beyond 4 GiB without being announced; pass its size to addFile`);
    }
    const descriptor = Buffer.alloc(zip64 ? 24 : 16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc, 4);
    if (zip64) {
      descriptor.writeBigUInt64LE(BigInt(compressedSize), 8);
      descriptor.writeBigUInt64LE(BigInt(uncompressedSize), 16);
    } else {
      descriptor.writeUInt32LE(compressedSize, 8);
      descriptor.writeUInt32LE(uncompressedSize, 12);
    }
    await this.emit(descriptor);
    this.entries.push({ name: nameBytes, crc, compressedSize, uncompressedSize, offset, zip64 });
  }

  /** Writes the central directory and end records. */
  async finish(): Promise<void> {
    const directoryOffset = this.offset;
    for (const entry of this.entries) {
      const needs = [
        entry.uncompressedSize >= ZIP64_LIMIT || entry.zip64 ? entry.uncompressedSize : undefined,
        entry.compressedSize >= ZIP64_LIMIT || entry.zip64 ? entry.compressedSize : undefined,
        entry.offset >= ZIP64_LIMIT ? entry.offset : undefined,
      ];
      const extra = zip64Extra(needs.filter((v): v is number => v !== undefined));
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE((3 << 8) | 45, 4);
      header.writeUInt16LE(extra.length > 0 ? 45 : 20, 6);
      header.writeUInt16LE(FLAGS, 8);
      header.writeUInt16LE(8, 10);
      header.writeUInt16LE(0x21, 14);
      header.writeUInt32LE(entry.crc, 16);
      header.writeUInt32LE(needs[1] === undefined ? entry.compressedSize : ZIP64_LIMIT, 20);
      header.writeUInt32LE(needs[0] === undefined ? entry.uncompressedSize : ZIP64_LIMIT, 24);
      header.writeUInt16LE(entry.name.length, 28);
      header.writeUInt16LE(extra.length, 30);
      header.writeUInt32LE((0o100644 << 16) >>> 0, 38);
      header.writeUInt32LE(needs[2] === undefined ? entry.offset : ZIP64_LIMIT, 42);
      await this.emit(Buffer.concat([header, entry.name, extra]));
    }
    const directorySize = this.offset - directoryOffset;
    const count = this.entries.length;
    const zip64 = count >= 0xffff || directoryOffset >= ZIP64_LIMIT || directorySize >= ZIP64_LIMIT;
    if (zip64) {
      const recordOffset = this.offset;
      const record = Buffer.alloc(56);
      record.writeUInt32LE(0x06064b50, 0);
      record.writeBigUInt64LE(44n, 4);
      record.writeUInt16LE(45, 12);
      record.writeUInt16LE(45, 14);
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(directorySize), 40);
      record.writeBigUInt64LE(BigInt(directoryOffset), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(recordOffset), 8);
      locator.writeUInt32LE(1, 16);
      await this.emit(Buffer.concat([record, locator]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(count, 0xffff), 8);
    end.writeUInt16LE(Math.min(count, 0xffff), 10);
    end.writeUInt32LE(Math.min(directorySize, ZIP64_LIMIT), 12);
    end.writeUInt32LE(Math.min(directoryOffset, ZIP64_LIMIT), 16);
    await this.emit(end);
  }

  private async emit(chunk: Buffer): Promise<void> {
    this.offset += chunk.length;
    await this.sink(chunk);
  }
}

/** The ZIP64 extended-information extra field (0x0001) holding `values` as 8-byte numbers. */
export function zip64Extra(values: readonly number[]): Buffer {
  if (values.length === 0) return Buffer.alloc(0);
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, i) => {
    extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i);
  });
  return extra;
}
