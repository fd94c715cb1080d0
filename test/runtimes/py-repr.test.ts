import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RUNTIME_IMAGES_DIR } from "#cdk/paths.ts";
import { ensureJavaImage } from "#local/java-image.ts";
import { run } from "#local/processes.ts";
import { REPO_ROOT } from "../support/platform.ts";

/**
 * Both runtime families write predicted floats as Python's repr (the shortest text that reads
 * back as the same double). The Java runtime's PyText.repr is held to CPython's own repr over
 * edge cases and thousands of random doubles (random bit patterns and random magnitudes).
 */
let work: string;
beforeAll(async () => {
  await ensureJavaImage(join(RUNTIME_IMAGES_DIR, "mojo-runtime"), RUNTIME_IMAGES_DIR);
  work = mkdtempSync(join(tmpdir(), "byom-repr-"));
}, 600_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

it("formats doubles exactly as CPython's repr does", async () => {
  const generate = `
import random, struct, sys
random.seed(7)
values = [0.1, 1e16, 1e-05, 0.0001, 123.0, 1.5e-07, 2.5, 1e22, 9.999999999999999e22, 5e-324,
          1.7976931348623157e308, 0.30000000000000004, 1234567890123456.0, 12345678901234567.0,
          -0.0, 0.0, -1.0, 2.0**-1074 * 3, 1e15, 9999999999999998.0]
while len(values) < 5000:
    v = struct.unpack("d", struct.pack("Q", random.getrandbits(64)))[0]
    if v == v and abs(v) != float("inf"):
        values.append(v)
    values.append(random.random() * 10.0 ** random.randint(-9, 22))
with open(sys.argv[1], "w") as hexes, open(sys.argv[2], "w") as reprs:
    for v in values:
        hexes.write(struct.pack("d", v).hex() + "\\n")
        reprs.write(repr(v) + "\\n")
`;
  const hexes = join(work, "doubles.hex");
  const reprs = join(work, "reprs.txt");
  await run(process.env.BYOM_PYTHON ?? "python3", ["-c", generate, hexes, reprs]);
  const project = join(RUNTIME_IMAGES_DIR, "mojo-runtime", "target");
  const output = await run("java", [
    "-cp",
    `${join(project, "classes")}:${join(project, "lib", "*")}`,
    join(REPO_ROOT, "test/fixtures/PyReprCheck.java"),
    hexes,
    reprs,
  ]);
  expect(output.trim()).toMatch(/^checked \d{4,}$/);
}, 120_000);
