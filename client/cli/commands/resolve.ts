import type { ByomClient } from "../../api-client.ts";
import { ClientError } from "../../errors.ts";

const PROJECT_ID = /^prj-[0-9a-z]{26}$/;

/** `--project` takes a project id or the name of one of the caller's projects. */
export async function resolveProjectId(client: ByomClient, project: string): Promise<string> {
  if (PROJECT_ID.test(project)) return project;
  const matches: string[] = [];
  for await (const item of client.all("listProjects", {})) {
    if (item.name === project) matches.push(item.projectId);
  }
  if (matches.length === 1) return matches[0] as string;
  if (matches.length === 0) {
    throw new ClientError(
      `No project named '${project}' among your projects. Run 'byom projects list' to see them, or 'byom projects create ${project}' to create it.`,
    );
  }
  throw new ClientError(
    `${matches.length} of your projects are named '${project}' (${matches.join(", ")}). Pass the project id instead.`,
  );
}

/** The `--project` option most commands take. */
export const projectOption = {
  project: { type: "string", placeholder: "project", required: true, description: "Project id or name" },
} as const;
