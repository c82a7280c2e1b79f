import { ToolError } from "@omni/kit";
import type Protocol from "devtools-protocol";
import * as v from "valibot";
import type { Tab } from "./tab.ts";

/** The `element` argument every element tool takes. */
export const ElementArg = v.pipe(
  v.string(),
  v.minLength(1, "element must not be empty"),
  v.description(
    "A ref from chrome_snapshot (e.g. `e12`) or a CSS selector (e.g. `form#login input[name=email]`)",
  ),
);

const REF = /^e\d+$/;

/** Resolve a ref or selector to a remote object id in the tab's page. */
export async function resolveElement(tab: Tab, element: string): Promise<string> {
  if (REF.test(element)) {
    const backendNodeId = tab.refs.get(element);
    if (backendNodeId === undefined) {
      throw new ToolError(
        `Unknown element ref ${element}: take a fresh chrome_snapshot (refs reset on navigation)`,
      );
    }
    const resolved = await tab.send("DOM.resolveNode", { backendNodeId }).catch(() => null);
    const objectId = resolved?.object.objectId;
    if (!objectId)
      throw new ToolError(`Element ${element} is no longer in the page: take a fresh chrome_snapshot`);
    return objectId;
  }
  const result = await tab.guard(
    tab.send("Runtime.evaluate", { expression: `document.querySelector(${JSON.stringify(element)})` }),
  );
  if (result.exceptionDetails) {
    throw new ToolError(
      `Invalid CSS selector ${JSON.stringify(element)}: use a ref (e12) or a valid selector`,
    );
  }
  if (result.result.subtype === "null" || !result.result.objectId) {
    throw new ToolError(`No element matches ${JSON.stringify(element)}`);
  }
  if (result.result.subtype !== "node") throw new ToolError(`${JSON.stringify(element)} is not an element`);
  return result.result.objectId;
}

/** Resolve an element reference, scroll it into view and return the centre of its first box (viewport CSS pixels). */
export async function elementCenter(tab: Tab, element: string): Promise<{ x: number; y: number }> {
  const objectId = await resolveElement(tab, element);
  await tab.send("DOM.scrollIntoViewIfNeeded", { objectId }).catch(() => undefined);
  const { quads } = await tab
    .send("DOM.getContentQuads", { objectId })
    .catch(() => ({ quads: [] as number[][] }));
  const quad = quads.find((q) => area(q) > 0.5);
  if (!quad) throw new ToolError(`Element ${element} is not visible (it has no box on screen)`);
  const xs = [quad[0], quad[2], quad[4], quad[6]].map((n) => n ?? 0);
  const ys = [quad[1], quad[3], quad[5], quad[7]].map((n) => n ?? 0);
  return { x: xs.reduce((a, b) => a + b) / 4, y: ys.reduce((a, b) => a + b) / 4 };
}

function area(q: number[]): number {
  const [x1 = 0, y1 = 0, x2 = 0, y2 = 0, x3 = 0, y3 = 0, x4 = 0, y4 = 0] = q;
  return Math.abs((x1 * y2 - x2 * y1 + (x2 * y3 - x3 * y2) + (x3 * y4 - x4 * y3) + (x4 * y1 - x1 * y4)) / 2);
}

export const MouseButton = v.optional(
  v.pipe(v.picklist(["left", "right", "middle"]), v.description("Mouse button (default left)")),
  "left",
);

export async function mouseClick(
  tab: Tab,
  x: number,
  y: number,
  options: { button?: "left" | "right" | "middle"; clickCount?: number; modifiers?: number } = {},
): Promise<void> {
  const button = options.button ?? "left";
  const clickCount = options.clickCount ?? 1;
  const modifiers = options.modifiers ?? 0;
  await tab.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y, modifiers });
  for (let i = 1; i <= clickCount; i++) {
    await tab.send("Input.dispatchMouseEvent", {
      type: "mousePressed",
      x,
      y,
      button,
      clickCount: i,
      modifiers,
    });
    await tab.send("Input.dispatchMouseEvent", {
      type: "mouseReleased",
      x,
      y,
      button,
      clickCount: i,
      modifiers,
    });
  }
}

interface KeyDef {
  key: string;
  code: string;
  keyCode: number;
  text?: string;
}

const NAMED_KEYS: Record<string, KeyDef> = {
  Enter: { key: "Enter", code: "Enter", keyCode: 13, text: "\r" },
  Tab: { key: "Tab", code: "Tab", keyCode: 9 },
  Escape: { key: "Escape", code: "Escape", keyCode: 27 },
  Backspace: { key: "Backspace", code: "Backspace", keyCode: 8 },
  Delete: { key: "Delete", code: "Delete", keyCode: 46 },
  Space: { key: " ", code: "Space", keyCode: 32, text: " " },
  ArrowUp: { key: "ArrowUp", code: "ArrowUp", keyCode: 38 },
  ArrowDown: { key: "ArrowDown", code: "ArrowDown", keyCode: 40 },
  ArrowLeft: { key: "ArrowLeft", code: "ArrowLeft", keyCode: 37 },
  ArrowRight: { key: "ArrowRight", code: "ArrowRight", keyCode: 39 },
  Home: { key: "Home", code: "Home", keyCode: 36 },
  End: { key: "End", code: "End", keyCode: 35 },
  PageUp: { key: "PageUp", code: "PageUp", keyCode: 33 },
  PageDown: { key: "PageDown", code: "PageDown", keyCode: 34 },
  Shift: { key: "Shift", code: "ShiftLeft", keyCode: 16 },
  Control: { key: "Control", code: "ControlLeft", keyCode: 17 },
  Alt: { key: "Alt", code: "AltLeft", keyCode: 18 },
  Meta: { key: "Meta", code: "MetaLeft", keyCode: 91 },
};
for (let i = 1; i <= 12; i++) NAMED_KEYS[`F${i}`] = { key: `F${i}`, code: `F${i}`, keyCode: 111 + i };

const MODIFIER_BITS: Record<string, number> = { Alt: 1, Control: 2, Meta: 4, Shift: 8 };

function keyDef(name: string): KeyDef | undefined {
  const named = NAMED_KEYS[name];
  if (named) return named;
  if ([...name].length !== 1) return undefined;
  const upper = name.toUpperCase();
  if (/^[a-z]$/i.test(name))
    return { key: name, code: `Key${upper}`, keyCode: upper.charCodeAt(0), text: name };
  if (/^\d$/.test(name)) return { key: name, code: `Digit${name}`, keyCode: name.charCodeAt(0), text: name };
  return { key: name, code: "", keyCode: 0, text: name };
}

/** The `Input.dispatchKeyEvent` parameters that name a key. */
function keyEvent<T extends Protocol.Input.DispatchKeyEventRequest["type"]>(
  type: T,
  def: KeyDef,
  modifiers: number,
) {
  return { type, key: def.key, code: def.code, windowsVirtualKeyCode: def.keyCode, modifiers };
}

/** Press a key or chord such as `Enter`, `a`, `Control+a`, `Shift+Tab`. */
export async function pressKey(tab: Tab, combo: string): Promise<void> {
  const parts = combo === "+" ? ["+"] : combo.split("+").filter(Boolean);
  const main = parts.pop();
  let modifiers = 0;
  for (const mod of parts) {
    const bit = MODIFIER_BITS[mod];
    if (bit === undefined)
      throw new ToolError(`Unknown modifier "${mod}" in "${combo}" (use Alt, Control, Meta, Shift)`);
    modifiers |= bit;
  }
  const def = main ? keyDef(main) : undefined;
  if (!def) {
    throw new ToolError(
      `Unknown key "${main ?? combo}": use a single character or one of ${Object.keys(NAMED_KEYS).join(", ")}`,
    );
  }
  for (const mod of parts) {
    const m = NAMED_KEYS[mod];
    if (m) await tab.send("Input.dispatchKeyEvent", keyEvent("rawKeyDown", m, modifiers));
  }
  // Text is inserted only for plain (or shifted) keys; chords like Control+a are commands.
  const text = modifiers & ~MODIFIER_BITS.Shift! ? undefined : def.text;
  const down = {
    ...keyEvent(text ? "keyDown" : "rawKeyDown", def, modifiers),
    ...(text ? { text, unmodifiedText: text } : {}),
    ...(modifiers === MODIFIER_BITS.Control && def.key.toLowerCase() === "a"
      ? { commands: ["selectAll"] }
      : {}),
  };
  await tab.send("Input.dispatchKeyEvent", down);
  await tab.send("Input.dispatchKeyEvent", keyEvent("keyUp", def, modifiers));
  for (const mod of parts.reverse()) {
    const m = NAMED_KEYS[mod];
    if (m) await tab.send("Input.dispatchKeyEvent", keyEvent("keyUp", m, 0));
  }
}

/** Type text one character at a time (key events for ASCII, text insertion for the rest). */
export async function typeText(tab: Tab, text: string): Promise<void> {
  for (const ch of text) {
    if (ch === "\n") {
      await pressKey(tab, "Enter");
      continue;
    }
    const def = keyDef(ch);
    if (def && def.keyCode !== 0) {
      await tab.send("Input.dispatchKeyEvent", {
        type: "keyDown",
        key: def.key,
        code: def.code,
        windowsVirtualKeyCode: def.keyCode,
        text: ch,
        unmodifiedText: ch,
      });
      await tab.send("Input.dispatchKeyEvent", {
        type: "keyUp",
        key: def.key,
        code: def.code,
        windowsVirtualKeyCode: def.keyCode,
      });
    } else {
      await tab.send("Input.insertText", { text: ch });
    }
  }
}

/** Set an input's value the way a user would (fires input and change), for text, checkbox, radio and select. */
const SET_VALUE_FN = `function (value) {
  const el = this;
  const fire = () => {
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  };
  if (el instanceof HTMLSelectElement) {
    const wanted = Array.isArray(value) ? value.map(String) : [String(value)];
    const options = Array.from(el.options);
    const picked = wanted.map((w) => options.find((o) => o.value === w) || options.find((o) => o.label.trim() === w));
    const missing = wanted.filter((w, i) => !picked[i]);
    if (missing.length) throw new Error("no option " + JSON.stringify(missing[0]) + "; options are " + JSON.stringify(options.map((o) => o.value)));
    for (const o of options) o.selected = picked.includes(o);
    fire();
    return { selected: picked.map((o) => o.value) };
  }
  if (el instanceof HTMLInputElement && (el.type === "checkbox" || el.type === "radio")) {
    const want = value === true || value === "true" || value === "on" || value === "checked" || value === el.value && el.type === "radio";
    if (el.checked !== want) el.click();
    return { checked: el.checked };
  }
  if (el instanceof HTMLInputElement && el.type === "file") throw new Error("use chrome_upload_file for file inputs");
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
    el.focus();
    const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, "value").set.call(el, String(value));
    fire();
    return { value: el.value };
  }
  if (el.isContentEditable) {
    el.focus();
    el.textContent = String(value);
    el.dispatchEvent(new Event("input", { bubbles: true }));
    return { value: el.textContent };
  }
  throw new Error("element <" + el.tagName.toLowerCase() + "> is not a form field");
}`;

/** Set a field's value (see SET_VALUE_FN); a failure is a tool error that starts with `where`. */
export async function setFieldValue(
  tab: Tab,
  objectId: string,
  value: unknown,
  where: string,
): Promise<Record<string, unknown>> {
  try {
    return (await tab.callOn(objectId, SET_VALUE_FN, [value])) as Record<string, unknown>;
  } catch (err) {
    throw new ToolError(`${where}: ${(err as Error).message}`);
  }
}

/** Resolve an element reference that must be of a kind: `test` (run on the element) returns true for it. */
export async function resolveElementOfKind(
  tab: Tab,
  element: string,
  test: string,
  kind: string,
): Promise<string> {
  const objectId = await resolveElement(tab, element);
  if ((await tab.callOn(objectId, test)) !== true) throw new ToolError(`${element} is not ${kind}`);
  return objectId;
}
