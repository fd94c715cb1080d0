import { ConflictError } from "#lambdas/shared/errors.ts";
import type { Caller } from "#lambdas/shared/http/caller.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { authorize } from "./access.ts";
import {
  deleteMember,
  listMembers,
  listMembershipsOf,
  type MemberRecord,
  type ProjectRecord,
  putMember,
  putNewProject,
} from "./projects-repository.ts";
import type { Role } from "./roles.ts";

export interface ProjectView extends ProjectRecord {
  readonly role: Role;
}

export interface MemberView {
  readonly principal: string;
  readonly role: Role;
  readonly addedAt: string;
}

export async function createProject(
  caller: Caller,
  input: { name: string; description?: string | undefined },
): Promise<ProjectView> {
  const project: ProjectRecord = {
    projectId: newId("prj"),
    name: input.name,
    description: input.description ?? "",
    owner: caller.principal,
    createdAt: nowIso(),
  };
  await putNewProject(project);
  return { ...project, role: "owner" };
}

export async function listMyProjects(caller: Caller, page: PageRequest): Promise<Page<ProjectView>> {
  const memberships = await listMembershipsOf(caller.principal, page);
  return { items: memberships.items.map(projectView), nextCursor: memberships.nextCursor };
}

export async function showProject(caller: Caller, projectId: string): Promise<ProjectView> {
  return projectView(await authorize(caller, projectId, "viewer"));
}

/** Deletes a project and all it holds; refused while it still has deployments. */
export async function listProjectMembers(
  caller: Caller,
  projectId: string,
  page: PageRequest,
): Promise<Page<MemberView>> {
  await authorize(caller, projectId, "viewer");
  const members = await listMembers(projectId, page);
  return { items: members.items.map(memberView), nextCursor: members.nextCursor };
}

/** Adds a member or changes a member's role. Owners only; the last owner cannot step down. */
export async function setMember(
  caller: Caller,
  projectId: string,
  input: { principal: string; role: Role },
): Promise<MemberView> {
  const self = await authorize(caller, projectId, "owner");
  if (input.principal === caller.principal && input.role !== "owner") {
    await refuseIfLastOwner(projectId);
  }
  const member: MemberRecord = {
    projectId,
    principal: input.principal,
    role: input.role,
    addedAt: nowIso(),
    project: self.project,
  };
  await putMember(member);
  return memberView(member);
}

export async function removeMember(caller: Caller, projectId: string, principal: string): Promise<void> {
  await authorize(caller, projectId, "owner");
  if (principal === caller.principal) await refuseIfLastOwner(projectId);
  await deleteMember(projectId, principal);
}

async function refuseIfLastOwner(projectId: string): Promise<void> {
  let owners = 0;
  let cursor: string | undefined;
  do {
    const page = await listMembers(projectId, { limit: 100, cursor });
    owners += page.items.filter((m) => m.role === "owner").length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor && owners < 2);
  if (owners < 2) {
    throw new ConflictError(
      `You are the last owner of project '${projectId}'. Make another member an owner first, or delete the project.`,
    );
  }
}

function projectView(member: MemberRecord): ProjectView {
  return { ...member.project, role: member.role };
}

function memberView(member: MemberRecord): MemberView {
  return { principal: member.principal, role: member.role, addedAt: member.addedAt };
}
