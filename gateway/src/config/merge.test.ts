import { describe, expect, test } from "bun:test";
import type { PromptTemplate } from "@omni/contracts";
import { type MergeInput, mergeCatalog, type SnapshotOrgPrompt, type SnapshotOrgResource } from "./merge.ts";

const text = (t: string) => [{ role: "user" as const, text: t }];

function input(overrides: Partial<MergeInput> = {}): MergeInput {
  return {
    servers: [
      { name: "linear", enabled: true },
      { name: "perplexity", enabled: true },
      { name: "devtools", enabled: false },
    ],
    defaultPrompts: [
      {
        server: "linear",
        name: "triage",
        description: "db triage",
        messages: text("triage {{team}}"),
        arguments: [{ name: "team", required: true }],
      },
      { server: "devtools", name: "audit_page", messages: text("audit") },
    ],
    orgPrompts: [],
    defaultResources: [
      {
        server: "linear",
        uri: "omni://linear/guide",
        name: "guide",
        title: null,
        description: "d",
        mimeType: "text/markdown",
        text: "# Guide",
        blob: null,
      },
      {
        server: "devtools",
        uri: "omni://devtools/help",
        name: "help",
        title: null,
        description: null,
        mimeType: null,
        text: "help",
        blob: null,
      },
    ],
    orgResources: [],
    ...overrides,
  };
}

const code = new Map<string, PromptTemplate[]>([
  [
    "linear",
    [
      { name: "triage", description: "code triage", messages: text("code version") },
      { name: "standup", messages: text("standup") },
    ],
  ],
  ["devtools", [{ name: "screenshot_review", messages: text("shot") }]],
]);

function orgPrompt(p: Partial<SnapshotOrgPrompt> & { name: string }): SnapshotOrgPrompt {
  return {
    id: `opr_${p.name}`,
    server: null,
    title: null,
    description: null,
    arguments: null,
    messages: null,
    disabled: false,
    ...p,
  };
}

function orgResource(r: Partial<SnapshotOrgResource> & { uri: string }): SnapshotOrgResource {
  return {
    id: `ors_${r.uri}`,
    server: null,
    name: null,
    title: null,
    description: null,
    mimeType: null,
    text: null,
    blob: null,
    disabled: false,
    ...r,
  };
}

describe("mergeCatalog", () => {
  test("only enabled servers' items are visible; database defaults replace code prompts of the same name", () => {
    const m = mergeCatalog(input(), code);
    expect(m.enabledServers).toEqual(["linear", "perplexity"]);
    expect([...m.prompts.keys()].sort()).toEqual(["standup", "triage"]);
    expect(m.prompts.get("triage")).toMatchObject({
      server: "linear",
      source: "default",
      template: { description: "db triage" },
    });
    expect(m.prompts.get("standup")?.source).toBe("code");
    expect([...m.resources.keys()]).toEqual(["omni://linear/guide"]);
  });

  test("an org override replaces only the fields it sets", () => {
    const m = mergeCatalog(
      input({
        orgPrompts: [orgPrompt({ server: "linear", name: "triage", messages: text("ours {{team}}") })],
      }),
      code,
    );
    const triage = m.prompts.get("triage")!;
    expect(triage.source).toBe("override");
    expect(triage.template.description).toBe("db triage");
    expect(triage.template.messages).toEqual(text("ours {{team}}"));
    expect(triage.template.arguments).toEqual([{ name: "team", required: true }]);
  });

  test("an org can override and disable a code-declared prompt", () => {
    const m = mergeCatalog(
      input({
        orgPrompts: [
          orgPrompt({ server: "linear", name: "standup", description: "our standup" }),
          orgPrompt({ server: "linear", name: "triage", disabled: true }),
        ],
      }),
      code,
    );
    expect(m.prompts.get("standup")).toMatchObject({
      source: "override",
      template: { description: "our standup" },
    });
    expect(m.prompts.has("triage")).toBe(false);
  });

  test("own prompts are added; server-bound own prompts follow their server", () => {
    const m = mergeCatalog(
      input({
        orgPrompts: [
          orgPrompt({ name: "welcome", messages: text("hi") }),
          orgPrompt({ server: "devtools", name: "qa", messages: text("qa") }),
          orgPrompt({ server: "perplexity", name: "research", messages: text("r") }),
          orgPrompt({ server: "linear", name: "ghost" }), // override of nothing: ignored
        ],
      }),
      code,
    );
    expect(m.prompts.get("welcome")).toMatchObject({ server: null, source: "org" });
    expect(m.prompts.get("research")).toMatchObject({ server: "perplexity", source: "org" });
    expect(m.prompts.has("qa")).toBe(false);
    expect(m.prompts.has("ghost")).toBe(false);
  });

  test("an org's own prompt wins a name clash with a server prompt", () => {
    const m = mergeCatalog(
      input({ orgPrompts: [orgPrompt({ name: "standup", messages: text("mine") })] }),
      code,
    );
    expect(m.prompts.get("standup")).toMatchObject({
      server: null,
      source: "org",
      template: { messages: text("mine") },
    });
  });

  test("resources: override fields, disable a default, add own, hide defaults of disabled servers", () => {
    const m = mergeCatalog(
      input({
        defaultResources: [
          ...input().defaultResources,
          {
            server: "perplexity",
            uri: "omni://perplexity/tips",
            name: "tips",
            title: null,
            description: null,
            mimeType: null,
            text: "t",
            blob: null,
          },
        ],
        orgResources: [
          orgResource({ uri: "omni://linear/guide", text: "# Our guide" }),
          orgResource({ uri: "omni://perplexity/tips", disabled: true }),
          orgResource({ uri: "omni://devtools/help", text: "override of a hidden default" }),
          orgResource({ uri: "org://handbook", name: "handbook", mimeType: "application/pdf", blob: "AAEC" }),
        ],
      }),
      code,
    );
    expect([...m.resources.keys()]).toEqual(["org://handbook", "omni://linear/guide"]);
    expect(m.resources.get("omni://linear/guide")).toMatchObject({
      source: "override",
      name: "guide",
      description: "d",
      mimeType: "text/markdown",
      content: { text: "# Our guide" },
    });
    expect(m.resources.get("org://handbook")).toMatchObject({ source: "org", content: { blob: "AAEC" } });
  });

  test("is pure: the same input gives the same output and the input is not mutated", () => {
    const i = input({ orgPrompts: [orgPrompt({ server: "linear", name: "triage", disabled: true })] });
    const before = JSON.stringify(i);
    const a = mergeCatalog(i, code);
    const b = mergeCatalog(i, code);
    expect(JSON.stringify(i)).toBe(before);
    expect([...a.prompts.entries()]).toEqual([...b.prompts.entries()]);
  });
});
