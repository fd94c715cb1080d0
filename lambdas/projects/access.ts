import type { Caller } from "#lambdas/shared/caller.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "#lambdas/shared/errors.ts";
import { getMember, type MemberRecord } from "./projects-repository.ts";
import { type Role, roleAllows } from "./roles.ts";

export class ProjectNotFoundError extends NotFoundError {
  constructor(projectId: string) {
    super("Project", projectId, "List yours with GET /v1/projects.");
  }
}

export class ProjectDeletingError extends ConflictError {
  override readonly code = "PROJECT_DELETING";
  constructor(projectId: string) {
    super(
      `Project '${projectId}' is being deleted: it takes no more changes. Follow the deletion with GET on the job DELETE returned.`,
    );
  }
}

/**
 * The gate every project-scoped operation passes first. A caller who is not a member learns
 * nothing (404, as if the project did not exist); a member whose role is too low gets a 403 that
 * names the role needed.
 */
export async function authorize(
  caller: Caller,
  projectId: string,
  needed: Role,
  options: { readonly evenWhileDeleting?: boolean } = {},
): Promise<MemberRecord> {
  const member = await getMember(projectId, caller.principal);
  if (!member) throw new ProjectNotFoundError(projectId);
  // Once its deletion was accepted (202) a project is gone for reads, and refuses writes with a
  // 409 that points at the job; only the deletion's own job and its status read on.
  if (member.projectDeleting && !options.evenWhileDeleting) {
    if (needed === "viewer") throw new ProjectNotFoundError(projectId);
    throw new ProjectDeletingError(projectId);
  }
  if (!roleAllows(member.role, needed)) {
    throw new ForbiddenError(
      `Your role in project '${projectId}' is ${member.role}; this needs ${needed}. Ask a project owner to change your role.`,
    );
  }
  return member;
}
