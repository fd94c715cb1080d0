import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "#cdk/paths.ts";

/**
 * Rewrites one script's section of docs/benchmarks.md: what stands between `<!-- name:begin -->`
 * and `<!-- name:end -->`, so each benchmark updates its own figures and leaves the others' alone.
 * A section not there yet goes after the `<!-- after:end -->` marker when given, else at the end
 * under `## heading`.
 */
export function writeBenchmarkSection(
  name: string,
  content: string,
  place: { readonly heading: string } | { readonly after: string },
): void {
  const file = join(REPO_ROOT, "docs/benchmarks.md");
  const text = readFileSync(file, "utf8");
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${content}\n${end}`;
  const pattern = new RegExp(`${begin}[\\s\\S]*?${end}`);
  let updated: string;
  if (pattern.test(text)) updated = text.replace(pattern, () => block);
  else if ("after" in place) {
    const marker = `<!-- ${place.after}:end -->`;
    updated = text.replace(marker, () => `${marker}\n\n${block}`);
  } else updated = `${text.trimEnd()}\n\n## ${place.heading}\n\n${block}\n`;
  writeFileSync(file, updated);
}
