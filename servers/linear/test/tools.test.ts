import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { invalidParamPaths, okResult, resultText, toolErrorText } from "@omni/kit/testing";
import { LINEAR_TOOLS } from "./fixtures/tool-names.ts";
import { linearHarness } from "./harness.ts";

let h: ReturnType<typeof linearHarness>;
beforeEach(() => {
  h = linearHarness();
});
afterEach(() => h.stop());

const identifiers = (sc: Record<string, unknown>) =>
  (sc.issues as { identifier: string }[]).map((i) => i.identifier);

describe("capabilities", () => {
  test("lists every tool with annotations and an output schema, plus the dynamic resources", async () => {
    const caps = await h.client.capabilities();
    const names = caps.tools.map((t) => t.name).sort();
    expect(names).toEqual(LINEAR_TOOLS);
    for (const tool of caps.tools) {
      expect(tool.annotations?.readOnlyHint).toBeBoolean();
      expect(tool.annotations?.destructiveHint).toBeBoolean();
      expect(tool.annotations?.idempotentHint).toBeBoolean();
      expect(tool.outputSchema?.type).toBe("object");
    }
    const create = caps.tools.find((t) => t.name === "linear_create_issue");
    expect(create?.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: false });
    expect(caps.resources.map((r) => r.uri)).toEqual(["linear://teams"]);
    expect(caps.resourceTemplates.map((r) => r.uriTemplate)).toEqual([
      "linear://teams/{teamId}/issues",
      "linear://issues/{identifier}",
    ]);
  });
});

describe("reads", () => {
  test("linear_get_teams lists teams and paginates with a cursor", async () => {
    const all = okResult(await h.call("linear_get_teams", {}));
    expect(resultText(all)).toContain("ENG Engineering");
    expect((all.structuredContent.teams as { key: string }[]).map((t) => t.key)).toEqual(["ENG", "DES"]);
    expect(h.standIn.requests.at(-1)?.authorization).toBe(h.standIn.apiKey);

    const first = okResult(await h.call("linear_get_teams", { limit: 1 }));
    const pageInfo = first.structuredContent.pageInfo as { hasNextPage: boolean; endCursor: string };
    expect(pageInfo.hasNextPage).toBe(true);
    expect(resultText(first)).toContain(`cursor "${pageInfo.endCursor}"`);
    const second = okResult(await h.call("linear_get_teams", { limit: 1, cursor: pageInfo.endCursor }));
    expect((second.structuredContent.teams as { key: string }[]).map((t) => t.key)).toEqual(["DES"]);
  });

  test("linear_get_users filters by name and hides disabled users unless asked", async () => {
    const bo = okResult(await h.call("linear_get_users", { query: "bo" }));
    expect((bo.structuredContent.users as { name: string }[]).map((u) => u.name).sort()).toEqual([
      "Bo Chen",
      "Bob Stone",
    ]);
    const all = okResult(await h.call("linear_get_users", {}));
    expect((all.structuredContent.users as unknown[]).length).toBe(3);
    expect(resultText(all)).toContain("Ana Lima (ana) <ana@example.com> [you] [admin]");
    const withDisabled = okResult(await h.call("linear_get_users", { includeDisabled: true }));
    expect(resultText(withDisabled)).toContain("Old Timer (old) <old@example.com> [disabled]");
  });

  test("linear_search_issues applies each filter", async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ team: "eng" }, ["ENG-1", "ENG-2", "ENG-3"]],
      [{ team: "Design" }, ["DES-1"]],
      [{ team: "ENG", state: "In Progress" }, ["ENG-1"]],
      [{ state: "completed" }, ["ENG-3"]],
      [{ assignee: "me" }, ["ENG-1"]],
      [{ assignee: "bo@example.com" }, ["ENG-2"]],
      [{ assignee: "none" }, ["ENG-3", "DES-1"]],
      [{ label: "bug" }, ["ENG-1"]],
      [{ label: "Customer" }, ["ENG-1"]],
      [{ priority: 2 }, ["ENG-2"]],
      [{ project: "gateway" }, ["ENG-1", "ENG-2"]],
      [{ project: "none" }, ["ENG-3", "DES-1"]],
      [{ team: "ENG", label: "feature", assignee: "bo" }, ["ENG-2"]],
    ];
    for (const [args, expected] of cases) {
      const r = okResult(await h.call("linear_search_issues", args));
      expect({ args, got: identifiers(r.structuredContent) }).toEqual({ args, got: expected });
    }
  });

  test("linear_search_issues searches text, reports totals and paginates", async () => {
    const r = okResult(await h.call("linear_search_issues", { query: "sso", limit: 1 }));
    expect(identifiers(r.structuredContent)).toEqual(["ENG-1"]);
    expect(r.structuredContent.totalCount).toBe(2);
    expect(h.standIn.requests.at(-1)?.operationName).toBe("omniSearchIssues");
    const text = resultText(r);
    expect(text).toContain("2 issue(s), showing 1:");
    expect(text).toContain("ENG-1 [In Progress] Login fails with SSO");
    expect(text).toContain("labels: Bug, Customer");
    const cursor = (r.structuredContent.pageInfo as { endCursor: string }).endCursor;
    const next = okResult(await h.call("linear_search_issues", { query: "sso", limit: 1, cursor }));
    expect(identifiers(next.structuredContent)).toEqual(["ENG-3"]);

    const none = okResult(await h.call("linear_search_issues", { query: "nothing like this" }));
    expect(resultText(none)).toBe("No issues match.");
  });

  test("linear_get_issue returns the whole issue with comments and sub-issues", async () => {
    const r = okResult(await h.call("linear_get_issue", { id: "ENG-1" }));
    const issue = r.structuredContent.issue as Record<string, unknown>;
    expect(issue).toMatchObject({
      identifier: "ENG-1",
      title: "Login fails with SSO",
      priorityLabel: "Urgent",
      estimate: 3,
      state: { name: "In Progress", type: "started" },
      assignee: { email: "ana@example.com" },
      project: { name: "MCP Gateway" },
      cycle: { number: 2 },
    });
    expect((issue.children as { identifier: string }[]).map((c) => c.identifier)).toEqual(["ENG-3"]);
    expect((issue.comments as { body: string }[]).map((c) => c.body)).toEqual(["Reproduced on staging."]);
    const text = resultText(r);
    expect(text).toContain("Users on Okta see a 500");
    expect(text).toContain("- bo at 2026-11-20T11:00:00.000Z: Reproduced on staging.");
    expect(text).toContain("- ENG-3 [Done] Document the SSO setup");
  });

  test("linear_get_issue on an unknown identifier says so", async () => {
    expect(toolErrorText(await h.call("linear_get_issue", { id: "ENG-999" }))).toContain(
      "Entity not found: Issue",
    );
  });

  test("linear_get_projects filters by team and name", async () => {
    const des = okResult(await h.call("linear_get_projects", { team: "DES" }));
    expect((des.structuredContent.projects as { name: string }[]).map((p) => p.name)).toEqual([
      "Brand refresh",
    ]);
    const gw = okResult(await h.call("linear_get_projects", { query: "gateway", team: "ENG" }));
    const project = (gw.structuredContent.projects as Record<string, unknown>[])[0];
    expect(project).toMatchObject({
      name: "MCP Gateway",
      status: { type: "started" },
      lead: { name: "Ana Lima" },
    });
    expect(resultText(gw)).toContain(
      "MCP Gateway [In Progress] 40% · lead: ana · target 2026-12-15 · teams: ENG",
    );
  });

  test("linear_get_cycles lists a team's cycles and the active one", async () => {
    const all = okResult(await h.call("linear_get_cycles", { team: "ENG" }));
    expect((all.structuredContent.cycles as unknown[]).length).toBe(2);
    const active = okResult(await h.call("linear_get_cycles", { team: "ENG", active: true }));
    expect((active.structuredContent.cycles as { number: number }[]).map((c) => c.number)).toEqual([2]);
    expect(resultText(active)).toContain("ENG cycle 2: 2026-11-16 → 2026-11-30, 35% [active]");
    const des = okResult(await h.call("linear_get_cycles", { team: "DES" }));
    expect(resultText(des)).toBe("No cycles match.");
  });

  test("linear_get_workflow_states lists a team's states in board order", async () => {
    const r = okResult(await h.call("linear_get_workflow_states", { team: "ENG" }));
    expect((r.structuredContent.states as { name: string }[]).map((s) => s.name)).toEqual([
      "Backlog",
      "Todo",
      "In Progress",
      "Done",
      "Canceled",
    ]);
    const all = okResult(await h.call("linear_get_workflow_states", {}));
    expect((all.structuredContent.states as unknown[]).length).toBe(10);
  });
});

describe("writes", () => {
  test("linear_create_issue resolves names and creates through the SDK's createIssue", async () => {
    const r = okResult(
      await h.call("linear_create_issue", {
        team: "eng",
        title: "Support SCIM",
        description: "Provision users from Okta.",
        state: "started",
        assignee: "bo@example.com",
        priority: 2,
        labels: ["feature", "customer"],
        project: "MCP Gateway",
        estimate: 5,
        dueDate: "2026-12-24",
        parent: "ENG-1",
      }),
    );
    const issue = r.structuredContent.issue as Record<string, unknown>;
    expect(issue).toMatchObject({
      identifier: "ENG-4",
      title: "Support SCIM",
      state: { name: "In Progress" },
      assignee: { name: "Bo Chen" },
      priority: 2,
      estimate: 5,
      dueDate: "2026-12-24",
      project: { name: "MCP Gateway" },
      parent: { identifier: "ENG-1" },
    });
    expect((issue.labels as { name: string }[]).map((l) => l.name)).toEqual(["Feature", "Customer"]);
    expect(resultText(r)).toStartWith("Created ENG-4.");
    const row = h.standIn.data.issues.find((i) => i.title === "Support SCIM");
    expect(row).toMatchObject({
      assigneeId: "user-bo",
      stateId: "team-eng-state-started",
      labelIds: ["label-feature", "label-customer"],
    });
    expect(h.standIn.requests.map((q) => q.operationName)).toContain("createIssue");
  });

  test("linear_create_issue defaults the state and rejects unknown names before writing", async () => {
    const r = okResult(await h.call("linear_create_issue", { team: "DES", title: "Icons" }));
    expect(r.structuredContent.issue).toMatchObject({
      identifier: "DES-2",
      state: { name: "Todo" },
      assignee: null,
    });

    const before = h.standIn.data.issues.length;
    expect(
      toolErrorText(await h.call("linear_create_issue", { team: "ENG", title: "x", labels: ["nope"] })),
    ).toContain('No label "nope" in team ENG');
    expect(
      toolErrorText(await h.call("linear_create_issue", { team: "ENG", title: "x", state: "Review" })),
    ).toContain("Its states: Backlog, Todo, In Progress, Done, Canceled");
    expect(toolErrorText(await h.call("linear_create_issue", { team: "OPS", title: "x" }))).toContain(
      'No Linear team "OPS"',
    );
    expect(
      toolErrorText(await h.call("linear_create_issue", { team: "ENG", title: "x", assignee: "zed" })),
    ).toContain('No Linear user matches "zed"');
    expect(
      toolErrorText(await h.call("linear_create_issue", { team: "ENG", title: "x", assignee: "o" })),
    ).toContain("matches several users");
    expect(h.standIn.data.issues.length).toBe(before);
  });

  test("linear_update_issue changes state, assignee, priority, labels, estimate and due date", async () => {
    const r = okResult(
      await h.call("linear_update_issue", {
        id: "ENG-1",
        state: "Done",
        assignee: "bo",
        priority: 3,
        addLabels: ["Feature"],
        removeLabels: ["bug"],
        estimate: 8,
        dueDate: "2026-12-31",
      }),
    );
    expect(r.structuredContent.issue).toMatchObject({
      state: { name: "Done" },
      assignee: { name: "Bo Chen" },
      priority: 3,
      priorityLabel: "Medium",
      estimate: 8,
      dueDate: "2026-12-31",
    });
    const row = h.standIn.data.issues.find((i) => i.id === "issue-eng-1");
    expect(row?.labelIds.sort()).toEqual(["label-customer", "label-feature"]);
    expect(h.standIn.requests.map((q) => q.operationName)).toContain("updateIssue");

    const cleared = okResult(
      await h.call("linear_update_issue", {
        id: "ENG-1",
        assignee: null,
        estimate: null,
        dueDate: null,
        labels: [],
      }),
    );
    expect(cleared.structuredContent.issue).toMatchObject({
      assignee: null,
      estimate: null,
      dueDate: null,
      labels: [],
    });
  });

  test("linear_update_issue on an unknown issue fails without writing", async () => {
    expect(toolErrorText(await h.call("linear_update_issue", { id: "ENG-404", priority: 1 }))).toContain(
      "Entity not found: Issue",
    );
    expect(h.standIn.requests.map((q) => q.operationName)).not.toContain("updateIssue");
  });

  test("linear_add_comment adds a comment through the SDK's createComment", async () => {
    const r = okResult(await h.call("linear_add_comment", { id: "eng-2", body: "On it **today**." }));
    expect(r.structuredContent).toMatchObject({
      comment: { body: "On it **today**.", user: { name: "Ana Lima" } },
      issue: { identifier: "ENG-2" },
    });
    expect(resultText(r)).toContain("Commented on ENG-2: https://linear.app/omni-test/issue/ENG-2/");
    expect(h.standIn.data.comments.filter((c) => c.issueId === "issue-eng-2").map((c) => c.body)).toEqual([
      "On it **today**.",
    ]);
    expect(h.standIn.requests.map((q) => q.operationName)).toContain("createComment");
  });
});

describe("argument validation (isError results naming the field paths)", () => {
  test("bad arguments never reach Linear", async () => {
    expect(invalidParamPaths(await h.call("linear_search_issues", { priority: 7 }))).toEqual(["priority"]);
    expect(invalidParamPaths(await h.call("linear_search_issues", { limit: 0 }))).toEqual(["limit"]);
    expect(invalidParamPaths(await h.call("linear_get_issue", {}))).toEqual(["id"]);
    expect(invalidParamPaths(await h.call("linear_create_issue", { title: "x" }))).toEqual(["team"]);
    expect(invalidParamPaths(await h.call("linear_create_issue", { team: "ENG", title: "  " }))).toEqual([
      "title",
    ]);
    expect(
      invalidParamPaths(
        await h.call("linear_create_issue", { team: "ENG", title: "x", dueDate: "next friday" }),
      ),
    ).toEqual(["dueDate"]);
    expect(
      invalidParamPaths(await h.call("linear_update_issue", { id: "ENG-1", labels: ["ok", 3] })),
    ).toEqual(["labels.1"]);
    const empty = await h.call("linear_update_issue", { id: "ENG-1" });
    expect(toolErrorText(empty)).toContain("give at least one field to change");
    expect(invalidParamPaths(await h.call("linear_add_comment", { id: "ENG-1", body: "" }))).toEqual([
      "body",
    ]);
    expect(h.standIn.requests.length).toBe(0);
  });
});
