/** RFC 6570 level 1 templates (`{var}` simple string expansion) compiled to matchers. */
export interface UriTemplateMatcher {
  template: string;
  match(uri: string): Record<string, string> | undefined;
}

const VAR = /\{([A-Za-z0-9_.%]+)\}/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Compile `linear://issues/{id}` into a matcher returning `{ id }` for `linear://issues/ENG-1`. */
export function compileUriTemplate(template: string): UriTemplateMatcher {
  const names: string[] = [];
  let pattern = "^";
  let last = 0;
  for (const m of template.matchAll(VAR)) {
    pattern += escapeRegExp(template.slice(last, m.index));
    // Level 1 expansion percent-encodes reserved characters, so a value never contains "/", "?" or "#".
    pattern += "([^/?#]+)";
    names.push(m[1] ?? "");
    last = m.index + m[0].length;
  }
  pattern += `${escapeRegExp(template.slice(last))}$`;
  const regex = new RegExp(pattern);
  return {
    template,
    match(uri) {
      const found = regex.exec(uri);
      if (!found) return undefined;
      const vars: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) {
        const raw = found[i + 1] ?? "";
        let value = raw;
        try {
          value = decodeURIComponent(raw);
        } catch {
          // A malformed escape stays as sent; the resource decides whether it exists.
        }
        vars[names[i] ?? ""] = value;
      }
      return vars;
    },
  };
}
