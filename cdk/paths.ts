import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: handler entries (`route.handler`) and image folders are relative to it. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The Docker build context of every processor and runtime image. */
export const RUNTIME_IMAGES_DIR = join(REPO_ROOT, "runtime-images");
