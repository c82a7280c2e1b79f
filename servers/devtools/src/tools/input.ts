import { mkdtempSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { defineTool, type ToolDefinition, ToolError } from "@omni/kit";
import type Protocol from "devtools-protocol";
import * as v from "valibot";
import {
  ElementArg,
  elementCenter,
  MouseButton,
  mouseClick,
  pressKey,
  resolveElement,
  resolveElementOfKind,
  setFieldValue,
  typeText,
} from "../elements.ts";
import type { SessionManager } from "../sessions.ts";
import type { DialogInfo, Tab } from "../tab.ts";
import { accessibilitySnapshot } from "./content.ts";
import { pageInfo } from "./navigation.ts";
import { Effect, result, sleep } from "./util.ts";

interface Settled {
  dialog?: DialogInfo;
  navigatedTo?: string;
}

/**
 * Run an input action and let its consequences settle: a dialog it opens is reported (input would block
 * behind it), a navigation it starts is waited for (up to the navigation timeout).
 */
async function settle(tab: Tab, timeoutMs: number, action: () => Promise<void>): Promise<Settled> {
  const isMain = (e: { params: Record<string, unknown> }) => e.params.frameId === tab.mainFrameId;
  const requested = tab.waitFor(["Page.frameRequestedNavigation", "Page.frameStartedNavigating"], isMain);
  const loaded = tab.waitFor(["Page.loadEventFired", "Tab.closed"]);
  const dialog = tab.dialogOpened();
  let opened: DialogInfo | undefined;
  try {
    const acted = action();
    await Promise.race([
      acted,
      dialog.promise.then((d) => {
        opened = d;
      }),
    ]);
    if (opened) {
      acted.catch(() => undefined);
      return { dialog: opened };
    }
    const navigating = await Promise.race([requested.promise.then(() => true), sleep(150).then(() => false)]);
    if (!navigating) return {};
    const done = await Promise.race([
      loaded.promise.then(() => true),
      dialog.promise.then((d) => {
        opened = d;
        return true;
      }),
      sleep(timeoutMs).then(() => false),
    ]);
    if (opened) return { dialog: opened };
    if (!done) return { navigatedTo: `${tab.url} (still loading)` };
    return { navigatedTo: (await pageInfo(tab)).url };
  } finally {
    requested.cancel();
    loaded.cancel();
    dialog.cancel();
  }
}

function describeSettled(s: Settled): string {
  if (s.dialog) {
    return ` A ${s.dialog.type} dialog opened ("${s.dialog.message}"): answer it with chrome_handle_dialog.`;
  }
  if (s.navigatedTo) return ` The page navigated to ${s.navigatedTo}.`;
  return "";
}

const FieldValue = v.union(
  [v.string(), v.boolean(), v.number(), v.array(v.string())],
  "value must be a string, number, boolean (checkboxes) or array of strings (multi-selects)",
);

const IncludeSnapshot = v.optional(
  v.pipe(
    v.boolean(),
    v.description(
      "Also return the page's accessibility snapshot after the action (saves a chrome_snapshot call)",
    ),
  ),
  false,
);

/** Append the page after the action: wait (at most 2 s) for a navigation it started to load, then snapshot. */
async function snapshotAfter(tab: Tab, signal: AbortSignal): Promise<string> {
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    const state = await tab.evaluate("document.readyState").catch(() => null);
    if (state?.value === "complete") break;
    await sleep(50, signal);
  }
  const snap = await accessibilitySnapshot(tab, 2000);
  return `Page after the action: ${tab.url}${snap.truncated ? " (truncated)" : ""}\n${snap.text}`;
}

/** Give an input tool the `includeSnapshot` option (inputs stay plain `v.object`s). */
function withSnapshotOption(tool: ToolDefinition, sessions: SessionManager): ToolDefinition {
  const input = tool.input as v.ObjectSchema<v.ObjectEntries, undefined>;
  return {
    ...tool,
    description: `${tool.description} includeSnapshot=true also returns the page afterwards.`,
    input: v.object({ ...input.entries, includeSnapshot: IncludeSnapshot }),
    async handler(input, ctx) {
      const { includeSnapshot, ...args } = input as { includeSnapshot?: boolean; [name: string]: unknown };
      const out = await tool.handler(args, ctx);
      if (!includeSnapshot) return out;
      const text = await snapshotAfter(await sessions.tab(ctx), ctx.signal);
      if (typeof out === "string") return `${out}\n${text}`;
      if (Array.isArray(out)) return [...out, { type: "text", text }];
      return { ...out, content: [...out.content, { type: "text", text }] };
    },
  };
}

export function inputTools(sessions: SessionManager): ToolDefinition[] {
  return inputToolList(sessions).map((tool) => withSnapshotOption(tool, sessions));
}

function inputToolList(sessions: SessionManager): ToolDefinition[] {
  const navTimeout = () => sessions.options.navigationTimeoutMs;
  return [
    defineTool({
      name: "chrome_click",
      title: "Click",
      description:
        "Click an element (scrolled into view, real mouse events). Waits for a navigation the click starts; reports a dialog it opens.",
      input: v.object({
        element: ElementArg,
        button: MouseButton,
        doubleClick: v.optional(v.pipe(v.boolean(), v.description("Double-click instead")), false),
      }),
      annotations: Effect.actOnWeb,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const { x, y } = await elementCenter(tab, args.element);
        const settled = await settle(tab, navTimeout(), () =>
          mouseClick(tab, x, y, { button: args.button, clickCount: args.doubleClick ? 2 : 1 }),
        );
        return result(`Clicked ${args.element}.${describeSettled(settled)}`, { x, y, ...settled });
      },
    }),
    defineTool({
      name: "chrome_hover",
      title: "Hover",
      description: "Move the mouse over an element (triggers :hover styles and mouseover handlers).",
      input: v.object({ element: ElementArg }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const { x, y } = await elementCenter(tab, args.element);
        await tab.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
        return result(`Hovering over ${args.element}`, { x, y });
      },
    }),
    defineTool({
      name: "chrome_type",
      title: "Type text",
      description:
        "Type text with key events into an element (focused first) or into whatever has focus. Optionally clear it first and press Enter after.",
      input: v.object({
        element: v.optional(ElementArg),
        text: v.pipe(v.string(), v.description("Text to type; \\n presses Enter")),
        clear: v.optional(v.pipe(v.boolean(), v.description("Empty the field first")), false),
        submit: v.optional(v.pipe(v.boolean(), v.description("Press Enter after typing")), false),
      }),
      annotations: Effect.actOnWeb,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        if (args.element) {
          const objectId = await resolveElement(tab, args.element);
          await tab.callOn(
            objectId,
            `function (clear) {
              this.focus();
              if (clear && "value" in this) {
                this.value = "";
                this.dispatchEvent(new Event("input", { bubbles: true }));
              }
            }`,
            [args.clear],
          );
        }
        await typeText(tab, args.text);
        const settled = args.submit ? await settle(tab, navTimeout(), () => pressKey(tab, "Enter")) : {};
        return result(
          `Typed ${args.text.length} character(s)${args.element ? ` into ${args.element}` : ""}.${describeSettled(settled)}`,
          { ...settled },
        );
      },
    }),
    defineTool({
      name: "chrome_fill_form",
      title: "Fill form",
      description:
        "Fill several form fields at once (text inputs, textareas, selects, checkboxes, radios), firing input/change events, then optionally click a submit element.",
      input: v.object({
        fields: v.pipe(
          v.array(v.object({ element: ElementArg, value: FieldValue })),
          v.minLength(1, "fields must name at least one field"),
          v.description("Fields to fill, in order"),
        ),
        submit: v.optional(v.pipe(ElementArg, v.description("Element to click once the fields are filled"))),
      }),
      annotations: Effect.actOnWeb,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const filled: Record<string, unknown>[] = [];
        for (const [i, field] of args.fields.entries()) {
          const objectId = await resolveElement(tab, field.element);
          const out = await setFieldValue(tab, objectId, field.value, `fields[${i}] (${field.element})`);
          filled.push({ element: field.element, ...out });
        }
        let settled: Settled = {};
        if (args.submit) {
          const { x, y } = await elementCenter(tab, args.submit);
          settled = await settle(tab, navTimeout(), () => mouseClick(tab, x, y));
        }
        return result(
          `Filled ${filled.length} field(s)${args.submit ? ` and clicked ${args.submit}` : ""}.${describeSettled(settled)}`,
          { filled, ...settled },
        );
      },
    }),
    defineTool({
      name: "chrome_press_key",
      title: "Press key",
      description:
        "Press a key or chord (Enter, Escape, Tab, ArrowDown, a, Control+a, Shift+Tab …), on an element (focused first) or on whatever has focus.",
      input: v.object({
        key: v.pipe(
          v.string(),
          v.minLength(1, "key must not be empty"),
          v.description("Key name or chord, e.g. Enter or Control+a"),
        ),
        element: v.optional(ElementArg),
      }),
      annotations: Effect.actOnWeb,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        if (args.element) {
          const objectId = await resolveElement(tab, args.element);
          await tab.callOn(objectId, "function () { this.focus(); }");
        }
        const settled = await settle(tab, navTimeout(), () => pressKey(tab, args.key));
        return result(`Pressed ${args.key}.${describeSettled(settled)}`, { ...settled });
      },
    }),
    defineTool({
      name: "chrome_select_option",
      title: "Select option",
      description: "Choose options of a <select> by value or visible label (several for a multi-select).",
      input: v.object({
        element: ElementArg,
        values: v.pipe(
          v.union([v.string(), v.array(v.string())], "values must be a string or an array of strings"),
          v.description("Option value(s) or label(s)"),
        ),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const objectId = await resolveElementOfKind(
          tab,
          args.element,
          "function () { return this instanceof HTMLSelectElement; }",
          "a <select> element",
        );
        const out = await setFieldValue(tab, objectId, args.values, args.element);
        return result(`Selected in ${args.element}`, { ...out });
      },
    }),
    defineTool({
      name: "chrome_scroll",
      title: "Scroll",
      description:
        "Scroll the page or a scrollable element by a delta, to the top/bottom, or scroll an element into view (give only element).",
      input: v.object({
        element: v.optional(ElementArg),
        deltaX: v.optional(v.pipe(v.number(), v.description("Pixels to scroll right (negative: left)"))),
        deltaY: v.optional(v.pipe(v.number(), v.description("Pixels to scroll down (negative: up)"))),
        to: v.optional(
          v.pipe(v.picklist(["top", "bottom"]), v.description("Scroll to the top or the bottom")),
        ),
      }),
      annotations: Effect.act,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const target = args.element ? await resolveElement(tab, args.element) : undefined;
        const onlyIntoView = target && args.deltaX === undefined && args.deltaY === undefined && !args.to;
        const fn = `function (dx, dy, to, intoView) {
          const el = this === window || this === undefined ? document.scrollingElement : this;
          if (intoView) { this.scrollIntoView({ block: "center", inline: "center" }); }
          else if (to === "top") el.scrollTo(el.scrollLeft, 0);
          else if (to === "bottom") el.scrollTo(el.scrollLeft, el.scrollHeight);
          else el.scrollBy(dx, dy);
          const s = document.scrollingElement;
          return { scrollX: Math.round(window.scrollX), scrollY: Math.round(window.scrollY),
                   elementScrollTop: Math.round(el.scrollTop), elementScrollLeft: Math.round(el.scrollLeft),
                   pageHeight: s.scrollHeight, viewportHeight: window.innerHeight };
        }`;
        const params = [args.deltaX ?? 0, args.deltaY ?? 0, args.to ?? null, Boolean(onlyIntoView)];
        const out = target
          ? await tab.callOn(target, fn, params)
          : await tab.callOn(
              (await tab.send("Runtime.evaluate", { expression: "document.scrollingElement" })).result
                .objectId ?? "",
              fn,
              params,
            );
        return result("Scrolled", { ...(out as Record<string, unknown>) });
      },
    }),
    defineTool({
      name: "chrome_upload_file",
      title: "Upload file",
      description:
        "Put files into an <input type=file> (contents given inline; nothing is read from the server's disk). Fires the input's change event.",
      input: v.object({
        element: ElementArg,
        files: v.pipe(
          v.array(
            v.object({
              name: v.pipe(
                v.string(),
                v.minLength(1, "name must not be empty"),
                v.description("File name, e.g. report.csv"),
              ),
              content: v.pipe(
                v.string(),
                v.description("File contents (text, or base64 with encoding=base64)"),
              ),
              encoding: v.optional(v.picklist(["utf8", "base64"]), "utf8"),
            }),
          ),
          v.minLength(1, "files must hold at least one file"),
          v.maxLength(20, "at most 20 files"),
        ),
      }),
      annotations: Effect.set,
      async handler(args, ctx) {
        const session = await sessions.session(ctx);
        const tab = await sessions.tab(ctx);
        const objectId = await resolveElementOfKind(
          tab,
          args.element,
          "function () { return this instanceof HTMLInputElement && this.type === 'file'; }",
          "an <input type=file>",
        );
        const dir = mkdtempSync(join(session.uploads(), "u-"));
        const paths = args.files.map((file) => {
          const name = basename(file.name);
          if (!name || name === "." || name === "..")
            throw new ToolError(`Invalid file name ${JSON.stringify(file.name)}`);
          const path = join(dir, name);
          writeFileSync(path, Buffer.from(file.content, file.encoding === "base64" ? "base64" : "utf8"));
          return path;
        });
        await tab.send("DOM.setFileInputFiles", { files: paths, objectId });
        return result(`Attached ${paths.length} file(s) to ${args.element}`, {
          files: args.files.map((f) => basename(f.name)),
        });
      },
    }),
    defineTool({
      name: "chrome_handle_dialog",
      title: "Handle dialog",
      description:
        "Accept or dismiss the open alert/confirm/prompt/beforeunload dialog (with text for a prompt).",
      input: v.object({
        accept: v.pipe(v.boolean(), v.description("true = OK, false = Cancel")),
        promptText: v.optional(v.pipe(v.string(), v.description("Text to enter into a prompt() dialog"))),
      }),
      annotations: Effect.act,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const dialog = tab.dialog;
        if (!dialog) throw new ToolError("No dialog is open in the current tab");
        await tab.send("Page.handleJavaScriptDialog", {
          accept: args.accept,
          ...(args.promptText !== undefined ? { promptText: args.promptText } : {}),
        });
        tab.dialog = null;
        return result(
          `${args.accept ? "Accepted" : "Dismissed"} the ${dialog.type} dialog "${dialog.message}"`,
          {
            ...dialog,
            accepted: args.accept,
          },
        );
      },
    }),
    defineTool({
      name: "chrome_drag",
      title: "Drag and drop",
      description: "Drag one element onto another (HTML5 drag and drop, or plain mouse dragging).",
      input: v.object({ from: ElementArg, to: ElementArg }),
      annotations: Effect.act,
      async handler(args, ctx) {
        const tab = await sessions.tab(ctx);
        const start = await elementCenter(tab, args.from);
        const end = await elementCenter(tab, args.to);
        await tab.send("Input.setInterceptDrags", { enabled: true });
        const intercepted = tab.waitFor(["Input.dragIntercepted"]);
        let html5 = false;
        try {
          await tab.send("Input.dispatchMouseEvent", { type: "mouseMoved", x: start.x, y: start.y });
          await tab.send("Input.dispatchMouseEvent", {
            type: "mousePressed",
            x: start.x,
            y: start.y,
            button: "left",
            clickCount: 1,
          });
          const mid = { x: (start.x + end.x) / 2, y: (start.y + end.y) / 2 };
          await tab.send("Input.dispatchMouseEvent", {
            type: "mouseMoved",
            x: mid.x,
            y: mid.y,
            button: "left",
            buttons: 1,
          });
          await tab.send("Input.dispatchMouseEvent", {
            type: "mouseMoved",
            x: end.x,
            y: end.y,
            button: "left",
            buttons: 1,
          });
          const drag = await Promise.race([intercepted.promise, sleep(300).then(() => null)]);
          if (drag) {
            html5 = true;
            const data = drag.params.data as Protocol.Input.DragData;
            for (const type of ["dragEnter", "dragOver", "drop"] as const) {
              await tab.send("Input.dispatchDragEvent", { type, x: end.x, y: end.y, data });
            }
          }
          await tab.send("Input.dispatchMouseEvent", {
            type: "mouseReleased",
            x: end.x,
            y: end.y,
            button: "left",
            clickCount: 1,
          });
        } finally {
          intercepted.cancel();
          await tab.send("Input.setInterceptDrags", { enabled: false }).catch(() => undefined);
        }
        return result(`Dragged ${args.from} onto ${args.to}${html5 ? " (HTML5 drag and drop)" : ""}`, {
          from: start,
          to: end,
          html5,
        });
      },
    }),
  ];
}
