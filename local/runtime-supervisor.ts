import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, renameSync, type WriteStream, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { freePort } from "./processes.ts";
import type { PythonCommand } from "./python-env.ts";

/**
 * Local mode's stand-in for ECS services: each service is one process, restarted with a backoff
 * when it dies (as ECS replaces a stopped task), its output appended to `<home>/logs/services/`.
 * A runtime's record lines on stdout (`{"event":"shadow"…}`: a champion's shadow copies) go to the
 * service's records file instead, where they can be read as on AWS with a Logs Insights filter.
 */
export interface ServiceStatus {
  readonly serviceId: string;
  readonly port: number;
  readonly pid: number | undefined;
  readonly restarts: number;
  /** The process's last lines of output, newest last, to explain a failure. */
  readonly lastLines: readonly string[];
  readonly lastExit: string | undefined;
}

interface Service {
  readonly serviceId: string;
  readonly port: number;
  command: PythonCommand | undefined;
  child: ChildProcess | undefined;
  restarts: number;
  lastLines: string[];
  lastExit: string | undefined;
  stopped: boolean;
  restartTimer: NodeJS.Timeout | undefined;
  log: WriteStream;
  readonly recordsFile: string | undefined;
  records: WriteStream | undefined;
}

export interface ServiceOptions {
  /** Where the service's record lines are appended (created with the first one). @default none: logged */
  readonly recordsFile?: string | undefined;
}

const RECORD_LINE = /^\{"event":"shadow/;

const MAX_BACKOFF_MS = 10_000;
const KEPT_LINES = 20;

export class RuntimeSupervisor {
  private readonly services = new Map<string, Service>();
  private readonly logDir: string;
  private readonly stateFile: string;

  constructor(home: string) {
    this.logDir = join(home, "logs", "services");
    this.stateFile = join(home, "services.json");
    mkdirSync(this.logDir, { recursive: true });
    this.publish();
  }

  /** `<home>/services.json`: what runs now (service, port, pid), for people and tests to inspect. */
  private publish(): void {
    writeFileSync(`${this.stateFile}.tmp`, `${JSON.stringify(this.list(), null, 2)}\n`);
    renameSync(`${this.stateFile}.tmp`, this.stateFile);
  }

  /**
   * Starts a service on a free loopback port; the command is built for that port. Returns at once:
   * building the command may first create the image's Python environment (minutes, once), during
   * which the service reports that it is preparing, as an ECS task reports PROVISIONING.
   */
  async start(
    serviceId: string,
    build: (port: number) => Promise<PythonCommand>,
    options: ServiceOptions = {},
  ): Promise<ServiceStatus> {
    if (this.services.has(serviceId)) return this.status(serviceId) as ServiceStatus;
    const port = await freePort();
    const service: Service = {
      serviceId,
      port,
      command: undefined,
      child: undefined,
      restarts: 0,
      lastLines: [],
      lastExit: "is preparing its Python environment (the first time an image runs, pip installs it)",
      stopped: false,
      restartTimer: undefined,
      log: createWriteStream(join(this.logDir, `${serviceId}.log`), { flags: "a" }),
      recordsFile: options.recordsFile,
      records: undefined,
    };
    this.services.set(serviceId, service);
    build(port).then(
      (command) => {
        service.command = command;
        service.lastExit = undefined;
        if (!service.stopped) this.spawn(service);
      },
      (error: Error) => {
        service.lastExit = `could not be prepared: ${error.message}`;
        service.log.write(`[supervisor] ${service.lastExit}\n`);
      },
    );
    this.publish();
    return this.status(serviceId) as ServiceStatus;
  }

  status(serviceId: string): ServiceStatus | undefined {
    const s = this.services.get(serviceId);
    if (!s) return undefined;
    return {
      serviceId,
      port: s.port,
      pid: s.child?.exitCode === null ? s.child.pid : undefined,
      restarts: s.restarts,
      lastLines: [...s.lastLines],
      lastExit: s.lastExit,
    };
  }

  list(): ServiceStatus[] {
    return [...this.services.keys()].map((id) => this.status(id) as ServiceStatus);
  }

  /** Stops a service (SIGTERM, then SIGKILL after a grace period) and forgets it. */
  async stop(serviceId: string, graceMs = 5_000): Promise<void> {
    const service = this.services.get(serviceId);
    if (!service) return;
    service.stopped = true;
    clearTimeout(service.restartTimer);
    this.services.delete(serviceId);
    const child = service.child;
    this.publish();
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    }
    service.log.end();
    service.records?.end();
  }

  private recordsOf(service: Service): WriteStream {
    service.records ??= recordsStream(service.recordsFile as string);
    return service.records;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.services.keys()].map((id) => this.stop(id, 3_000)));
  }

  private spawn(service: Service): void {
    const { command } = service;
    if (!command) return;
    const child = spawn(command.command, [...command.args], {
      env: command.env as NodeJS.ProcessEnv,
      cwd: command.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    service.child = child;
    this.publish();
    const remember = (text: string) => {
      for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        service.lastLines.push(line.trim());
        if (service.lastLines.length > KEPT_LINES) service.lastLines.shift();
      }
    };
    child.stderr?.on("data", (chunk: Buffer) => {
      service.log.write(chunk);
      remember(chunk.toString("utf8"));
    });
    // stdout by whole lines: a record line (up to 64 KiB of answer) arrives in several chunks.
    let partial = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (service.recordsFile && RECORD_LINE.test(line)) {
          this.recordsOf(service).write(`${line}\n`);
        } else {
          service.log.write(`${line}\n`);
          remember(line);
        }
      }
    });
    child.stdout?.on("end", () => {
      if (partial) service.log.write(`${partial}\n`);
      partial = "";
    });
    child.on("error", (error) => {
      service.lastExit = `could not start: ${error.message}`;
    });
    child.on("exit", (code, signal) => {
      service.lastExit = signal ? `killed by ${signal}` : `exited with code ${code}`;
      if (service.stopped) return;
      this.publish();
      service.restarts += 1;
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(service.restarts, 5));
      service.log.write(`[supervisor] ${service.lastExit}; restart ${service.restarts} in ${delay} ms\n`);
      service.restartTimer = setTimeout(() => {
        if (!service.stopped) this.spawn(service);
      }, delay);
    });
  }
}

/** The records file's stream, opened at the first record. */
function recordsStream(file: string): WriteStream {
  mkdirSync(dirname(file), { recursive: true });
  return createWriteStream(file, { flags: "a" });
}
