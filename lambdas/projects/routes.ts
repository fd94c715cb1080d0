import * as z from "zod";
import { jobAccepted } from "#lambdas/jobs/routes.ts";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import {
  conflictError,
  idParam,
  listQuery,
  pageOf,
  standardErrors,
  text,
} from "#lambdas/shared/http/schemas.ts";
import { PRINCIPAL_PATTERN } from "./principals.ts";
import { ROLES } from "./roles.ts";

const roleSchema = z.enum(ROLES);

export const projectSchema = z
  .object({
    projectId: z.string(),
    name: z.string(),
    description: z.string(),
    owner: z.string(),
    createdAt: z.string(),
    role: roleSchema.describe("The caller's role in this project"),
  })
  .meta({ id: "Project" });

const memberSchema = z
  .object({ principal: z.string(), role: roleSchema, addedAt: z.string() })
  .meta({ id: "ProjectMember" });

export const projectIdParam = idParam("prj");
const projectParams = z.object({ projectId: projectIdParam });

const handlers = "lambdas/projects/handlers";

export const createProjectRoute = defineRoute({
  operationId: "createProject",
  method: "POST",
  path: "/v1/projects",
  summary: "Create a project; the caller becomes its owner",
  tag: "projects",
  handler: `${handlers}/create-project.ts`,
  body: z.strictObject({
    name: text("name", { max: 200, notBlank: true, trim: true }),
    description: text("description", { max: 2000 }).optional(),
  }),
  responses: { 201: { description: "Created", schema: projectSchema }, ...standardErrors },
});

export const listProjectsRoute = defineRoute({
  operationId: "listProjects",
  method: "GET",
  path: "/v1/projects",
  summary: "List the projects the caller is a member of",
  tag: "projects",
  handler: `${handlers}/list-projects.ts`,
  query: listQuery,
  responses: { 200: { description: "A page of projects", schema: pageOf(projectSchema) }, ...standardErrors },
});

export const getProjectRoute = defineRoute({
  operationId: "getProject",
  method: "GET",
  path: "/v1/projects/{projectId}",
  summary: "Show a project",
  tag: "projects",
  handler: `${handlers}/get-project.ts`,
  params: projectParams,
  responses: { 200: { description: "The project", schema: projectSchema }, ...standardErrors },
});

export const deleteProjectRoute = defineRoute({
  operationId: "deleteProject",
  method: "DELETE",
  path: "/v1/projects/{projectId}",
  summary:
    "Delete a project and everything in it, as a job (owners only; refused while deployments exist). The project takes no more writes from then on",
  tag: "projects",
  handler: `${handlers}/delete-project.ts`,
  params: projectParams,
  responses: { ...jobAccepted, ...standardErrors, ...conflictError },
});

export const listMembersRoute = defineRoute({
  operationId: "listMembers",
  method: "GET",
  path: "/v1/projects/{projectId}/members",
  summary: "List a project's members and their roles",
  tag: "projects",
  handler: `${handlers}/list-members.ts`,
  params: projectParams,
  query: listQuery,
  responses: { 200: { description: "A page of members", schema: pageOf(memberSchema) }, ...standardErrors },
});

export const putMemberRoute = defineRoute({
  operationId: "putMember",
  method: "PUT",
  path: "/v1/projects/{projectId}/members",
  summary: "Add a member or change a member's role (owners only)",
  tag: "projects",
  handler: `${handlers}/put-member.ts`,
  params: projectParams,
  body: z.strictObject({
    // The domain checks the pattern itself (with a hint for role sessions); the document states it.
    principal: text("principal", { max: 512, notBlank: true })
      .meta({ pattern: PRINCIPAL_PATTERN })
      .describe("An IAM principal ARN, or local:<user> in local mode"),
    role: roleSchema,
  }),
  responses: {
    200: { description: "The member", schema: memberSchema },
    ...standardErrors,
    ...conflictError,
  },
});

export const deleteMemberRoute = defineRoute({
  operationId: "deleteMember",
  method: "DELETE",
  path: "/v1/projects/{projectId}/members",
  summary: "Remove a member (owners only; the last owner cannot be removed)",
  tag: "projects",
  handler: `${handlers}/delete-member.ts`,
  params: projectParams,
  query: z.object({ principal: text("principal", { min: 1, max: 512 }) }),
  responses: { 204: { description: "Removed" }, ...standardErrors, ...conflictError },
});

export const projectRoutes = [
  createProjectRoute,
  listProjectsRoute,
  getProjectRoute,
  deleteProjectRoute,
  listMembersRoute,
  putMemberRoute,
  deleteMemberRoute,
];
