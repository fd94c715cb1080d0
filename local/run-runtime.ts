/**
 * `npm run local:runtime -- <runtime-name> <MODEL_PATH> <MODEL_ID> <PORT>`: serves a ready model
 * with a built-in runtime as a local process in its image's pinned venv. Extra settings
 * (BYOM_PASSPHRASE_HASH, BYOM_PREDICT_PROBA, …) pass through the environment.
 */
import { runToExit } from "./processes.ts";
import { runtimeCommand } from "./python-env.ts";

const [name, modelPath, modelId, port] = process.argv.slice(2);
if (!name || !modelPath || !modelId || !port || !/^\d+$/.test(port)) {
  process.stderr.write("usage: npm run local:runtime -- <runtime-name> <MODEL_PATH> <MODEL_ID> <PORT>\n");
  process.exit(64);
}
const command = await runtimeCommand(name, {
  modelPath,
  modelId,
  port: Number(port),
  inheritSettings: true,
});
process.exit(await runToExit(command));
