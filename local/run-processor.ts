/**
 * `npm run local:processor -- <processor-name> <SOURCE_PATH> <TARGET_PATH>`: runs a built-in
 * artifact processor as a local process in its image's pinned venv. Extra settings (BYOM_FRAMEWORK,
 * BYOM_INPUT_SCHEMA, …) pass through the environment.
 */
import { runToExit } from "./processes.ts";
import { processorCommand } from "./python-env.ts";

const [name, sourcePath, targetPath] = process.argv.slice(2);
if (!name || !sourcePath || !targetPath) {
  process.stderr.write("usage: npm run local:processor -- <processor-name> <SOURCE_PATH> <TARGET_PATH>\n");
  process.exit(64);
}
const command = await processorCommand(name, { sourcePath, targetPath, inheritSettings: true });
process.exit(await runToExit(command));
