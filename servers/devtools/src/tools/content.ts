import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import type Protocol from "devtools-protocol";
import * as v from "valibot";
import { ElementArg, resolveElement } from "../elements.ts";
import type { SessionManager } from "../sessions.ts";
import type { Tab } from "../tab.ts";
import { Effect, result, truncate } from "./util.ts";

const MaxChars = v.optional(
  v.pipe(
    v.number(),
    v.integer(),
    v.minValue(100),
    v.maxValue(1_000_000),
    v.description("Cut the text after this many characters (default 20000)"),
  ),
  20_000,
);

const SKIPPED_ROLES = new Set(["InlineTextBox", "LineBreak", "ListMarker"]);
const QUIET_ROLES = new Set(["generic", "none", "presentation", "ignored"]);
const SHOWN_PROPERTIES = new Set([
  "focused",
  "checked",
  "disabled",
  "expanded",
  "selected",
  "pressed",
  "required",
  "level",
  "invalid",
  "readonly",
  "multiselectable",
]);

function refFor(tab: Tab, backendNodeId: number): string {
  let ref = tab.refByNode.get(backendNodeId);
  if (!ref) {
    ref = `e${tab.nextRef++}`;
    tab.refByNode.set(backendNodeId, ref);
    tab.refs.set(ref, backendNodeId);
  }
  return ref;
}

function axString(value: Protocol.Accessibility.AXValue | undefined): string {
  const raw = value?.value;
  if (raw === undefined || raw === null) return "";
  return typeof raw === "string" ? raw : JSON.stringify(raw);
}

/** Roles that are only wrappers: without a name of their own they are folded (their children move up). */
const WRAPPER_ROLES = new Set([...QUIET_ROLES, "LabelText", "MenuListPopup"]);
/** A run of this many siblings of the same shape is collapsed to its first REPEAT_SHOWN and a count. */
const REPEAT_MIN = 8;
const REPEAT_SHOWN = 3;

/** The shape of a rendered subtree (names, values and refs left out), to find repetitive siblings. */
function shapeOf(lines: string[]): string {
  return lines
    .map((l) =>
      l
        .replace(/"[^"]*"/g, '""')
        .replace(/\[ref=e\d+\]/g, "")
        .replace(/ url="[^"]*"/g, ""),
    )
    .join("\n");
}

/**
 * Render the accessibility tree as indented lines with stable refs (`[ref=e12]`): links show their URL,
 * nameless wrappers (generic, LabelText, MenuListPopup) are folded, and long runs of siblings of the same
 * shape (list items, table rows) are cut to the first few and a count unless `collapse` is false.
 */
export async function accessibilitySnapshot(
  tab: Tab,
  maxNodes: number,
  collapse = true,
): Promise<{ text: string; nodes: number; truncated: boolean }> {
  const { nodes } = await tab.guard(tab.send("Accessibility.getFullAXTree", {}));
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const root = nodes.find((n) => !n.parentId) ?? nodes[0];
  let budget = maxNodes * 4;
  const render = (node: Protocol.Accessibility.AXNode, depth: number, parentName: string): string[] => {
    if (budget-- <= 0) return [];
    const role = axString(node.role);
    if (SKIPPED_ROLES.has(role)) return [];
    const name = axString(node.name).replace(/\s+/g, " ").trim();
    const hidden =
      node.ignored ||
      (WRAPPER_ROLES.has(role) && !name) ||
      (role === "StaticText" && (name === parentName || !name));
    const lines: string[] = [];
    let childDepth = depth;
    if (!hidden) {
      let line = `${"  ".repeat(depth)}- ${role === "StaticText" ? "text" : role}`;
      if (name) line += ` "${truncate(name, 200)}"`;
      const value = axString(node.value);
      if (value && role !== "StaticText") line += ` value="${truncate(value, 200)}"`;
      for (const prop of node.properties ?? []) {
        if (prop.name === "url" && role === "link") {
          const url = axString(prop.value);
          if (url) line += ` url="${truncate(url, 300)}"`;
          continue;
        }
        if (!SHOWN_PROPERTIES.has(prop.name)) continue;
        const pv = prop.value.value;
        if (pv === false || pv === "false" || pv === undefined) continue;
        line += pv === true || pv === "true" ? ` [${prop.name}]` : ` [${prop.name}=${String(pv)}]`;
      }
      if (node.backendDOMNodeId !== undefined && role !== "StaticText") {
        line += ` [ref=${refFor(tab, node.backendDOMNodeId)}]`;
      }
      lines.push(line);
      childDepth = depth + 1;
    }
    const children = (node.childIds ?? [])
      .map((id) => byId.get(id))
      .filter((c): c is Protocol.Accessibility.AXNode => c !== undefined)
      .map((child) => render(child, childDepth, hidden ? parentName : name))
      .filter((c) => c.length > 0);
    for (let i = 0; i < children.length; ) {
      const shape = shapeOf(children[i] ?? []);
      let j = i + 1;
      while (collapse && j < children.length && shapeOf(children[j] ?? []) === shape) j++;
      const run = j - i;
      if (run >= REPEAT_MIN) {
        for (const c of children.slice(i, i + REPEAT_SHOWN)) lines.push(...c);
        const role = /- (\S+)/.exec(children[i]?.[0] ?? "")?.[1] ?? "item";
        const last = [...(children[j - 1] ?? []).join(" ").matchAll(/"([^"]*)"/g)].at(-1)?.[1];
        lines.push(
          `${"  ".repeat(childDepth)}- … ${run - REPEAT_SHOWN} more ${role} like these${last ? ` (the last: "${last}")` : ""}; collapse=false shows them`,
        );
      } else {
        for (const c of children.slice(i, j)) lines.push(...c);
      }
      i = j;
    }
    return lines;
  };
  const all = root ? render(root, 0, "") : [];
  const truncated = all.length > maxNodes || budget < 0;
  const lines = all.slice(0, maxNodes);
  return { text: lines.join("\n"), nodes: lines.length, truncated };
}

/** Run `fn` on the referenced element, or evaluate `pageExpression` when no element is given. */
async function readElementOrPage(
  tab: Tab,
  element: string | undefined,
  fn: string,
  pageExpression: string,
): Promise<unknown> {
  if (element) return tab.callOn(await resolveElement(tab, element), fn);
  return (await tab.evaluate(pageExpression)).value;
}

export function contentTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_snapshot",
      title: "Accessibility snapshot",
      description:
        "The page as an accessibility tree (roles, names, values, states, link URLs) with a ref per element, e.g. [ref=e12]. Pass refs to chrome_click, chrome_type, chrome_fill_form and the other element tools. Nameless wrappers are folded and long runs of alike siblings (list items, rows) are collapsed to a count (collapse=false shows all). Refs are reset when the page navigates: take a new snapshot after a navigation (an old ref then fails with a clear error).",
      input: v.object({
        maxNodes: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(10),
            v.maxValue(20_000),
            v.description("Most lines to return (default 2000)"),
          ),
          2000,
        ),
        collapse: v.optional(
          v.pipe(v.boolean(), v.description("Collapse long runs of alike siblings (default true)")),
          true,
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const snap = await accessibilitySnapshot(tab, args.maxNodes, args.collapse);
        const header = `Page: ${tab.url}${snap.truncated ? ` (first ${snap.nodes} nodes; raise maxNodes for more)` : ""}`;
        return {
          content: [{ type: "text", text: `${header}\n${snap.text}` }],
          structuredContent: {
            url: tab.url,
            nodes: snap.nodes,
            truncated: snap.truncated,
            snapshot: snap.text,
          },
        };
      },
    }),
    defineTool({
      name: "chrome_query_selector",
      title: "Query selector",
      description:
        "Find elements matching a CSS selector: tag, id, classes, text, visibility and a ref usable by the element tools.",
      input: v.object({
        selector: v.pipe(
          v.string(),
          v.minLength(1, "selector must not be empty"),
          v.description("CSS selector"),
        ),
        limit: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.maxValue(200),
            v.description("Most elements to return (default 20)"),
          ),
          20,
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const found = await tab.guard(
          tab.send("Runtime.evaluate", {
            expression: `Array.from(document.querySelectorAll(${JSON.stringify(args.selector)})).slice(0, ${args.limit})`,
          }),
        );
        if (found.exceptionDetails || !found.result.objectId) {
          throw new ToolError(`Invalid CSS selector ${JSON.stringify(args.selector)}`);
        }
        const props = await tab.send("Runtime.getProperties", {
          objectId: found.result.objectId,
          ownProperties: true,
        });
        const elements = [];
        for (const prop of props.result) {
          const objectId = prop.value?.objectId;
          if (!/^\d+$/.test(prop.name) || !objectId) continue;
          const { node } = await tab.send("DOM.describeNode", { objectId });
          const info = await tab.callOn(
            objectId,
            `function () {
              const r = this.getBoundingClientRect();
              const s = getComputedStyle(this);
              const attrs = {};
              for (const a of Array.from(this.attributes).slice(0, 12)) attrs[a.name] = a.value.slice(0, 200);
              return {
                tag: this.tagName.toLowerCase(),
                text: (this.innerText || this.textContent || "").replace(/\\s+/g, " ").trim().slice(0, 200),
                attributes: attrs,
                visible: r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none",
                box: { x: Math.round(r.x), y: Math.round(r.y), width: Math.round(r.width), height: Math.round(r.height) },
              };
            }`,
          );
          elements.push({ ref: refFor(tab, node.backendNodeId), ...(info as Record<string, unknown>) });
        }
        await tab.send("Runtime.releaseObject", { objectId: found.result.objectId }).catch(() => undefined);
        return result(`${elements.length} element(s) match ${JSON.stringify(args.selector)}`, { elements });
      },
    }),
    defineTool({
      name: "chrome_get_text",
      title: "Get text",
      description: "The visible text (innerText) of the page or of one element.",
      input: v.object({ element: v.optional(ElementArg), maxChars: MaxChars }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const text = await readElementOrPage(
          await sessions.tab(ctx),
          args.element,
          "function () { return this.innerText ?? this.textContent ?? ''; }",
          "document.body ? document.body.innerText : ''",
        );
        return truncate(String(text ?? ""), args.maxChars);
      },
    }),
    defineTool({
      name: "chrome_get_html",
      title: "Get HTML",
      description: "The HTML of the page (the live DOM, serialised) or of one element (outer HTML).",
      input: v.object({ element: v.optional(ElementArg), maxChars: MaxChars }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const html = await readElementOrPage(
          await sessions.tab(ctx),
          args.element,
          "function () { return this.outerHTML; }",
          "document.documentElement ? document.documentElement.outerHTML : ''",
        );
        return truncate(String(html ?? ""), args.maxChars);
      },
    }),
  ];
}
