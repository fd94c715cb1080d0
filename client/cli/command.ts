import { parseArgs } from "node:util";
import { ByomClient } from "../api-client.ts";
import { type ClientConfig, resolveConfig } from "../config.ts";
import { UsageError } from "../errors.ts";
import type { Output } from "./output.ts";

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly description: string;
  readonly short?: string;
  /** Shown in help: `--project <project>`. */
  readonly placeholder?: string;
  readonly required?: boolean;
  readonly multiple?: boolean;
  readonly default?: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  /** Takes every remaining argument. */
  readonly variadic?: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface CommandContext {
  readonly options: OptionValues;
  readonly positionals: readonly string[];
  readonly out: Output;
  /** Resolved on first use, so `--help` and usage errors work without a platform. */
  config(): ClientConfig;
  client(): ByomClient;
  /** A string option the command declared `required` (checked before `run`). */
  required(name: string): string;
  string(name: string): string | undefined;
  flag(name: string): boolean;
}

export interface Command {
  /** Words that select it, e.g. `projects create`. */
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly options?: Readonly<Record<string, OptionSpec>>;
  readonly examples: readonly string[];
  run(context: CommandContext): Promise<void>;
}

export const defineCommand = (command: Command): Command => command;

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  json: { type: "boolean", description: "Print the result as JSON (for scripts)" },
  "api-url": {
    type: "string",
    placeholder: "url",
    description: "Registry API base URL (AWS; default: local mode's .byom/local.json, or BYOM_API_URL)",
  },
  region: {
    type: "string",
    placeholder: "region",
    description: "AWS region for SigV4 (default: AWS_REGION)",
  },
  help: { type: "boolean", short: "h", description: "Show this help" },
};

export interface Parsed {
  readonly options: OptionValues;
  readonly positionals: string[];
}

export function parseCommandLine(command: Command, argv: readonly string[]): Parsed {
  const specs = { ...GLOBAL_OPTIONS, ...command.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(specs).map(([name, spec]) => [
          name,
          {
            type: spec.type,
            ...(spec.short ? { short: spec.short } : {}),
            ...(spec.multiple ? { multiple: true } : {}),
          },
        ]),
      ),
    });
  } catch (error) {
    throw new UsageError(cleanParseError((error as Error).message), command.name);
  }
  const options = parsed.values as OptionValues;
  if (options.help) return { options, positionals: parsed.positionals };

  const positionals = parsed.positionals;
  const declared = command.positionals ?? [];
  const requiredCount = declared.filter((p) => !p.optional).length;
  const variadic = declared.some((p) => p.variadic);
  if (positionals.length < requiredCount) {
    const missing = declared.filter((p) => !p.optional)[positionals.length];
    throw new UsageError(`Missing <${missing?.name}>: ${missing?.description}.`, command.name);
  }
  if (!variadic && positionals.length > declared.length) {
    throw new UsageError(`Unexpected argument '${positionals[declared.length]}'.`, command.name);
  }
  for (const [name, spec] of Object.entries(command.options ?? {})) {
    if (options[name] === undefined && spec.default !== undefined) options[name] = spec.default;
    if (spec.required && (options[name] === undefined || options[name] === "")) {
      throw new UsageError(
        `Missing --${name} <${spec.placeholder ?? name}>: ${spec.description}.`,
        command.name,
      );
    }
  }
  return { options, positionals };
}

/** parseArgs' messages mention internals; keep the part a person needs. */
function cleanParseError(message: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `Unknown option '${unknown[1]}'.`;
  const needsValue = /Option '([^']+)' argument missing/.exec(message);
  if (needsValue) return `Option '${needsValue[1]}' needs a value.`;
  return message.replace(/\. To specify a positional argument.*$/s, ".");
}

export function contextFor(parsed: Parsed, out: Output, env: NodeJS.ProcessEnv): CommandContext {
  let config: ClientConfig | undefined;
  let client: ByomClient | undefined;
  const context: CommandContext = {
    options: parsed.options,
    positionals: parsed.positionals,
    out,
    config() {
      config ??= resolveConfig({
        apiUrl: context.string("api-url"),
        region: context.string("region"),
        env,
      });
      return config;
    },
    client() {
      client ??= new ByomClient(context.config());
      return client;
    },
    required(name) {
      const value = context.string(name);
      if (value === undefined) throw new UsageError(`Missing --${name}.`);
      return value;
    },
    string(name) {
      const value = parsed.options[name];
      return typeof value === "string" ? value : undefined;
    },
    flag(name) {
      return parsed.options[name] === true;
    },
  };
  return context;
}

export function commandHelp(command: Command): string {
  const positionals = (command.positionals ?? [])
    .map((p) =>
      p.optional ? `[${p.name}${p.variadic ? "..." : ""}]` : `<${p.name}>${p.variadic ? "..." : ""}`,
    )
    .join(" ");
  const options = Object.entries(command.options ?? {});
  const usageOptions = options
    .filter(([, spec]) => spec.required)
    .map(([name, spec]) => `--${name} <${spec.placeholder ?? name}>`)
    .join(" ");
  const lines = [
    `Usage: byom ${command.name}${positionals ? ` ${positionals}` : ""}${usageOptions ? ` ${usageOptions}` : ""} [options]`,
    "",
    command.summary,
  ];
  if (command.description) lines.push("", command.description);
  if (command.positionals?.length) {
    lines.push("", "Arguments:");
    for (const p of command.positionals) lines.push(`  ${p.name.padEnd(24)} ${p.description}`);
  }
  const optionLines = (entries: [string, OptionSpec][]) =>
    entries.map(([name, spec]) => {
      const flag = `${spec.short ? `-${spec.short}, ` : ""}--${name}${spec.type === "string" ? ` <${spec.placeholder ?? name}>` : ""}`;
      const extra = [
        spec.required ? "required" : "",
        spec.default !== undefined ? `default: ${spec.default}` : "",
      ]
        .filter(Boolean)
        .join(", ");
      return `  ${flag.padEnd(30)} ${spec.description}${extra ? ` (${extra})` : ""}`;
    });
  if (options.length) lines.push("", "Options:", ...optionLines(options));
  const globals = Object.entries(GLOBAL_OPTIONS).filter(([name]) => !command.options?.[name]);
  lines.push("", "Global options:", ...optionLines(globals));
  lines.push(
    "",
    command.examples.length > 1 ? "Examples:" : "Example:",
    ...command.examples.map((e) => `  ${e}`),
  );
  return `${lines.join("\n")}\n`;
}
