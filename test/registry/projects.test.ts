import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForJob } from "../support/artifacts.ts";
import { listPages, startTestPlatform, type TestPlatform } from "../support/platform.ts";

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.stop();
});

describe("projects and access control", () => {
  it("creates a project owned by the caller and lists it", async () => {
    const created = await platform.api.call("POST", "/v1/projects", {
      name: "fraud",
      description: "card fraud",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "fraud",
      description: "card fraud",
      role: "owner",
      owner: "local:admin",
    });
    expect(created.body.projectId).toMatch(/^prj-[0-9a-z]{26}$/);

    const listed = await platform.api.call("GET", "/v1/projects?limit=100");
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((p: { projectId: string }) => p.projectId)).toContain(
      created.body.projectId,
    );
  });

  it("answers 401 without a token and with a wrong one", async () => {
    const none = await fetch(`${platform.config.apiUrl}/v1/projects`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
    const wrong = await fetch(`${platform.config.apiUrl}/v1/projects`, {
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
  });

  it("rejects a bad body with 400 naming the field, and non-JSON with 415", async () => {
    const empty = await platform.api.call("POST", "/v1/projects", { name: "" });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe("VALIDATION_FAILED");
    expect(empty.body.error.details[0].path).toBe("body.name");

    const unknown = await platform.api.call("POST", "/v1/projects", { name: "x", colour: "red" });
    expect(unknown.status).toBe(400);

    const notJson = await platform.api.call("POST", "/v1/projects", "name=x", {
      "content-type": "text/plain",
    });
    expect(notJson.status).toBe(415);
    expect(notJson.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");

    const broken = await platform.api.call("POST", "/v1/projects", "{not json");
    expect(broken.status).toBe(400);
  });

  it("hides a project from non-members (404) and forbids viewers to change it (403)", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "private" });
    const outsider = platform.newUser("outsider");
    expect((await outsider.call("GET", `/v1/projects/${project.projectId}`)).status).toBe(404);
    expect((await outsider.call("DELETE", `/v1/projects/${project.projectId}`)).status).toBe(404);
    const outsiderList = await outsider.call("GET", "/v1/projects");
    expect(outsiderList.body.items).toEqual([]);

    const viewer = platform.newUser("viewer");
    const added = await platform.api.call("PUT", `/v1/projects/${project.projectId}/members`, {
      principal: viewer.principal,
      role: "viewer",
    });
    expect(added.status).toBe(200);
    const seen = await viewer.call("GET", `/v1/projects/${project.projectId}`);
    expect(seen.status).toBe(200);
    expect(seen.body.role).toBe("viewer");
    const denied = await viewer.call("DELETE", `/v1/projects/${project.projectId}`);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain("needs owner");
    expect((await platform.api.call("GET", `/v1/projects/${project.projectId}`)).status).toBe(200);
  });

  it("refuses to remove the last owner (409) and deletes a project (202 and a job, then 404)", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "short-lived" });
    const lastOwner = await platform.api.call(
      "DELETE",
      `/v1/projects/${project.projectId}/members?principal=${encodeURIComponent("local:admin")}`,
    );
    expect(lastOwner.status).toBe(409);
    const deleting = await platform.api.call("DELETE", `/v1/projects/${project.projectId}`);
    expect(deleting.status).toBe(202);
    expect(deleting.headers.get("location")).toBe(
      `/v1/projects/${project.projectId}/jobs/${deleting.body.jobId}`,
    );
    const job = await waitForJob(platform.api, project.projectId, deleting.body.jobId);
    expect(job).toMatchObject({ kind: "delete-project", status: "SUCCEEDED", error: null });
    expect((await platform.api.call("GET", `/v1/projects/${project.projectId}`)).status).toBe(404);
  });

  it("pages through more projects than fit on a page", async () => {
    const user = platform.newUser("pager");
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await user.call("POST", "/v1/projects", { name: `p${i}` })).body.projectId);
    // Bounded: 7 projects take 3 pages of 3.
    const pages = await listPages(user, "/v1/projects", 3, 10);
    for (const page of pages) expect(page.body.items.length).toBeLessThanOrEqual(3);
    const seen = pages.flatMap((page) => page.body.items.map((p: { projectId: string }) => p.projectId));
    expect(seen).toEqual(ids);
  });

  it("rejects a cursor from another list and an out-of-range limit", async () => {
    const forged = Buffer.from(
      JSON.stringify({ gsi1pk: "PRINCIPAL#local:someone-else", pk: "x", sk: "y", gsi1sk: "z" }),
    ).toString("base64url");
    const response = await platform.api.call("GET", `/v1/projects?cursor=${forged}`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("INVALID_CURSOR");
    expect((await platform.api.call("GET", "/v1/projects?limit=101")).status).toBe(400);
  });

  it("answers a forged cursor for the caller's own index partition with 400, not 500", async () => {
    const user = platform.newUser("forger");
    await user.call("POST", "/v1/projects", { name: "mine" });
    const partition = `PRINCIPAL#${user.principal}`;
    for (const key of [
      { gsi1pk: partition },
      { gsi1pk: partition, gsi1sk: 7, pk: "PROJECT#x", sk: "MEMBER#y" },
      { gsi1pk: partition, gsi1sk: "z", pk: "PROJECT#x", sk: "EXPERIMENT#y" },
      { gsi1pk: partition, gsi1sk: "z", pk: "PROJECT#x", sk: "MEMBER#y", extra: "e" },
    ]) {
      const cursor = Buffer.from(JSON.stringify(key)).toString("base64url");
      const response = await user.call("GET", `/v1/projects?cursor=${cursor}`);
      expect(response.status, JSON.stringify(key)).toBe(400);
      expect(response.body.error.code).toBe("INVALID_CURSOR");
    }
  });

  it("refuses members that are not IAM user or role ARNs nor local users, naming the role of a session", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "principals" });
    const members = `/v1/projects/${project.projectId}/members`;
    for (const principal of ["bob", "arn:aws:iam::12:user/bob", "local:", "local:a b", "*"]) {
      const response = await platform.api.call("PUT", members, { principal, role: "viewer" });
      expect(response.status, principal).toBe(400);
      expect(response.body.error.message).toContain("IAM user or role ARN");
    }
    const session = await platform.api.call("PUT", members, {
      principal: "arn:aws:sts::123456789012:assumed-role/DataScience/alice",
      role: "viewer",
    });
    expect(session.status).toBe(400);
    expect(session.body.error.message).toContain("arn:aws:iam::123456789012:role/DataScience");
    for (const principal of ["arn:aws:iam::123456789012:role/team/DataScience", "local:carol"]) {
      expect((await platform.api.call("PUT", members, { principal, role: "viewer" })).status).toBe(200);
    }
    const listed = await platform.api.call("GET", members);
    expect(listed.body.items).toHaveLength(3);
  });

  it("leaves one owner when two owners remove each other at the same moment", async () => {
    for (let round = 0; round < 3; round++) {
      const { body: project } = await platform.api.call("POST", "/v1/projects", { name: `duel-${round}` });
      const members = `/v1/projects/${project.projectId}/members`;
      const other = platform.newUser(`duelist-${round}`);
      await platform.api.call("PUT", members, { principal: other.principal, role: "owner" });
      const [a, b] = await Promise.all([
        platform.api.call("DELETE", `${members}?principal=${encodeURIComponent(other.principal)}`),
        other.call("DELETE", `${members}?principal=${encodeURIComponent("local:admin")}`),
      ]);
      expect([a.status, b.status].sort()).toEqual([204, 409]);
      const survivor = a.status === 204 ? platform.api : other;
      const listed = await survivor.call("GET", members);
      expect(listed.body.items.filter((m: { role: string }) => m.role === "owner")).toHaveLength(1);
    }
  });

  it("leaves one owner when two owners demote each other at the same moment", async () => {
    const { body: project } = await platform.api.call("POST", "/v1/projects", { name: "demotions" });
    const members = `/v1/projects/${project.projectId}/members`;
    const other = platform.newUser("demoter");
    await platform.api.call("PUT", members, { principal: other.principal, role: "owner" });
    const [a, b] = await Promise.all([
      platform.api.call("PUT", members, { principal: other.principal, role: "editor" }),
      other.call("PUT", members, { principal: "local:admin", role: "editor" }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const listed = await platform.api.call("GET", members);
    expect(listed.body.items.filter((m: { role: string }) => m.role === "owner")).toHaveLength(1);
  });
});
