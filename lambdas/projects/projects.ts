import type { Caller } from "#lambdas/shared/caller.ts";
import { ConflictError, ValidationFailedError } from "#lambdas/shared/errors.ts";
import { newId, nowIso } from "#lambdas/shared/ids.ts";
import type { Page, PageRequest } from "#lambdas/shared/pagination.ts";
import { authorize } from "./access.ts";
import { PRINCIPAL } from "./principals.ts";
import {
  deleteMember,
  getMember,
  listMembers,
  listMembershipsOf,
  type MemberRecord,
  type ProjectRecord,
  putMember,
  putNewProject,
  releaseOwnerSeat,
  takeOwnerSeat,
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

export function checkPrincipal(principal: string): void {
  if (PRINCIPAL.test(principal)) return;
  const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(principal);
  const hint = session
    ? ` That is a role session: name its role instead, arn:aws:iam::${session[1]}:role/${session[2]}.`
    : "";
  throw new ValidationFailedError(
    `'${principal.slice(0, 200)}' is not a principal Byom can grant a role to: use an IAM user or role ARN (arn:aws:iam::<account>:user/<name> or :role/<name>), or local:<user> in local mode.${hint}`,
    [{ path: "body.principal", message: "not an IAM user or role ARN, nor local:<user>" }],
  );
}

/** Adds a member or changes a member's role. Owners only; the last owner cannot step down. */
export async function setMember(
  caller: Caller,
  projectId: string,
  input: { principal: string; role: Role },
): Promise<MemberView> {
  checkPrincipal(input.principal);
  const self = await authorize(caller, projectId, "owner");
  const wasOwner = (await getMember(projectId, input.principal))?.role === "owner";
  const becomesOwner = input.role === "owner";
  if (wasOwner && !becomesOwner && !(await releaseOwnerSeat(projectId)))
    lastOwner(projectId, input.principal);
  const member: MemberRecord = {
    projectId,
    principal: input.principal,
    role: input.role,
    addedAt: nowIso(),
    project: self.project,
  };
  await putMember(member);
  if (becomesOwner && !wasOwner) await takeOwnerSeat(projectId);
  return memberView(member);
}

/** Removes a member; an owner only while another owner remains, even when owners remove each other at once. */
export async function removeMember(caller: Caller, projectId: string, principal: string): Promise<void> {
  await authorize(caller, projectId, "owner");
  const member = await getMember(projectId, principal);
  if (!member) return;
  if (member.role === "owner" && !(await releaseOwnerSeat(projectId))) lastOwner(projectId, principal);
  await deleteMember(projectId, principal);
}

function lastOwner(projectId: string, principal: string): never {
  throw new ConflictError(
    `'${principal}' is the last owner of project '${projectId}'. Make another member an owner first, or delete the project.`,
  );
}

function projectView(member: MemberRecord): ProjectView {
  return { ...member.project, role: member.role };
}

function memberView(member: MemberRecord): MemberView {
  return { principal: member.principal, role: member.role, addedAt: member.addedAt };
}
