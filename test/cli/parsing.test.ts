import { describe, expect, it } from "vitest";
import { parseModelVersion } from "../../client/cli/commands/deployments.ts";
import { parseColumns } from "../../client/cli/commands/experiments.ts";
import { formatDuration, renderTable, toCsv } from "../../client/cli/output.ts";
import { ProgressBar } from "../../client/cli/progress.ts";
import { csvToRequest, jsonToRequest, parseCsv } from "../../client/scoring.ts";

describe("CLI input parsing", () => {
  it("reads RFC 4180 CSV: quotes, doubled quotes, commas and newlines in fields, CRLF, BOM", () => {
    expect(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n"multi\nline",2\n')).toEqual([
      ["a", "b"],
      ["x, y", 'say "hi"'],
      ["multi\nline", "2"],
    ]);
    expect(() => parseCsv('a\n"open')).toThrow(/closing quote/);
  });

  it("turns CSV and JSON files into score requests and names what is wrong", () => {
    expect(csvToRequest("age,income\n30,1.5\n", "rows.csv")).toEqual({
      fields: ["age", "income"],
      rows: [["30", "1.5"]],
    });
    expect(() => csvToRequest("age,income\n30\n", "rows.csv")).toThrow(
      /rows.csv line 2 has 1 values; the header has 2/,
    );
    expect(() => csvToRequest("age\n", "rows.csv")).toThrow(/no rows/);
    expect(jsonToRequest([{ age: 30 }, { age: 40, income: 2 }], "rows.json")).toEqual({
      fields: ["age", "income"],
      rows: [
        [30, null],
        [40, 2],
      ],
    });
    expect(jsonToRequest({ fields: ["a"], rows: [["1"]] }, "rows.json")).toEqual({
      fields: ["a"],
      rows: [["1"]],
    });
    expect(() => jsonToRequest({ a: 1 }, "rows.json")).toThrow(/must hold/);
  });

  it("parses schema columns and model@version", () => {
    expect(parseColumns("--input", "age:int32, income:Float64")).toEqual([
      { name: "age", type: "int32" },
      { name: "income", type: "Float64" },
    ]);
    expect(() => parseColumns("--input", "age")).toThrow(/not name:type/);
    expect(parseModelVersion("churn@12")).toEqual({ model: "churn", version: 12 });
    expect(parseModelVersion("a@b@3")).toEqual({ model: "a@b", version: 3 });
    expect(() => parseModelVersion("churn")).toThrow(/<model>@<version>/);
  });

  it("renders aligned tables and CSV that quotes only where needed", () => {
    expect(
      renderTable(
        [
          ["1", "a"],
          ["100", "bb"],
        ],
        ["N", "NAME"],
        [true, false],
      ),
    ).toBe("  N  NAME\n  1  a\n100  bb");
    expect(
      toCsv(
        ["a", "b"],
        [
          ["x,y", 'q"'],
          [1, null],
        ],
      ),
    ).toBe('a,b\n"x,y","q"""\n1,');
  });

  it("draws a progress bar with bytes, rate and ETA on a terminal, and only a summary elsewhere", async () => {
    const written = (tty: boolean) => {
      const chunks: string[] = [];
      const stream = {
        isTTY: tty,
        write: (chunk: string) => chunks.push(chunk),
      } as unknown as NodeJS.WriteStream;
      return { stream, text: () => chunks.join("") };
    };
    const terminal = written(true);
    const bar = new ProgressBar(10 * 1024 * 1024, "model.zip", terminal.stream, 2 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 120));
    bar.add(3 * 1024 * 1024);
    expect(terminal.text().startsWith("\r\u001b[2K")).toBe(true);
    expect(terminal.text()).toMatch(
      /^\r\S+\[2Kmodel\.zip \[#{12}-{12}\] {2}50% 5\.0 MiB\/10\.0 MiB [\d.]+ (KiB|MiB|GiB)\/s ETA \d+:\d\d/,
    );
    bar.finish();
    expect(terminal.text()).toMatch(
      /model\.zip 10\.0 MiB uploaded in [\d.]+ s \([\d.]+ (KiB|MiB|GiB)\/s\)\n$/,
    );

    const log = written(false);
    const quiet = new ProgressBar(1000, "model.zip", log.stream);
    quiet.add(500);
    quiet.finish();
    expect(log.text()).toMatch(/^model\.zip 1000 B uploaded in [\d.]+ s/);
    expect(log.text().split("\n")).toHaveLength(2);
    expect(formatDuration(3725)).toBe("1:02:05");
  });
});
