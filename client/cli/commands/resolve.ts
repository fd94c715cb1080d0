import type { ByomClient } from "../../api-client.ts";
import { ClientError } from "../../errors.ts";

const PROJECT_ID = /^prj-[0-9a-z]{26}$/;

/**
 * The id of the one item named `name` among `items` (ids pass as they are); none or several is a
 * ClientError with the given message, which says how to see them or to pass the id.
 */
export async function resolveName<T>(
  name: string,
  idPattern: RegExp,
  items: AsyncIterable<T>,
  pick: (item: T) => { readonly name: string; readonly id: string } | undefined,
  messages: { none: string; several: (count: number, ids: string) => string },
): Promise<string> {
  if (idPattern.test(name)) return name;
  const matches: string[] = [];
  for await (const item of items) {
    const picked = pick(item);
    if (picked?.name === name) matches.push(picked.id);
  }
  if (matches.length === 1) return matches[0] as string;
  if (matches.length === 0) throw new ClientError(messages.none);
  throw new ClientError(messages.several(matches.length, matches.join(", ")));
}

/** `--project` takes a project id or the name of one of the caller's projects. */
export function resolveProjectId(client: ByomClient, project: string): Promise<string> {
  return resolveName(
    project,
    PROJECT_ID,
    client.all("listProjects", {}),
    (p) => ({ name: p.name, id: p.projectId }),
    {
      none: `No project named '${project}' among your projects. Run 'byom projects list' to see them, or 'byom projects create ${project}' to create it.`,
      several: (count, ids) =>
        `${count} of your projects are named '${project}' (${ids}). Pass the project id instead.`,
    },
  );
}

/** The `--project` option most commands take. */
export const projectOption = {
  project: { type: "string", placeholder: "project", required: true, description: "Project id or name" },
} as const;
