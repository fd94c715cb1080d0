import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { StateMachine } from "aws-local-stepfunctions";
import { type EmulatorCredentials, type GuardedEndpoint, guardEmulator } from "./emulator-guard.ts";
import { privateSocket } from "./emulators.ts";

type TaskHandler = (input: unknown) => Promise<unknown>;

export interface ExecutionSummary {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED";
  readonly startDate: number;
  stopDate?: number;
  /** States entered, Map iterations included: what a Standard workflow bills. */
  transitions: number;
  error?: string;
  cause?: string;
}

/**
 * Local mode's stand-in for the Step Functions service: the AWS SDK's StartExecution and
 * DescribeExecution (JSON 1.0 protocol) on loopback, each execution run by aws-local-stepfunctions
 * on the synthesized definition with every Task bound to a local handler. Finished executions are
 * written to `<home>/executions/<name>.json`.
 */
export class LocalStepFunctions {
  private readonly machines = new Map<string, Promise<StateMachine>>();
  private readonly executions = new Map<string, ExecutionSummary>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly aborters = new Map<string, () => void>();
  private server: Server | undefined;
  private readonly executionDir: string;

  private guard: GuardedEndpoint | undefined;
  private socket: { path: string; remove(): void } | undefined;

  constructor(
    home: string,
    private readonly credentials: EmulatorCredentials,
    private readonly taskHandlers: () => Promise<Record<string, TaskHandler>>,
  ) {
    this.executionDir = join(home, "executions");
    mkdirSync(this.executionDir, { recursive: true });
  }

  /** Registers a definition, or the promise of one (synthesis runs while local mode starts). */
  register(
    stateMachineArn: string,
    definition: Record<string, unknown> | Promise<Record<string, unknown>>,
  ): void {
    const machine = Promise.resolve(definition).then(
      (resolved) => new StateMachine(resolved as never, { validationOptions: { checkArn: false } }),
    );
    machine.catch((error: Error) =>
      console.error(`local step functions: ${stateMachineArn} is unavailable: ${error.message}`),
    );
    this.machines.set(stateMachineArn, machine);
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        answer(res, 500, { __type: "InternalFailure", message: (error as Error).message });
      });
    });
    this.server = server;
    // Like the other emulators: a private socket, reachable only through the guard.
    const socket = privateSocket("states");
    this.socket = socket;
    await new Promise<void>((resolve) => server.listen(socket.path, () => resolve()));
    this.guard = await guardEmulator({
      what: "Step Functions stand-in",
      port: 0,
      upstreamSocket: socket.path,
      credentials: this.credentials,
      bodyInSignature: true,
    });
    return this.guard.endpoint;
  }

  /** Resolves once no execution runs (tests and benchmarks wait on this). */
  async whenIdle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  async close(): Promise<void> {
    for (const abort of this.aborters.values()) abort();
    await Promise.allSettled([...this.running.values()]);
    await this.guard?.close();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    }
    this.socket?.remove();
  }

  async start(stateMachineArn: string, name: string, input: unknown): Promise<ExecutionSummary> {
    const pending = this.machines.get(stateMachineArn);
    if (!pending)
      throw new ServiceError("StateMachineDoesNotExist", `State machine ${stateMachineArn} does not exist.`);
    const machine = await pending;
    const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;
    if (this.executions.has(executionArn)) {
      throw new ServiceError("ExecutionAlreadyExists", `Execution ${name} already exists.`);
    }
    const summary: ExecutionSummary = {
      executionArn,
      stateMachineArn,
      name,
      status: "RUNNING",
      startDate: Date.now() / 1000,
      transitions: 0,
    };
    this.executions.set(executionArn, summary);
    const done = this.run(machine, summary, input).finally(() => this.running.delete(executionArn));
    this.running.set(executionArn, done);
    return summary;
  }

  private async run(machine: StateMachine, summary: ExecutionSummary, input: unknown): Promise<void> {
    const overrides = { taskResourceLocalHandlers: (await this.taskHandlers()) as never };
    const execution = machine.run(input as never, {
      overrides,
      context: {
        Execution: { Id: summary.executionArn, Name: summary.name, StartTime: new Date().toISOString() },
      },
    });
    this.aborters.set(summary.executionArn, execution.abort);
    const counting = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === "StateEntered") summary.transitions += 1;
      }
    })();
    try {
      await execution.result;
      summary.status = "SUCCEEDED";
    } catch (error) {
      const failure = error as Error & { cause?: unknown };
      summary.status = failure.name === "ExecutionAbortedError" ? "ABORTED" : "FAILED";
      summary.error = failure.name;
      summary.cause = String(failure.cause ?? failure.message);
      if (
        summary.status === "FAILED" &&
        !failure.message.includes("DeploymentFailed") &&
        !failure.message.includes("DeleteFailed")
      ) {
        console.error(`local step functions: execution ${summary.name} failed: ${failure.message}`);
      }
    } finally {
      summary.stopDate = Date.now() / 1000;
      this.aborters.delete(summary.executionArn);
      await counting.catch(() => undefined);
      writeFileSync(join(this.executionDir, `${summary.name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers["x-amz-target"] ?? "");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
    try {
      if (target === "AWSStepFunctions.StartExecution") {
        const name = String(body.name ?? randomUUID());
        const input = JSON.parse(String(body.input ?? "{}")) as unknown;
        const summary = await this.start(String(body.stateMachineArn), name, input);
        answer(res, 200, { executionArn: summary.executionArn, startDate: summary.startDate });
      } else if (target === "AWSStepFunctions.DescribeExecution") {
        const summary = this.executions.get(String(body.executionArn));
        if (!summary)
          throw new ServiceError(
            "ExecutionDoesNotExist",
            `Execution ${String(body.executionArn)} does not exist.`,
          );
        answer(res, 200, { ...summary, transitions: undefined });
      } else {
        throw new ServiceError("UnknownOperationException", `Local mode does not implement ${target}.`);
      }
    } catch (error) {
      if (error instanceof ServiceError) answer(res, 400, { __type: error.type, message: error.message });
      else throw error;
    }
  }
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
  res.end(JSON.stringify(body));
}
