#!/usr/bin/env node
/**
 * The `byom` launcher (package.json `bin`). It runs the TypeScript CLI (`main.ts`) through tsx on
 * the project's Node (the `node` devDependency, Node 22) when present, re-executing itself on it
 * if started by another Node, so `npx byom …` behaves the same whichever Node is on PATH.
 */
import { spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const projectNode = join(resolve(here, "../.."), "node_modules/node/bin/node");
const onProjectNode =
  !existsSync(projectNode) || realpathSync(process.execPath) === realpathSync(projectNode);

if (onProjectNode) {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("./main.ts");
  process.exitCode = await main(process.argv.slice(2));
} else {
  const child = spawn(projectNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? (signal ? 128 + 2 : 1);
  });
}
