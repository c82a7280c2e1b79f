/**
 * `compute` remembered per key, for keys a client chooses (a `Host` header, a URL's origin part): at most
 * `limit` entries, all forgotten at once when full, so a client sending endless distinct values costs a
 * recomputation per value and never memory.
 */
export function boundedMemo<V>(limit: number, compute: (key: string) => V): (key: string) => V {
  const known = new Map<string, V>();
  return (key) => {
    const hit = known.get(key);
    if (hit !== undefined || known.has(key)) return hit as V;
    const value = compute(key);
    if (known.size >= limit) known.clear();
    known.set(key, value);
    return value;
  };
}
