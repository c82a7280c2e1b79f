import { text, timestamp } from "drizzle-orm/pg-core";

/** A new text primary key: `<prefix>_<32 hex>`. */
export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** Text primary key with a generated, prefixed default. */
export const idColumn = (prefix: string) =>
  text("id")
    .primaryKey()
    .$defaultFn(() => newId(prefix));

/** `created_at` / `updated_at`, spread into every mutable table. */
export const timestamps = {
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date()),
};
