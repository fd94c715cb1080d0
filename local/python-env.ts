/**
 * Local stand-ins for the processor and runtime images: no Docker engine is needed. Each image
 * folder under runtime-images/ gets a project-local venv holding exactly that image's pinned
 * requirements.txt (so what runs locally is what the image holds), and the package the image
 * runs (cdk/image-builds.ts) runs in it with runtime-images/python on PYTHONPATH, as in the image.
 *
 * Local mode's deployer spawns processors and runtimes through `processorCommand` and
 * `runtimeCommand`; the `local:processor` and `local:runtime` scripts are thin wrappers.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { imageBuild } from "#cdk/image-builds.ts";
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

function builtinEntry<T extends { readonly name: string }>(
  kind: string,
  entries: readonly T[],
  name: string,
): T {
  const entry = entries.find((e) => e.name === name);
  if (!entry)
    throw new UnknownImageError(
      kind,
      name,
      entries.map((e) => e.name),
    );
  return entry;
}

export function processorImage(name: string): string {
  return builtinEntry("processor", BUILTIN_CATALOG.artifactProcessors, name).image;
}

export function runtimeEntry(name: string): (typeof BUILTIN_CATALOG.runtimes)[number] {
  return builtinEntry("runtime", BUILTIN_CATALOG.runtimes, name);
}

function imageDir(image: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(image)) {
    throw new PythonEnvError(`image "${image}" is not a folder under runtime-images/`);
  }
  return join(RUNTIME_IMAGES_DIR, image);
}

/** The package a Python image runs with `python -m` (cdk/image-builds.ts, as its Dockerfile does). */
export function entrypointModule(image: string): string {
  const module = imageBuild(image).pythonPackage;
  if (!module)
    throw new PythonEnvError(`runtime-images/${image} is not a Python image (cdk/image-builds.ts)`);
  return module;
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
  await ensureVenv(image, venvDir, basePython, [requirements], options.verbose ?? false);
  if (!options.withTestTools) return { image, ...pythonEnvAt(venvDir) };
  const testRequirements = join(PYTHON_SOURCE_DIR, "requirements-test.txt");
  const testDir = `${venvDir}-test-${await hashFiles([testRequirements])}`;
  await ensureVenv(
    `${image}-test`,
    testDir,
    basePython,
    [testRequirements],
    options.verbose ?? false,
    venvDir,
  );
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
  await ensureVenv(name, venvDir, basePython, requirementFiles, options.verbose ?? false, undefined, true);
  return pythonEnvAt(venvDir);
}

/** What is being prepared now in this process, by image (or env) name, for people waiting on it. */
const preparing = new Map<string, string>();

/**
 * What this process is doing to the Python environment of `name` (an image folder or an env
 * name), e.g. "installing the Python environment of image tabular-runtime (step 2 of 2: …)";
 * undefined when nothing is under way. Local mode shows it while a deployment waits for its runtime.
 */
export function environmentPreparation(name: string): string | undefined {
  return preparing.get(name);
}

/** The same for a built-in runtime, by its catalog name (undefined for a name the catalog lacks). */
export function runtimePreparation(runtime: string): string | undefined {
  const image = BUILTIN_CATALOG.runtimes.find((r) => r.name === runtime)?.image;
  return image === undefined ? undefined : environmentPreparation(image);
}

async function countRequirements(files: readonly string[]): Promise<number> {
  let count = 0;
  for (const file of files) {
    const lines = (await readFile(file, "utf8")).split("\n").map((line) => line.trim());
    count += lines.filter((line) => line && !line.startsWith("#") && !line.startsWith("-")).length;
  }
  return count;
}

async function ensureVenv(
  name: string,
  venvDir: string,
  basePython: string,
  requirementFiles: readonly string[],
  verbose: boolean,
  layeredOver?: string,
  resolveDependencies = false,
): Promise<void> {
  if (existsSync(join(venvDir, READY_MARKER))) return;
  await mkdir(VENVS_DIR, { recursive: true });
  const what = `installing the Python environment of ${name}`;
  const say = (step: string) => preparing.set(name, `${what} (${step})`);
  // Set before the lock: another install of the same venv (this process or another) may hold it.
  if (!preparing.has(name)) say("waiting for the install already under way to finish");
  try {
    await withDirLock(`${venvDir}.lock`, async () => {
      if (existsSync(join(venvDir, READY_MARKER))) return;
      await rm(venvDir, { recursive: true, force: true });
      const started = Date.now();
      const packages = await countRequirements(requirementFiles);
      process.stderr.write(`byom: ${what}: ${packages} packages into ${venvDir} (once per machine)\n`);
      say("step 1 of 2: creating the venv");
      await run(basePython, ["-m", "venv", venvDir], { inheritOutput: verbose });
      const python = join(venvDir, "bin", "python");
      if (layeredOver) {
        // The layer sees the base venv's packages (and pip counts them as installed), so test
        // tools are added without copying torch or TensorFlow a second time.
        const site = await sitePackages(python);
        const baseSite = await sitePackages(join(layeredOver, "bin", "python"));
        await writeFile(join(site, "byom-base-venv.pth"), `${baseSite}\n`);
      }
      say(`step 2 of 2: pip installs ${packages} packages, once per machine; this can take minutes`);
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
  } finally {
    preparing.delete(name);
  }
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
  imageDir(image); // refuses a name that is no image folder
  const build = imageBuild(image);
  if (build.pythonPackage) return false;
  return isJavaDockerfile(await readFile(join(RUNTIME_IMAGES_DIR, build.file), "utf8"));
}

/** What local mode prepares before first use: the venv of a Python image, the jar of a Java one. */
export async function prepareImage(image: string): Promise<void> {
  if (await isJavaImage(image)) await ensureJavaImage(imageDir(image), RUNTIME_IMAGES_DIR);
  else await ensureImageEnv(image);
}

/**
 * An image's process as local mode runs it: a Java image's ENTRYPOINT (no PYTHONPATH: it runs no
 * Python), or a Python image's package in its venv, with the contract variables in `env`.
 */
async function imageCommand(
  image: string,
  env: Record<string, string>,
  inheritSettings: boolean,
): Promise<PythonCommand> {
  if (await isJavaImage(image)) {
    const java = await ensureJavaImage(imageDir(image), RUNTIME_IMAGES_DIR);
    return {
      command: java.command,
      args: java.args,
      env: childEnv(env, inheritSettings),
      cwd: java.projectDir,
    };
  }
  const { python } = await ensureImageEnv(image);
  return {
    command: python,
    args: ["-m", entrypointModule(image)],
    env: childEnv(env, inheritSettings),
    cwd: PYTHON_SOURCE_DIR,
  };
}

/** The processor as a local process: SOURCE_PATH/TARGET_PATH as the ECS task gets them. */
export async function processorCommand(name: string, run: ProcessorRun): Promise<PythonCommand> {
  return imageCommand(
    processorImage(name),
    { ...run.env, SOURCE_PATH: resolve(run.sourcePath), TARGET_PATH: resolve(run.targetPath) },
    run.inheritSettings ?? false,
  );
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
  return imageCommand(
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
