import type { PromptTemplate, ServerCapabilities } from "@omni/contracts";
import { compileServer } from "./runner.ts";
import type { ServerDefinition } from "./types.ts";

/** What a definition serves on `GET /rpc/capabilities` (and the gateway upserts into the catalogue). */
export function serverCapabilities(def: ServerDefinition): ServerCapabilities {
  return compileServer(def).capabilities;
}

/**
 * The prompt naming convention, the tools' one: `<server>_<verb>_<object>` in snake_case, e.g.
 * `linear_triage_issues` beside the tool `linear_search_issues`. Returns what is wrong, or null.
 */
export function promptNameProblem(server: string, name: string): string | null {
  // A dashed server name prefixes with underscores, as its tools do (`hr-tools` → `hr_tools_...`).
  const prefix = server.replaceAll("-", "_");
  if (!name.startsWith(`${prefix}_`)) return `"${name}" does not start with the server's name "${prefix}_"`;
  const words = name.slice(prefix.length + 1).split("_");
  if (!/^[a-z0-9_]+$/.test(name) || words.some((w) => w === "")) {
    return `"${name}" is not snake_case (lower-case words joined by single underscores)`;
  }
  if (words.length < 2)
    return `"${name}" needs a verb and an object after "${server}_" (e.g. ${server}_triage_issues)`;
  return null;
}

const STOP = new Set(
  "a an and as at be by for from in into is it its of on or the their them then this to with without your you what which".split(
    " ",
  ),
);

/** Crude English stem: enough to see `debugging`/`debug`, `issues`/`issue`, `planning`/`plan` as one word. */
function stem(word: string): string {
  let w = word.toLowerCase();
  for (const suffix of ["ing", "ed", "es", "s"]) {
    if (w.length > suffix.length + 2 && w.endsWith(suffix)) {
      w = w.slice(0, -suffix.length);
      break;
    }
  }
  // planning → plann → plan
  if (/([b-df-hj-np-tv-z])\1$/.test(w)) w = w.slice(0, -1);
  return w;
}

function words(text: string | undefined): Set<string> {
  return new Set(
    (text ?? "")
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((w) => w.length > 1 && !STOP.has(w))
      .map(stem),
  );
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  return shared / (a.size + b.size - shared);
}

export interface NamedPrompt extends Pick<PromptTemplate, "name" | "title" | "description"> {
  server: string;
}

/** Descriptions sharing at least this share of their content words are near-duplicates. */
export const NEAR_DUPLICATE_DESCRIPTIONS = 0.5;

/**
 * Pairs of prompts a user could not tell apart: names whose words (after the server prefix, stemmed)
 * are equal or one contains the other (`debugging` / `devtools_debug_page`), or titles/descriptions that
 * share most of their words. Each pair comes with the reason.
 */
export function nearDuplicatePrompts(prompts: NamedPrompt[]): { a: string; b: string; reason: string }[] {
  const found: { a: string; b: string; reason: string }[] = [];
  const nameWords = (p: NamedPrompt) => {
    const prefix = `${p.server.replaceAll("-", "_")}_`;
    return words(p.name.startsWith(prefix) ? p.name.slice(prefix.length) : p.name);
  };
  for (let i = 0; i < prompts.length; i++) {
    for (let j = i + 1; j < prompts.length; j++) {
      const a = prompts[i]!;
      const b = prompts[j]!;
      const [na, nb] = [nameWords(a), nameWords(b)];
      const contained = [...na].every((w) => nb.has(w)) || [...nb].every((w) => na.has(w));
      if (a.server === b.server && contained) {
        found.push({ a: a.name, b: b.name, reason: "one name's words contain the other's" });
        continue;
      }
      const text = jaccard(words(`${a.title} ${a.description}`), words(`${b.title} ${b.description}`));
      if (text >= NEAR_DUPLICATE_DESCRIPTIONS) {
        found.push({
          a: a.name,
          b: b.name,
          reason: `titles and descriptions share ${Math.round(text * 100)}% of their words`,
        });
      }
    }
  }
  return found;
}
