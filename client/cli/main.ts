import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiError, ClientError, UsageError } from "../errors.ts";
import { type Command, commandHelp, contextFor, GLOBAL_OPTIONS, parseCommandLine } from "./command.ts";
import { COMMANDS } from "./commands/index.ts";
import { Output, red } from "./output.ts";

/**
 * `byom`: the command line for the registry API. Exit codes scripts can trust: 0 done, 1 the
 * request or the input failed (the message says why and what to do), 2 the command line is wrong.
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const words = commandWords(argv).map((i) => argv[i] as string);
  const command = findCommand(words);

  if (!command) {
    const wantsHelp =
      argv.length === 0 || argv.includes("--help") || argv.includes("-h") || argv[0] === "help";
    const group = words[0] && COMMANDS.some((c) => c.name.split(" ")[0] === words[0]) ? words[0] : undefined;
    if (wantsHelp) {
      process.stdout.write(topHelp(group));
      return EXIT_OK;
    }
    if (group) {
      const sub = words[1]
        ? `Unknown command 'byom ${words.slice(0, 2).join(" ")}'.`
        : `'byom ${group}' needs a command.`;
      process.stderr.write(`${red(process.stderr, "error:")} ${sub}\n\n${topHelp(group)}`);
      return EXIT_USAGE;
    }
    if (argv.includes("--version")) {
      process.stdout.write("byom 0.1.0\n");
      return EXIT_OK;
    }
    process.stderr.write(
      `${red(process.stderr, "error:")} Unknown command '${words.join(" ")}'. Run 'byom --help' for the list.\n`,
    );
    return EXIT_USAGE;
  }

  const taken = new Set(commandWords(argv).slice(0, command.name.split(" ").length));
  const rest = argv.filter((_, i) => !taken.has(i));
  try {
    const parsed = parseCommandLine(command, rest);
    if (parsed.options.help) {
      process.stdout.write(commandHelp(command));
      return EXIT_OK;
    }
    await command.run(contextFor(parsed, new Output(parsed.options.json === true), env));
    return EXIT_OK;
  } catch (error) {
    return rest.includes("--json") ? reportJson(error) : report(error, command);
  }
}

/**
 * With --json a failure is one JSON object on stderr (stdout stays empty), so scripts parse
 * both outcomes: {"error": {"code", "message", "status"?, "details"?}}; exit codes as always.
 */
function reportJson(error: unknown): number {
  const { code, exit } =
    error instanceof UsageError
      ? { code: "USAGE", exit: EXIT_USAGE }
      : error instanceof ApiError
        ? { code: error.code, exit: EXIT_FAILED }
        : error instanceof ClientError
          ? { code: "CLIENT", exit: EXIT_FAILED }
          : { code: "UNEXPECTED", exit: EXIT_FAILED };
  const body: Record<string, unknown> = { code, message: (error as Error)?.message ?? String(error) };
  if (error instanceof ApiError) {
    body.status = error.status;
    if (error.details.length > 0) body.details = error.details;
  }
  process.stderr.write(`${JSON.stringify({ error: body })}\n`);
  return exit;
}

function report(error: unknown, command: Command): number {
  const err = process.stderr;
  if (error instanceof UsageError) {
    err.write(
      `${red(err, "error:")} ${error.message}\nRun 'byom ${error.command ?? command.name} --help' for usage.\n`,
    );
    return EXIT_USAGE;
  }
  if (error instanceof ApiError) {
    err.write(`${red(err, "error:")} ${error.message} ${`(${error.code}, HTTP ${error.status})`}\n`);
    for (const detail of error.details) {
      const d = detail as { path?: string; message?: string };
      if (d?.message) err.write(`  - ${d.path ? `${d.path}: ` : ""}${d.message}\n`);
    }
    return EXIT_FAILED;
  }
  if (error instanceof ClientError) {
    err.write(`${red(err, "error:")} ${error.message}\n`);
    return EXIT_FAILED;
  }
  err.write(`${red(err, "error:")} byom failed unexpectedly: ${(error as Error)?.stack ?? String(error)}\n`);
  return EXIT_FAILED;
}

/** The longest run of leading words that names a command (`deployments show` before `deployments`). */
function findCommand(words: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const command of COMMANDS) {
    const name = command.name.split(" ");
    if (name.every((word, i) => words[i] === word) && (!best || name.length > best.name.split(" ").length)) {
      best = command;
    }
  }
  return best;
}

/** Indices of the arguments that are words, not options or the values of global options. */
function commandWords(argv: readonly string[]): number[] {
  const valued = new Set(
    Object.entries(GLOBAL_OPTIONS)
      .filter(([, spec]) => spec.type === "string")
      .map(([name]) => `--${name}`),
  );
  const indices: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    if (valued.has(arg)) i++;
    else if (!arg.startsWith("-")) indices.push(i);
  }
  return indices;
}

function topHelp(group?: string): string {
  const shown = COMMANDS.filter((c) => !group || c.name.split(" ")[0] === group);
  const width = Math.max(...shown.map((c) => c.name.length));
  return [
    group ? `Usage: byom ${group} <command> [options]` : "Usage: byom <command> [options]",
    "",
    group
      ? `Commands of 'byom ${group}':`
      : "Byom command line: projects, uploads, models, deployments and scoring, in local mode or on AWS.",
    ...(group ? [] : ["", "Commands:"]),
    ...shown.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Configuration: in local mode nothing (reads .byom/local.json, or $BYOM_HOME/local.json);",
    "on AWS --api-url <url> (or BYOM_API_URL) and the standard AWS credential chain (SigV4).",
    "Exit codes: 0 done, 1 failed (the message says why), 2 wrong command line.",
    "",
    "Run 'byom <command> --help' for a command's options and an example.",
    "",
  ].join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
