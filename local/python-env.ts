/**
 * Local stand-ins for the processor and runtime images: no Docker engine is needed. Each image
 * folder under runtime-images/ gets a project-local venv holding exactly that image's pinned
 * requirements.txt (so what runs locally is what the image holds), and its Dockerfile's
 * ENTRYPOINT module runs in it with runtime-images/python on PYTHONPATH, as in the image.
 *
 * Local mode's deployer spawns processors and runtimes through `processorCommand` and
 * `runtimeCommand`; the `local:processor` and `local:runtime` scripts are thin wrappers.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { REPO_ROOT, RUNTIME_IMAGES_DIR } from "#cdk/paths.ts";
import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { withDirLock } from "./dir-lock.ts";
import { ensureJavaImage, isJavaDockerfile } from "./java-image.ts";
import { type CommandSpec, run } from "./processes.ts";

/** The shared Python packages every image copies to /app. */
export const PYTHON_SOURCE_DIR = join(RUNTIME_IMAGES_DIR, "python");
/** Where every venv lives; BYOM_VENVS_DIR lets several checkouts share them (they are locked). */
export const VENVS_DIR = process.env.BYOM_VENVS_DIR ?? join(REPO_ROOT, ".byom", "venvs");
const READY_MARKER = ".byom-ready";

export interface PythonEnv {
  /** The venv's interpreter. */
  readonly python: string;
  readonly venvDir: string;
  /** A console script the venv installed (`mlflow`, `moto_server` …). */
  readonly bin: (name: string) => string;
}

function pythonEnvAt(venvDir: string): PythonEnv {
  return { venvDir, python: join(venvDir, "bin", "python"), bin: (name) => join(venvDir, "bin", name) };
}

export interface ImageEnv extends PythonEnv {
  readonly image: string;
}

/** A processor or runtime as a local process. */
export type PythonCommand = CommandSpec;

export class UnknownImageError extends Error {
  constructor(kind: string, name: string, known: readonly string[]) {
    super(`no built-in ${kind} named "${name}"; known: ${known.join(", ")}`);
    this.name = "UnknownImageError";
  }
}

export class PythonEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PythonEnvError";
  }
}

export function processorImage(name: string): string {
  const entry = BUILTIN_CATALOG.artifactProcessors.find((p) => p.name === name);
  if (!entry) {
    throw new UnknownImageError(
      "processor",
      name,
      BUILTIN_CATALOG.artifactProcessors.map((p) => p.name),
    );
  }
  return entry.image;
}

export function runtimeEntry(name: string): (typeof BUILTIN_CATALOG.runtimes)[number] {
  const entry = BUILTIN_CATALOG.runtimes.find((r) => r.name === name);
  if (!entry) {
    throw new UnknownImageError(
      "runtime",
      name,
      BUILTIN_CATALOG.runtimes.map((r) => r.name),
    );
  }
  return entry;
}

function imageDir(image: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(image)) {
    throw new PythonEnvError(`image "${image}" is not a folder under runtime-images/`);
  }
  return join(RUNTIME_IMAGES_DIR, image);
}

/** The module the image's `ENTRYPOINT ["python", "-m", "<module>"]` runs. */
export async function entrypointModule(image: string): Promise<string> {
  const dockerfile = await readFile(join(imageDir(image), "Dockerfile"), "utf8");
  const match = /^ENTRYPOINT\s+\[\s*"python",\s*"-m",\s*"([\w.]+)"\s*\]/m.exec(dockerfile);
  if (!match?.[1]) {
    throw new PythonEnvError(
      `runtime-images/${image}/Dockerfile has no ENTRYPOINT ["python", "-m", "<module>"]`,
    );
  }
  return match[1];
}

async function hashFiles(files: readonly string[], length = 12): Promise<string> {
  const hash = createHash("sha256");
  for (const file of files) hash.update(await readFile(file));
  return hash.digest("hex").slice(0, length);
}

export interface EnsureOptions {
  /** Add the test tools (pytest, ONNX converters) in a second venv layered over the image's. */
  readonly withTestTools?: boolean;
  /** Print pip's progress (default: only a failure's output). */
  readonly verbose?: boolean;
  readonly basePython?: string;
}

/**
 * Creates, or reuses, `<venvs>/<image>-<hash of requirements>` with exactly the image's pinned
 * requirements. A venv is reused only when a previous install finished (marker file).
 */
export async function ensureImageEnv(image: string, options: EnsureOptions = {}): Promise<ImageEnv> {
  const basePython = options.basePython ?? process.env.BYOM_PYTHON ?? "python3";
  const requirements = join(imageDir(image), "requirements.txt");
  const venvDir = join(VENVS_DIR, `${image}-${await hashFiles([requirements])}`);
  await ensureVenv(venvDir, basePython, [requirements], options.verbose ?? false);
  if (!options.withTestTools) return { image, ...pythonEnvAt(venvDir) };
  const testRequirements = join(PYTHON_SOURCE_DIR, "requirements-test.txt");
  const testDir = `${venvDir}-test-${await hashFiles([testRequirements])}`;
  await ensureVenv(testDir, basePython, [testRequirements], options.verbose ?? false, venvDir);
  return { image, ...pythonEnvAt(testDir) };
}

/**
 * A named venv outside the images (test fixtures, benchmark peers, tools): `<venvs>/<name>-<hash>`
 * from requirement files resolved by pip (transitive dependencies unpinned unless the files pin them).
 */
export async function ensurePythonEnv(
  name: string,
  requirementFiles: readonly string[],
  options: { readonly verbose?: boolean; readonly basePython?: string } = {},
): Promise<PythonEnv> {
  const basePython = options.basePython ?? process.env.BYOM_PYTHON ?? "python3";
  const venvDir = join(VENVS_DIR, `${name}-${await hashFiles(requirementFiles)}`);
  await ensureVenv(venvDir, basePython, requirementFiles, options.verbose ?? false, undefined, true);
  return pythonEnvAt(venvDir);
}

async function ensureVenv(
  venvDir: string,
  basePython: string,
  requirementFiles: readonly string[],
  verbose: boolean,
  layeredOver?: string,
  resolveDependencies = false,
): Promise<void> {
  if (existsSync(join(venvDir, READY_MARKER))) return;
  await mkdir(VENVS_DIR, { recursive: true });
  await withDirLock(`${venvDir}.lock`, async () => {
    if (existsSync(join(venvDir, READY_MARKER))) return;
    await rm(venvDir, { recursive: true, force: true });
    const started = Date.now();
    await run(basePython, ["-m", "venv", venvDir], { inheritOutput: verbose });
    const python = join(venvDir, "bin", "python");
    if (layeredOver) {
      // The layer sees the base venv's packages (and pip counts them as installed), so test
      // tools are added without copying torch or TensorFlow a second time.
      const site = await sitePackages(python);
      const baseSite = await sitePackages(join(layeredOver, "bin", "python"));
      await writeFile(join(site, "byom-base-venv.pth"), `${baseSite}\n`);
    }
    const pip = [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      ...(verbose ? [] : ["--quiet"]),
      ...(layeredOver || resolveDependencies ? [] : ["--no-deps"]),
    ];
    for (const file of requirementFiles) pip.push("-r", file);
    await run(python, pip, { inheritOutput: verbose });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    await writeFile(join(venvDir, READY_MARKER), `installed in ${seconds} s\n`);
    process.stderr.write(`byom: created ${venvDir} in ${seconds} s\n`);
  });
}

async function sitePackages(python: string): Promise<string> {
  const output = await run(python, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]);
  return output.trim().split("\n").at(-1) ?? "";
}

/**
 * What a processor or runtime process may see of this one's environment: the basics a Python
 * process needs, nothing of the platform (its emulator credentials, endpoints, table and bucket).
 * Model code is untrusted; docs/runtimes.md lists the contract variables it gets on top.
 */
const INHERITED = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
  "LD_LIBRARY_PATH",
  "JAVA_HOME",
];
/** Processor and runtime tuning an installation may set for every process (docs/runtimes.md). */
const RUNTIME_SETTINGS = [
  "BYOM_LOG_LEVEL",
  "BYOM_CAPTURE_FLUSH_SECONDS",
  "BYOM_MAX_UNZIPPED_BYTES",
  "BYOM_MAX_ZIP_ENTRIES",
  "BYOM_MAX_ZIP_RATIO",
  "BYOM_MAX_BODY_BYTES",
  "BYOM_ONNX_THREADS",
  "BYOM_PARSE_THREADS",
  "BYOM_THREADS_PER_WORKER",
  "BYOM_SPLIT_ROWS",
  "BYOM_SPLIT_TIMEOUT_SECONDS",
];

function childEnv(extra: Readonly<Record<string, string>>, inheritSettings: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    // `npm run local:runtime|local:processor` take BYOM_* settings from the user's shell.
    const setting = key.startsWith("BYOM_") && (inheritSettings || RUNTIME_SETTINGS.includes(key));
    if (INHERITED.includes(key) || key.startsWith("LC_") || setting) {
      env[key] = value;
    }
  }
  return { ...env, PYTHONPATH: PYTHON_SOURCE_DIR, PYTHONUNBUFFERED: "1", ...extra };
}

export interface ProcessorRun {
  readonly sourcePath: string;
  readonly targetPath: string;
  /** BYOM_FRAMEWORK, BYOM_INPUT_SCHEMA, BYOM_OUTPUT_SCHEMA, BYOM_MODEL_ID … (docs/runtimes.md). */
  readonly env?: Readonly<Record<string, string>>;
  /** Pass this process's BYOM_* variables on (the command-line entry points only). */
  readonly inheritSettings?: boolean;
}

/** True for images whose ENTRYPOINT runs `java` (local/java-image.ts runs them). */
async function isJavaImage(image: string): Promise<boolean> {
  return isJavaDockerfile(await readFile(join(imageDir(image), "Dockerfile"), "utf8"));
}

/** What local mode prepares before first use: the venv of a Python image, the jar of a Java one. */
export async function prepareImage(image: string): Promise<void> {
  if (await isJavaImage(image)) await ensureJavaImage(imageDir(image), RUNTIME_IMAGES_DIR);
  else await ensureImageEnv(image);
}

/** A Java image's ENTRYPOINT as a local process (no PYTHONPATH: it runs no Python). */
async function javaCommand(
  image: string,
  env: Record<string, string>,
  inheritSettings: boolean,
): Promise<PythonCommand> {
  const java = await ensureJavaImage(imageDir(image), RUNTIME_IMAGES_DIR);
  return {
    command: java.command,
    args: java.args,
    env: childEnv(env, inheritSettings),
    cwd: java.projectDir,
  };
}

/** The processor as a local process: SOURCE_PATH/TARGET_PATH as the ECS task gets them. */
export async function processorCommand(name: string, run: ProcessorRun): Promise<PythonCommand> {
  const image = processorImage(name);
  if (await isJavaImage(image)) {
    return javaCommand(
      image,
      {
        ...run.env,
        SOURCE_PATH: resolve(run.sourcePath),
        TARGET_PATH: resolve(run.targetPath),
      },
      run.inheritSettings ?? false,
    );
  }
  const { python } = await ensureImageEnv(image);
  return {
    command: python,
    args: ["-m", await entrypointModule(image)],
    env: childEnv(
      {
        ...run.env,
        SOURCE_PATH: resolve(run.sourcePath),
        TARGET_PATH: resolve(run.targetPath),
      },
      run.inheritSettings ?? false,
    ),
    cwd: PYTHON_SOURCE_DIR,
  };
}

export interface RuntimeRun {
  readonly modelPath: string;
  readonly modelId: string;
  /** Local runs only; in the image the scorer listens on 8080. */
  readonly port: number;
  /** BYOM_PASSPHRASE_HASH, BYOM_PREDICT_PROBA, BYOM_BATCH_DIR, BYOM_WORKERS … (docs/runtimes.md). */
  readonly env?: Readonly<Record<string, string>>;
  /** Pass this process's BYOM_* variables on (the command-line entry points only). */
  readonly inheritSettings?: boolean;
}

/** The runtime as a local process, with the catalog entry's env under the deployment's own. */
export async function runtimeCommand(name: string, run: RuntimeRun): Promise<PythonCommand> {
  const entry = runtimeEntry(name);
  if (await isJavaImage(entry.image)) {
    return javaCommand(
      entry.image,
      {
        ...entry.env,
        ...run.env,
        MODEL_PATH: resolve(run.modelPath),
        MODEL_ID: run.modelId,
        PORT: String(run.port),
      },
      run.inheritSettings ?? false,
    );
  }
  const { python } = await ensureImageEnv(entry.image);
  return {
    command: python,
    args: ["-m", await entrypointModule(entry.image)],
    env: childEnv(
      {
        ...entry.env,
        ...run.env,
        MODEL_PATH: resolve(run.modelPath),
        MODEL_ID: run.modelId,
        PORT: String(run.port),
      },
      run.inheritSettings ?? false,
    ),
    cwd: PYTHON_SOURCE_DIR,
  };
}
