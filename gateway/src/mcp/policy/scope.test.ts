import { describe, expect, test } from "bun:test";
import type { OrgPolicy, ToolDescriptor } from "@omni/contracts";
import { globMatch, patternTest } from "./glob.ts";
import { buildScope } from "./scope.ts";

const tool = (name: string, extra: Partial<ToolDescriptor> = {}): ToolDescriptor => ({
  name,
  description: `${name} does things`,
  inputSchema: { type: "object" },
  ...extra,
});
const tools = [
  tool("linear_search_issues", { annotations: { readOnlyHint: true } }),
  tool("linear_create_issue", { annotations: { destructiveHint: false } }),
  tool("perplexity_search"),
  tool("search"),
];
const input = (policy: Partial<OrgPolicy>) => ({
  tools,
  prompts: [{ name: "triage" }, { name: "other" }],
  resources: [{ uri: "linear://teams", name: "teams" }],
  templates: [{ uriTemplate: "linear://issues/{id}", name: "issue" }],
  policy: { policies: [], bundles: [], ...policy },
});
const visible = (scope: ReturnType<typeof buildScope>) => [...(scope?.tools.keys() ?? [])].sort();

describe("glob", () => {
  test("* matches any run, everything else itself", () => {
    expect(globMatch("linear_*", "linear_search_issues")).toBe(true);
    expect(globMatch("*_search", "perplexity_search")).toBe(true);
    expect(globMatch("*search*", "linear_search_issues")).toBe(true);
    expect(globMatch("linear_*", "perplexity_search")).toBe(false);
    expect(globMatch("a.b", "aXb")).toBe(false);
    expect(globMatch("*", "")).toBe(true);
    expect(globMatch("", "x")).toBe(false);
  });

  test("a pattern that backtracks exponentially as a regular expression is answered (the walk is O(n·m))", () => {
    const pattern = `${"*a".repeat(60)}b`;
    expect(globMatch(pattern, "a".repeat(128))).toBe(false);
    expect(globMatch(pattern, `${"a".repeat(128)}b`)).toBe(true);
  });

  test("prototype names are plain names", () => {
    const test = patternTest(["__proto__", "constructor"]);
    expect(test("__proto__")).toBe(true);
    expect(test("toString")).toBe(false);
    expect(patternTest(null)("anything")).toBe(true);
    expect(patternTest([])("anything")).toBe(false);
  });
});

describe("buildScope", () => {
  test("no policy: every tool; org deny and role allow intersect", () => {
    expect(visible(buildScope(input({}), "member", null))).toEqual(tools.map((t) => t.name).sort());
    const scope = buildScope(
      input({
        policies: [
          { role: null, mode: "deny", tools: ["perplexity_*"], overrides: [] },
          { role: "member", mode: "allow", tools: ["linear_*", "perplexity_search"], overrides: [] },
        ],
      }),
      "member",
      null,
    );
    expect(visible(scope)).toEqual(["linear_create_issue", "linear_search_issues"]);
    // The member policy does not touch admins.
    expect(
      visible(
        buildScope(
          input({ policies: [{ role: "member", mode: "allow", tools: [], overrides: [] }] }),
          "admin",
          null,
        ),
      ),
    ).toHaveLength(4);
  });

  test("overrides: the role's win field by field; annotations merge over the tool's own", () => {
    const scope = buildScope(
      input({
        policies: [
          {
            role: null,
            mode: "deny",
            tools: [],
            overrides: [
              {
                tool: "linear_search_issues",
                name: "find",
                description: "org",
                annotations: { title: "Find" },
              },
            ],
          },
          {
            role: "admin",
            mode: "deny",
            tools: [],
            overrides: [
              { tool: "linear_search_issues", description: "admin", annotations: { openWorldHint: true } },
            ],
          },
        ],
      }),
      "admin",
      null,
    )!;
    const found = scope.tools.get("find")!;
    expect(found.source).toBe("linear_search_issues");
    expect(found.descriptor).toMatchObject({
      name: "find",
      description: "admin",
      annotations: { readOnlyHint: true, title: "Find", openWorldHint: true },
    });
    expect(scope.tools.has("linear_search_issues")).toBe(false);
  });

  test("a rename onto another visible tool's name is reported and not applied", () => {
    const scope = buildScope(
      input({
        policies: [
          { role: null, mode: "deny", tools: [], overrides: [{ tool: "perplexity_search", name: "search" }] },
        ],
      }),
      "member",
      null,
    )!;
    expect(scope.tools.get("search")?.source).toBe("search");
    expect(scope.tools.get("perplexity_search")?.source).toBe("perplexity_search");
    expect(scope.conflicts).toEqual([
      { tool: "perplexity_search", name: "search", reason: '"search" is another visible tool\'s name' },
    ]);
    // Once `search` is hidden, the rename takes its name.
    const hidden = buildScope(
      input({
        policies: [
          {
            role: null,
            mode: "deny",
            tools: ["search"],
            overrides: [{ tool: "perplexity_search", name: "search" }],
          },
        ],
      }),
      "member",
      null,
    )!;
    expect(hidden.tools.get("search")?.source).toBe("perplexity_search");
    expect(hidden.conflicts).toEqual([]);
  });

  test("bundles: their tools, prompts and resources only; discovery lists two tools; unknown slug", () => {
    const policy = {
      bundles: [
        {
          slug: "triage",
          tools: ["linear_*"],
          prompts: ["triage"],
          resources: ["linear://issues/*"],
          discovery: false,
        },
        { slug: "find", tools: null, prompts: null, resources: null, discovery: true },
      ],
    };
    const triage = buildScope(input(policy), "member", "triage")!;
    expect(visible(triage)).toEqual(["linear_create_issue", "linear_search_issues"]);
    expect(triage.prompts.map((p) => p.name)).toEqual(["triage"]);
    expect(triage.resources).toEqual([]);
    expect(triage.templates.map((t) => t.uriTemplate)).toEqual(["linear://issues/{id}"]);
    expect(triage.resourceVisible("linear://issues/ENG-1")).toBe(true);
    expect(triage.resourceVisible("linear://teams")).toBe(false);
    const find = buildScope(input(policy), "member", "find")!;
    expect(find.listed.map((t) => t.name)).toEqual(["search_tools", "call_tool"]);
    expect(find.tools.size).toBe(4);
    expect(find.search().search("search issues", 2)[0]?.tool.name).toBe("linear_search_issues");
    expect(find.search().search("read only", 1)[0]?.tool.name).toBe("linear_search_issues");
    expect(
      find
        .search()
        .search("", 2)
        .map((h) => h.tool.name),
    ).toEqual(["linear_search_issues", "linear_create_issue"]);
    expect(buildScope(input(policy), "member", "nope")).toBeUndefined();
  });
});
