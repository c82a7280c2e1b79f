/**
 * Name patterns of tool policies and bundles: `*` matches any run of characters, everything else itself.
 * Matched by the classic two-pointer wildcard walk (linear backtracking, O(name × pattern) at worst), not
 * by a regular expression: an admin's pattern can never make the gateway backtrack exponentially.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== "*" && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/** A test for a list of patterns (exact names looked up in a set); null (no list) matches everything. */
export function patternTest(patterns: readonly string[] | null): (name: string) => boolean {
  if (patterns === null) return () => true;
  const exact = new Set<string>();
  const wild: string[] = [];
  for (const pattern of patterns) {
    if (pattern.includes("*")) wild.push(pattern);
    else exact.add(pattern);
  }
  return (name) => exact.has(name) || wild.some((pattern) => globMatch(pattern, name));
}
