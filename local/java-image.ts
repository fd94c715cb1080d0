/**
 * Local stand-in for the Java images (the H2O-3 MOJO processor and runtime): no Docker engine is
 * needed. The Maven project the image's Dockerfile copies (`COPY <folder>/pom.xml`) is packaged in
 * place with `mvn package` (dependencies from Maven Central, cached in ~/.m2) only when its jar is
 * missing or older than its sources, and the Dockerfile's ENTRYPOINT runs with the jar paths under
 * /app/ pointing at that build.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { imageBuild } from "#cdk/image-builds.ts";
import { withDirLock } from "./dir-lock.ts";

export class JavaBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JavaBuildError";
  }
}

export interface JavaImage {
  /** The Maven project folder under runtime-images/. */
  readonly projectDir: string;
  /** ENTRYPOINT with /app/<file>.jar replaced by the local build's target/<file>.jar. */
  readonly command: string;
  readonly args: readonly string[];
}

/** The ENTRYPOINT array of a Dockerfile, or undefined when it has none in exec form. */
export function entrypointOf(dockerfile: string): string[] | undefined {
  const match = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!match?.[1]) return undefined;
  const parsed: unknown = JSON.parse(match[1]);
  return Array.isArray(parsed) && parsed.every((p) => typeof p === "string") ? parsed : undefined;
}

/** True when the image's ENTRYPOINT runs `java`. */
export function isJavaDockerfile(dockerfile: string): boolean {
  return entrypointOf(dockerfile)?.[0] === "java";
}

/**
 * The instructions of the stage `target` (from its `FROM … AS target` to the next FROM), or the
 * whole Dockerfile when no target is given.
 */
export function stageOf(dockerfile: string, target: string | undefined): string {
  if (target === undefined) return dockerfile;
  const stages = dockerfile.split(/^(?=FROM\s)/m);
  const stage = stages.find((text) => new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${target}\\s*$`, "im").test(text));
  if (!stage) throw new JavaBuildError(`the Dockerfile has no stage "${target}"`);
  return stage;
}

/** Builds the image's Maven project if needed; answers what to run. */
export async function ensureJavaImage(imageDir: string, runtimeImagesDir: string): Promise<JavaImage> {
  const build = imageBuild(basename(imageDir));
  const file = join(runtimeImagesDir, build.file);
  const dockerfile = await readFile(file, "utf8");
  const entrypoint = entrypointOf(stageOf(dockerfile, build.target));
  const project = /^COPY\s+([a-z0-9][a-z0-9-]*)\/pom\.xml\s/m.exec(dockerfile)?.[1];
  if (entrypoint?.[0] !== "java" || !project) {
    throw new JavaBuildError(
      `${file} needs ENTRYPOINT ["java", ...] and COPY <folder>/pom.xml to run locally`,
    );
  }
  const projectDir = join(runtimeImagesDir, project);
  const jar = entrypoint.find((arg) => /^\/app\/[\w.-]+\.jar$/.test(arg));
  if (!jar) throw new JavaBuildError(`${file}: ENTRYPOINT names no /app/<name>.jar`);
  await buildIfStale(projectDir, basename(jar));
  const args = entrypoint
    .slice(1)
    .map((arg) => (/^\/app\/[\w.-]+\.jar$/.test(arg) ? join(projectDir, "target", basename(arg)) : arg));
  return { projectDir, command: "java", args };
}

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestSource(path) : (await stat(path)).mtimeMs);
  }
  return newest;
}

async function jarIsCurrent(projectDir: string, jarName: string): Promise<boolean> {
  const jar = join(projectDir, "target", jarName);
  if (!existsSync(jar) || !existsSync(join(projectDir, "target", "lib"))) return false;
  const sources = Math.max(
    (await stat(join(projectDir, "pom.xml"))).mtimeMs,
    await newestSource(join(projectDir, "src")),
  );
  return (await stat(jar)).mtimeMs >= sources;
}

/** `mvn package` once per change of the sources, serialised between processes. */
async function buildIfStale(projectDir: string, jarName: string): Promise<void> {
  if (await jarIsCurrent(projectDir, jarName)) return;
  await mkdir(join(projectDir, "target"), { recursive: true });
  await withDirLock(join(projectDir, "target", ".byom-build.lock"), async () => {
    if (await jarIsCurrent(projectDir, jarName)) return;
    const started = Date.now();
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn("mvn", ["-q", "-B", "package"], {
        cwd: projectDir,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.on("error", (error) =>
        reject(new JavaBuildError(`cannot run mvn (${error.message}): install Maven 3.8+ and a JDK 17`)),
      );
      child.on("exit", (code) =>
        code === 0
          ? resolve(text)
          : reject(
              new JavaBuildError(`mvn package in ${projectDir} exited with ${code}:\n${text.slice(-4000)}`),
            ),
      );
    });
    if (output.trim()) process.stderr.write(output);
    process.stderr.write(
      `byom: built ${join(projectDir, "target", jarName)} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  });
}
