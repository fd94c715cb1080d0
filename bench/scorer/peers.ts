/** The benchmark's peer environments: `mlflow models serve` and Seldon MLServer, from PyPI. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensurePythonEnv } from "#local/python-env.ts";

const here = dirname(fileURLToPath(import.meta.url));

export async function ensurePeerEnvs(): Promise<{ mlflowServe: string; mlserver: string }> {
  const mlflowServe = await ensurePythonEnv("bench-mlflow-serve", [
    join(here, "requirements-mlflow-serve.txt"),
  ]);
  const mlserver = await ensurePythonEnv("bench-mlserver", [join(here, "requirements-mlserver.txt")]);
  return { mlflowServe: mlflowServe.python, mlserver: mlserver.python };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await ensurePeerEnvs()));
}
