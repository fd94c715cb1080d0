import type { ByomClient, ResponseOf } from "../../api-client.ts";
import { UsageError } from "../../errors.ts";
import type { RouteOf } from "../../operations.ts";
import { type Command, type CommandContext, defineCommand } from "../command.ts";
import type { Column, Output } from "../output.ts";
import { projectOption, resolveProjectId } from "./resolve.ts";

type Project = ResponseOf<RouteOf<"getProject">>;

const projectColumns = [
  { header: "ID", value: (p: Project) => p.projectId },
  { header: "NAME", value: (p: Project) => p.name },
  { header: "ROLE", value: (p: Project) => p.role },
  { header: "CREATED", value: (p: Project) => p.createdAt },
  { header: "DESCRIPTION", value: (p: Project) => p.description },
];

export const projectsCreate = defineCommand({
  name: "projects create",
  summary: "Create a project; you become its owner",
  positionals: [{ name: "name", description: "the project's name" }],
  options: { description: { type: "string", placeholder: "text", description: "What the project is for" } },
  examples: ['byom projects create fraud --description "card fraud models"'],
  async run(ctx) {
    const project = await ctx.client().call("createProject", {
      body: { name: ctx.positionals[0] as string, description: ctx.string("description") },
    });
    ctx.out.result(project, () => ctx.out.table([project], projectColumns));
  },
});

export const projectsList = defineCommand({
  name: "projects list",
  summary: "List the projects you are a member of",
  options: listOptions(),
  examples: ["byom projects list", "byom projects list --json"],
  async run(ctx) {
    const page = await listPage(ctx, (query) => ctx.client().call("listProjects", { query }));
    ctx.out.result(page, () =>
      ctx.out.table(page.items, projectColumns, "No projects yet: byom projects create <name>"),
    );
  },
});

export const projectsShow = defineCommand({
  name: "projects show",
  summary: "Show a project",
  positionals: [{ name: "project", description: "project id or name" }],
  examples: ["byom projects show fraud"],
  async run(ctx) {
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.positionals[0] as string);
    const project = await client.call("getProject", { params: { projectId } });
    ctx.out.result(project, () =>
      ctx.out.fields([
        ["id", project.projectId],
        ["name", project.name],
        ["description", project.description],
        ["owner", project.owner],
        ["your role", project.role],
        ["created", project.createdAt],
      ]),
    );
  },
});

/** `--limit`, `--cursor` and `--all`, shared by every list command. */
export function listOptions() {
  return {
    limit: { type: "string", placeholder: "n", description: "Items per page, 1-100", default: "20" },
    cursor: {
      type: "string",
      placeholder: "cursor",
      description: "Continue from a previous page's next cursor",
    },
    all: { type: "boolean", description: "Follow cursors and print every item" },
  } as const;
}

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** One page (or every page with `--all`); tells people on stderr how to get the next one. */
export async function listPage<T>(
  ctx: CommandContext,
  fetchPage: (query: { limit: number; cursor?: string }) => Promise<Page<T>>,
): Promise<Page<T>> {
  const limit = Number(ctx.string("limit") ?? "20");
  let cursor = ctx.string("cursor");
  if (!ctx.flag("all")) {
    const page = await fetchPage({ limit, ...(cursor ? { cursor } : {}) });
    if (page.nextCursor && !ctx.out.json) {
      ctx.out.note(`More items: add --cursor ${page.nextCursor} (or --all).`);
    }
    return page;
  }
  const items: T[] = [];
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await fetchPage({ limit: 100, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return { items, nextCursor: null };
}

/** `<things> list --project <project>`: one page (or `--all`) of a project's items as a table. */
export function projectListCommand<T>(spec: {
  readonly name: string;
  readonly summary: string;
  readonly examples: readonly string[];
  readonly fetchPage: (
    client: ByomClient,
    projectId: string,
    query: { limit: number; cursor?: string },
  ) => Promise<Page<T>>;
  /** A function of the output when a column paints (colours only on a terminal). */
  readonly columns: readonly Column<T>[] | ((out: Output) => readonly Column<T>[]);
  /** What to print when the project has none yet: the command that makes one. */
  readonly empty?: string;
}): Command {
  return defineCommand({
    name: spec.name,
    summary: spec.summary,
    options: { ...projectOption, ...listOptions() },
    examples: spec.examples,
    async run(ctx) {
      const client = ctx.client();
      const projectId = await resolveProjectId(client, ctx.required("project"));
      const page = await listPage(ctx, (query) => spec.fetchPage(client, projectId, query));
      const columns = typeof spec.columns === "function" ? spec.columns(ctx.out) : spec.columns;
      ctx.out.result(page, () => ctx.out.table(page.items, columns, spec.empty));
    },
  });
}

const ROLES = ["viewer", "editor", "owner"] as const;

export const membersList = projectListCommand({
  name: "projects members list",
  summary: "List a project's members and their roles",
  examples: ["byom projects members list --project fraud"],
  fetchPage: (client, projectId, query) => client.call("listMembers", { params: { projectId }, query }),
  columns: [
    { header: "PRINCIPAL", value: (m) => m.principal },
    { header: "ROLE", value: (m) => m.role },
    { header: "ADDED", value: (m) => m.addedAt },
  ],
});

export const membersAdd = defineCommand({
  name: "projects members add",
  summary: "Add a member to a project, or change a member's role (owners only)",
  positionals: [{ name: "principal", description: "an IAM principal ARN, or local:<user> in local mode" }],
  options: {
    ...projectOption,
    role: { type: "string", placeholder: "role", required: true, description: "viewer, editor or owner" },
  },
  examples: [
    "byom projects members add arn:aws:iam::123456789012:role/DataScientist --project fraud --role editor",
  ],
  async run(ctx) {
    const role = ctx.required("role") as (typeof ROLES)[number];
    if (!ROLES.includes(role))
      throw new UsageError(`--role is one of ${ROLES.join(", ")}.`, "projects members add");
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const member = await client.call("putMember", {
      params: { projectId },
      body: { principal: ctx.positionals[0] as string, role },
    });
    ctx.out.result(member, () => `${member.principal} is ${member.role} of project ${projectId}.`);
  },
});

export const membersRemove = defineCommand({
  name: "projects members remove",
  summary: "Remove a member from a project (owners only)",
  positionals: [{ name: "principal", description: "the member's principal" }],
  options: { ...projectOption },
  examples: ["byom projects members remove local:ana --project fraud"],
  async run(ctx) {
    const client = ctx.client();
    const projectId = await resolveProjectId(client, ctx.required("project"));
    const principal = ctx.positionals[0] as string;
    await client.call("deleteMember", { params: { projectId }, query: { principal } });
    ctx.out.result(
      { projectId, principal, removed: true },
      () => `${principal} is no longer a member of ${projectId}.`,
    );
  },
});
