import * as v from "valibot";

/**
 * Shapes of the data this server reads from Linear (validated on every response, so a malformed
 * answer becomes a clear tool error) and returns as `structuredContent`.
 */

/** Linear's `{ nodes }` connections, flattened to arrays as they are parsed. */
const nodes = <T extends v.GenericSchema>(item: T) =>
  v.pipe(
    v.object({ nodes: v.array(item) }),
    v.transform((c) => c.nodes),
  );
const nullish = <T extends v.GenericSchema>(schema: T) => v.optional(v.nullable(schema), null);

export const PageInfo = v.object({ hasNextPage: v.boolean(), endCursor: nullish(v.string()) });
export type PageInfo = v.InferOutput<typeof PageInfo>;
/** A page of a connection as Linear sends it. */
export const page = <T extends v.GenericSchema>(item: T) =>
  v.object({ nodes: v.array(item), pageInfo: PageInfo });

export const TeamRef = v.object({ id: v.string(), key: v.string(), name: v.string() });
export const UserRef = v.object({
  id: v.string(),
  name: v.string(),
  displayName: v.string(),
  email: nullish(v.string()),
});
export type UserRef = v.InferOutput<typeof UserRef>;
export const StateRef = v.object({ id: v.string(), name: v.string(), type: v.string() });
export const Label = v.object({ id: v.string(), name: v.string(), color: nullish(v.string()) });

export const Team = v.object({
  id: v.string(),
  key: v.string(),
  name: v.string(),
  description: nullish(v.string()),
  private: v.boolean(),
  timezone: nullish(v.string()),
});
export type Team = v.InferOutput<typeof Team>;

export const User = v.object({
  id: v.string(),
  name: v.string(),
  displayName: v.string(),
  email: nullish(v.string()),
  active: v.boolean(),
  admin: v.boolean(),
  guest: v.boolean(),
  isMe: v.boolean(),
});
export type User = v.InferOutput<typeof User>;

export const WorkflowState = v.object({
  id: v.string(),
  name: v.string(),
  type: v.string(),
  color: nullish(v.string()),
  position: v.number(),
  description: nullish(v.string()),
  team: TeamRef,
});
export type WorkflowState = v.InferOutput<typeof WorkflowState>;

export const Project = v.object({
  id: v.string(),
  name: v.string(),
  description: nullish(v.string()),
  url: v.string(),
  progress: v.number(),
  startDate: nullish(v.string()),
  targetDate: nullish(v.string()),
  status: nullish(v.object({ name: v.string(), type: v.string() })),
  lead: nullish(UserRef),
  teams: v.array(TeamRef),
});
export type Project = v.InferOutput<typeof Project>;
export const ProjectWire = v.object({ ...Project.entries, teams: nodes(TeamRef) });

export const Cycle = v.object({
  id: v.string(),
  number: v.number(),
  name: nullish(v.string()),
  startsAt: v.string(),
  endsAt: v.string(),
  completedAt: nullish(v.string()),
  progress: v.number(),
  isActive: v.boolean(),
  team: TeamRef,
});
export type Cycle = v.InferOutput<typeof Cycle>;

/** An issue as lists show it. */
export const IssueSummary = v.object({
  id: v.string(),
  identifier: v.string(),
  title: v.string(),
  priority: v.number(),
  priorityLabel: v.string(),
  estimate: nullish(v.number()),
  dueDate: nullish(v.string()),
  url: v.string(),
  createdAt: v.string(),
  updatedAt: v.string(),
  state: StateRef,
  assignee: nullish(UserRef),
  team: TeamRef,
  project: nullish(v.object({ id: v.string(), name: v.string() })),
  cycle: nullish(v.object({ id: v.string(), number: v.number(), name: nullish(v.string()) })),
  labels: v.array(Label),
});
export type IssueSummary = v.InferOutput<typeof IssueSummary>;
export const IssueSummaryWire = v.object({ ...IssueSummary.entries, labels: nodes(Label) });

export const Comment = v.object({
  id: v.string(),
  body: v.string(),
  createdAt: v.string(),
  url: v.string(),
  user: nullish(UserRef),
});
export type Comment = v.InferOutput<typeof Comment>;

/** An issue with everything `linear_get_issue` shows. */
export const IssueDetail = v.object({
  ...IssueSummary.entries,
  description: nullish(v.string()),
  creator: nullish(UserRef),
  parent: nullish(v.object({ id: v.string(), identifier: v.string(), title: v.string() })),
  children: v.array(v.object({ id: v.string(), identifier: v.string(), title: v.string(), state: StateRef })),
  comments: v.array(Comment),
});
export type IssueDetail = v.InferOutput<typeof IssueDetail>;
export const IssueDetailWire = v.object({
  ...IssueDetail.entries,
  labels: nodes(Label),
  children: nodes(IssueDetail.entries.children.item),
  comments: nodes(Comment),
});
