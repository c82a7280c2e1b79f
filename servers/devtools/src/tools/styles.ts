import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import { ElementArg, resolveElement } from "../elements.ts";
import type { SessionManager } from "../sessions.ts";
import { Effect, result } from "./util.ts";

const DEFAULT_PROPERTIES = [
  "display",
  "position",
  "visibility",
  "opacity",
  "z-index",
  "width",
  "height",
  "margin",
  "padding",
  "border",
  "box-sizing",
  "color",
  "background-color",
  "font-family",
  "font-size",
  "font-weight",
  "line-height",
  "text-align",
  "overflow",
  "flex-direction",
  "justify-content",
  "align-items",
  "gap",
  "grid-template-columns",
  "cursor",
  "pointer-events",
];

let axeSource: string | undefined;
async function loadAxe(): Promise<string> {
  if (axeSource === undefined) {
    const require = createRequire(import.meta.url);
    const file = join(dirname(require.resolve("axe-core")), "axe.min.js");
    axeSource = await Bun.file(file).text();
  }
  return axeSource;
}

interface AxeNode {
  target: unknown[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  description: string;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

const IMPACTS = ["critical", "serious", "moderate", "minor"] as const;

export function styleTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_get_computed_style",
      title: "Computed style",
      description:
        "Computed CSS of an element: the given properties, a useful default set, or every property with properties=['*'].",
      input: v.object({
        element: ElementArg,
        properties: v.optional(
          v.pipe(
            v.array(v.string()),
            v.description("CSS property names (default: layout, box and text essentials)"),
          ),
        ),
        pseudo: v.optional(
          v.pipe(v.picklist(["::before", "::after"]), v.description("Style of a pseudo-element")),
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const objectId = await resolveElement(tab, args.element);
        const props = args.properties ?? DEFAULT_PROPERTIES;
        const style = await tab.callOn(
          objectId,
          `function (props, pseudo) {
            const cs = getComputedStyle(this, pseudo);
            const names = props.length === 1 && props[0] === "*" ? Array.from(cs) : props;
            const out = {};
            for (const name of names) out[name] = cs.getPropertyValue(name);
            return out;
          }`,
          [props, args.pseudo ?? null],
        );
        return result(`Computed style of ${args.element}`, { style: style as Record<string, string> });
      },
    }),
    defineTool({
      name: "chrome_audit_accessibility",
      title: "Accessibility audit",
      description:
        "Run axe-core on the page (or part of it) in an isolated world and report WCAG violations grouped by impact (critical, serious, moderate, minor), with the failing elements.",
      input: v.object({
        selector: v.optional(
          v.pipe(v.string(), v.description("Audit only this part of the page (CSS selector)")),
        ),
        tags: v.optional(
          v.pipe(v.array(v.string()), v.description("axe rule tags, e.g. wcag2a, wcag2aa, best-practice")),
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const world = await tab.send("Page.createIsolatedWorld", {
          frameId: tab.mainFrameId,
          worldName: "omni-axe",
        });
        const contextId = world.executionContextId;
        const inject = await tab.guard(
          tab.send("Runtime.evaluate", { expression: await loadAxe(), contextId }),
        );
        if (inject.exceptionDetails) throw new ToolError("axe-core could not be loaded into the page");
        const options = args.tags
          ? { runOnly: { type: "tag", values: args.tags }, resultTypes: ["violations"] }
          : { resultTypes: ["violations"] };
        const run = await tab.guard(
          tab.send("Runtime.evaluate", {
            expression: `axe.run(${args.selector ? JSON.stringify(args.selector) : "document"}, ${JSON.stringify(options)}).then((r) => ({
              violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, description: v.description, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.slice(0, 10).map((n) => ({ target: n.target, html: n.html.slice(0, 300), failureSummary: n.failureSummary })) })),
              passes: r.passes.length, incomplete: r.incomplete.length }))`,
            contextId,
            awaitPromise: true,
            returnByValue: true,
          }),
        );
        if (run.exceptionDetails) {
          throw new ToolError(
            `axe-core failed: ${run.exceptionDetails.exception?.description ?? run.exceptionDetails.text}`,
          );
        }
        const out = run.result.value as { violations: AxeViolation[]; passes: number; incomplete: number };
        const byImpact: Record<string, AxeViolation[]> = {};
        for (const impact of IMPACTS) byImpact[impact] = out.violations.filter((vi) => vi.impact === impact);
        const counts = IMPACTS.map((i) => `${byImpact[i]!.length} ${i}`).join(", ");
        return result(`${out.violations.length} accessibility violation(s): ${counts}`, {
          url: tab.url,
          violationCount: out.violations.length,
          byImpact,
          passedRules: out.passes,
          incompleteRules: out.incomplete,
        });
      },
    }),
  ];
}
