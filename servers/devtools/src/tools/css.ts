import { defineTool, type ToolDefinition } from "@omni/kit";
import type Protocol from "devtools-protocol";
import * as v from "valibot";
import { ElementArg, resolveElement } from "../elements.ts";
import type { SessionManager } from "../sessions.ts";
import type { Tab } from "../tab.ts";
import { Effect, result } from "./util.ts";

/** Properties an element inherits from its ancestors when it does not set them itself. */
const INHERITED =
  /^(color|font|font-.*|line-height|letter-spacing|word-spacing|text-(align|indent|transform|shadow)|white-space|visibility|cursor|direction|list-style.*|quotes|caret-color|--.*)$/;

interface Declaration {
  name: string;
  value: string;
  important?: boolean;
  /** A later or more important declaration of the same property wins. */
  overridden?: boolean;
}
interface RuleOut {
  selector: string;
  origin: string;
  source: string;
  media?: string[];
  declarations: Declaration[];
}

function declarations(style: Protocol.CSS.CSSStyle, filter?: (name: string) => boolean): Declaration[] {
  return style.cssProperties
    .filter((p) => p.text !== undefined && p.text !== "" && p.disabled !== true && p.parsedOk !== false)
    .filter((p) => !filter || filter(p.name))
    .map((p) => ({ name: p.name, value: p.value, ...(p.important ? { important: true } : {}) }));
}

function source(rule: Protocol.CSS.CSSRule, sheets: Map<string, Protocol.CSS.CSSStyleSheetHeader>): string {
  if (rule.origin === "user-agent") return "user-agent stylesheet";
  const sheet = rule.styleSheetId ? sheets.get(rule.styleSheetId) : undefined;
  const line = rule.style.range ? `:${rule.style.range.startLine + 1}` : "";
  if (!sheet) return `stylesheet${line}`;
  if (sheet.isInline) return `<style> in ${sheet.sourceURL || "the page"}${line}`;
  return `${sheet.sourceURL}${line}`;
}

function ruleOut(
  match: Protocol.CSS.RuleMatch,
  sheets: Map<string, Protocol.CSS.CSSStyleSheetHeader>,
  filter?: (name: string) => boolean,
): RuleOut {
  const rule = match.rule;
  const selectors = match.matchingSelectors.map((i) => rule.selectorList.selectors[i]?.text ?? "");
  const out: RuleOut = {
    selector: selectors.join(", ") || rule.selectorList.text,
    origin: rule.origin,
    source: source(rule, sheets),
    declarations: declarations(rule.style, filter),
  };
  const media = rule.media?.map((m) => m.text);
  if (media?.length) out.media = media;
  return out;
}

/**
 * Mark the declarations that lose the cascade. `ordered` runs from lowest to highest precedence
 * (matched rules in the order CDP gives them, then the inline style): for a property, the last
 * !important declaration wins, else the last normal one.
 */
function markCascade(ordered: Declaration[][]): Map<string, Declaration> {
  const winners = new Map<string, Declaration>();
  for (const list of ordered) {
    for (const d of list) {
      const current = winners.get(d.name);
      if (!current || d.important || !current.important) winners.set(d.name, d);
    }
  }
  for (const list of ordered) for (const d of list) if (winners.get(d.name) !== d) d.overridden = true;
  return winners;
}

async function describe(tab: Tab, nodeId: number): Promise<string> {
  const { node } = await tab.send("DOM.describeNode", { nodeId });
  const attrs = node.attributes ?? [];
  const attr = (name: string) => {
    const i = attrs.findIndex((a, j) => j % 2 === 0 && a === name);
    return i >= 0 ? (attrs[i + 1] ?? "") : "";
  };
  let text = node.localName || node.nodeName.toLowerCase();
  if (attr("id")) text += `#${attr("id")}`;
  const classes = attr("class").trim();
  if (classes)
    text += classes
      .split(/\s+/)
      .map((c) => `.${c}`)
      .join("");
  return text;
}

export function cssTools(sessions: SessionManager): ToolDefinition[] {
  return [
    defineTool({
      name: "chrome_get_matched_styles",
      title: "Matched CSS rules",
      description:
        "The CSS cascade of an element, as the Styles pane shows it: the inline style, every matching rule (selector, stylesheet and line, media) with its declarations, overridden ones marked, the inherited rules from ancestors, and which declaration wins for each property. Use it to find why a style does or does not apply.",
      input: v.object({
        element: ElementArg,
        properties: v.optional(
          v.pipe(
            v.array(v.pipe(v.string(), v.minLength(1))),
            v.maxLength(100, "at most 100 properties"),
            v.description("Only these properties (default all)"),
          ),
        ),
        includeUserAgent: v.optional(
          v.pipe(v.boolean(), v.description("Include the browser's default (user-agent) rules")),
          false,
        ),
        includeInherited: v.optional(
          v.pipe(v.boolean(), v.description("Include rules inherited from ancestors (default true)")),
          true,
        ),
      }),
      annotations: Effect.read,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const objectId = await resolveElement(tab, args.element);
        const sheets = new Map<string, Protocol.CSS.CSSStyleSheetHeader>();
        const stop = tab.listen("CSS.styleSheetAdded", (e) => {
          const header = (e.params as unknown as Protocol.CSS.StyleSheetAddedEvent).header;
          sheets.set(header.styleSheetId, header);
        });
        let matched: Protocol.CSS.GetMatchedStylesForNodeResponse;
        let nodeId: number;
        try {
          await tab.send("DOM.enable", {});
          await tab.send("CSS.enable");
          await tab.send("DOM.getDocument", { depth: 0 });
          nodeId = (await tab.send("DOM.requestNode", { objectId })).nodeId;
          matched = await tab.send("CSS.getMatchedStylesForNode", { nodeId });
        } finally {
          stop();
        }
        const wanted = args.properties ? new Set(args.properties.map((p) => p.toLowerCase())) : null;
        const own = (name: string) => !wanted || wanted.has(name);
        const keep = (m: Protocol.CSS.RuleMatch) => args.includeUserAgent || m.rule.origin !== "user-agent";

        const rules = (matched.matchedCSSRules ?? []).filter(keep).map((m) => ruleOut(m, sheets, own));
        const inline = matched.inlineStyle ? declarations(matched.inlineStyle, own) : [];
        const winners = markCascade([...rules.map((r) => r.declarations), inline]);

        const inherited: { from: string; inline?: Declaration[]; rules: RuleOut[] }[] = [];
        if (args.includeInherited) {
          const inheritable = (name: string) => INHERITED.test(name) && own(name) && !winners.has(name);
          // CDP lists one inherited entry per ancestor element, parent first.
          const ancestors = (await tab.callOn(
            objectId,
            `function () {
              const out = [];
              for (let p = this.parentElement; p; p = p.parentElement) {
                let d = p.tagName.toLowerCase();
                if (p.id) d += "#" + p.id;
                if (typeof p.className === "string" && p.className.trim()) d += "." + p.className.trim().split(/\\s+/).join(".");
                out.push(d);
              }
              return out;
            }`,
          )) as string[];
          for (const [i, entry] of (matched.inherited ?? []).entries()) {
            const entryRules = (entry.matchedCSSRules ?? [])
              .filter(keep)
              .map((m) => ruleOut(m, sheets, inheritable))
              .filter((r) => r.declarations.length > 0);
            const entryInline = entry.inlineStyle ? declarations(entry.inlineStyle, inheritable) : [];
            if (entryRules.length || entryInline.length) {
              inherited.push({
                from: ancestors[i] ?? `ancestor ${i + 1}`,
                ...(entryInline.length ? { inline: entryInline } : {}),
                rules: entryRules,
              });
            }
          }
        }
        const element = await describe(tab, nodeId);
        const cascade: Record<string, { value: string; from: string }> = {};
        for (const [name, d] of winners) {
          const rule = rules.find((r) => r.declarations.includes(d));
          cascade[name] = {
            value: d.value + (d.important ? " !important" : ""),
            from: rule ? rule.selector : "inline style",
          };
        }
        return result(
          `${element}: ${rules.length} matching rule(s)${inline.length ? " and an inline style" : ""}; ${Object.keys(cascade).length} propert${Object.keys(cascade).length === 1 ? "y" : "ies"} set`,
          { element, cascade, inline, rules: [...rules].reverse(), inherited },
        );
      },
    }),
  ];
}
