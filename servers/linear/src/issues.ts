import type { CallToolResult } from "@omni/contracts";
import { defineTool, type ToolContext, type ToolDefinition, ToolError } from "@omni/kit";
import * as v from "valibot";
import { labelFilter, projectFilter, stateFilter, teamFilter, userFilter } from "./filters.ts";
import { issueLine, issueText, moreHint, result } from "./format.ts";
import { ADD, cursor, limit, READ, text } from "./inputs.ts";
import { type LinearApi, type LinearOptions, linearFor } from "./linear.ts";
import {
  Comment,
  IssueDetail,
  IssueDetailWire,
  IssueSummary,
  IssueSummaryWire,
  PageInfo,
  page,
  UserRef,
} from "./model.ts";
import * as Q from "./queries.ts";

const IssueRef = text("Issue identifier (e.g. ENG-123) or id.");
const Priority = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(0),
  v.maxValue(4),
  v.description("0 none, 1 urgent, 2 high, 3 medium, 4 low."),
);
const DueDate = v.pipe(
  v.string(),
  v.isoDate("must be a date as YYYY-MM-DD"),
  v.description("Due date, YYYY-MM-DD."),
);
const Estimate = v.pipe(v.number(), v.integer(), v.minValue(0), v.description("Estimate in points."));
const Labels = (description: string) =>
  v.pipe(v.array(text("Label name or id.")), v.description(description));

const SearchInput = v.object({
  query: v.optional(text("Text to search for in titles, descriptions and identifiers.")),
  team: v.optional(text("Team key (ENG), name or id.")),
  state: v.optional(
    text("Workflow state name (In Progress) or type (backlog, unstarted, started, completed, canceled)."),
  ),
  assignee: v.optional(text('Assignee email, name, id, "me", or "none" for unassigned.')),
  label: v.optional(text("Label name or id.")),
  priority: v.optional(Priority),
  project: v.optional(text('Project name (or part of it), id, or "none".')),
  limit: limit(100, 25),
  cursor,
});

const IssueList = v.object({
  issues: v.array(IssueSummary),
  pageInfo: PageInfo,
  totalCount: v.optional(v.number()),
});

function issueFilter(args: v.InferOutput<typeof SearchInput>): Record<string, unknown> | undefined {
  const filter: Record<string, unknown> = {};
  if (args.team) filter.team = teamFilter(args.team);
  if (args.state) filter.state = stateFilter(args.state);
  if (args.assignee) filter.assignee = userFilter(args.assignee);
  if (args.label) filter.labels = labelFilter(args.label);
  if (args.priority !== undefined) filter.priority = { eq: args.priority };
  if (args.project) filter.project = projectFilter(args.project);
  return Object.keys(filter).length ? filter : undefined;
}

async function getIssue(api: LinearApi, id: string): Promise<IssueDetail> {
  const data = await api.read(Q.ISSUE, { id }, v.object({ issue: v.nullable(IssueDetailWire) }));
  if (!data.issue) throw new ToolError(`No Linear issue ${id}. Check the identifier (e.g. ENG-123).`);
  return data.issue;
}

/** Issue `id` in full as a tool result; `done` ("Created", "Updated") leads its text when given. */
async function issueResult(api: LinearApi, id: string, done?: string): Promise<CallToolResult> {
  const issue = await getIssue(api, id);
  const text = issueText(issue);
  return result(done ? `${done} ${issue.identifier}.\n\n${text}` : text, { issue });
}

const Named = v.object({ id: v.string(), name: v.string() });
const TeamContext = v.object({
  id: v.string(),
  key: v.string(),
  name: v.string(),
  states: v.object({ nodes: v.array(v.object({ id: v.string(), name: v.string(), type: v.string() })) }),
  labels: v.object({ nodes: v.array(Named) }),
});
type TeamContext = v.InferOutput<typeof TeamContext>;
const WorkspaceLabels = v.object({ nodes: v.array(Named) });

/** Looks names up against one team's states and labels, and the workspace's users and projects. */
class Resolver {
  constructor(
    private readonly api: LinearApi,
    readonly team: TeamContext,
    private readonly workspaceLabels: { id: string; name: string }[],
  ) {}

  state(ref: string): string {
    const lower = ref.toLowerCase();
    const states = this.team.states.nodes;
    const match =
      states.find((s) => s.id === ref || s.name.toLowerCase() === lower) ??
      states.find((s) => s.type === lower);
    if (!match) {
      throw new ToolError(
        `Team ${this.team.key} has no workflow state "${ref}". Its states: ${states.map((s) => s.name).join(", ")}.`,
      );
    }
    return match.id;
  }

  labels(refs: string[]): string[] {
    const all = [...this.team.labels.nodes, ...this.workspaceLabels];
    return refs.map((ref) => {
      const match = all.find((l) => l.id === ref || l.name.toLowerCase() === ref.toLowerCase());
      if (!match) {
        throw new ToolError(
          `No label "${ref}" in team ${this.team.key} or the workspace. Labels: ${all.map((l) => l.name).join(", ") || "(none)"}.`,
        );
      }
      return match.id;
    });
  }

  async user(ref: string): Promise<string> {
    if (ref.toLowerCase() === "me") {
      const me = await this.api.read(Q.VIEWER, {}, v.object({ viewer: UserRef }));
      return me.viewer.id;
    }
    const found = await this.api.read(
      Q.FIND_USERS,
      { filter: userFilter(ref) },
      v.object({ users: v.object({ nodes: v.array(UserRef) }) }),
    );
    const users = found.users.nodes;
    const exact = users.filter((u) =>
      [u.id, u.email, u.name, u.displayName].some((x) => x?.toLowerCase() === ref.toLowerCase()),
    );
    const pick = exact.length === 1 ? exact : users;
    if (pick.length === 1 && pick[0]) return pick[0].id;
    if (!pick.length)
      throw new ToolError(`No Linear user matches "${ref}". Use linear_get_users to find people.`);
    throw new ToolError(
      `"${ref}" matches several users (${pick.map((u) => `${u.name} <${u.email ?? "?"}>`).join(", ")}); use an email or id.`,
    );
  }

  async project(ref: string): Promise<string> {
    const found = await this.api.read(
      Q.FIND_PROJECTS,
      { filter: projectFilter(ref) },
      v.object({ projects: v.object({ nodes: v.array(Named) }) }),
    );
    const projects = found.projects.nodes;
    const exact = projects.filter((p) => p.id === ref || p.name.toLowerCase() === ref.toLowerCase());
    const pick = exact.length === 1 ? exact : projects;
    if (pick.length === 1 && pick[0]) return pick[0].id;
    if (!pick.length)
      throw new ToolError(`No Linear project matches "${ref}". Use linear_get_projects to list them.`);
    throw new ToolError(
      `"${ref}" matches several projects (${pick.map((p) => p.name).join(", ")}); be more specific.`,
    );
  }

  async issue(ref: string): Promise<string> {
    const found = await this.api.read(
      Q.ISSUE_REF,
      { id: ref },
      v.object({ issue: v.nullable(v.object({ id: v.string() })) }),
    );
    if (!found.issue) throw new ToolError(`No Linear issue ${ref}.`);
    return found.issue.id;
  }
}

async function resolverForTeam(api: LinearApi, ref: string): Promise<Resolver> {
  const data = await api.read(
    Q.RESOLVE_TEAM,
    { filter: teamFilter(ref) },
    v.object({ teams: v.object({ nodes: v.array(TeamContext) }), issueLabels: WorkspaceLabels }),
  );
  const team = data.teams.nodes[0];
  if (!team)
    throw new ToolError(`No Linear team "${ref}". Use linear_get_teams to list teams and their keys.`);
  return new Resolver(api, team, data.issueLabels.nodes);
}

const CreateInput = v.object({
  team: text("Team key (ENG), name or id."),
  title: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(255), v.description("Issue title.")),
  description: v.optional(v.pipe(v.string(), v.description("Markdown description."))),
  state: v.optional(text("Workflow state name or type; defaults to the team's default.")),
  assignee: v.optional(text('Assignee email, name, id or "me".')),
  priority: v.optional(Priority),
  labels: v.optional(Labels("Label names or ids.")),
  project: v.optional(text("Project name or id.")),
  estimate: v.optional(Estimate),
  dueDate: v.optional(DueDate),
  parent: v.optional(text("Parent issue identifier or id.")),
});

const UpdateInput = v.pipe(
  v.object({
    id: IssueRef,
    title: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(255))),
    description: v.optional(v.string()),
    state: v.optional(text("New workflow state name or type.")),
    assignee: v.optional(v.nullable(text('New assignee email, name, id or "me"; null to unassign.'))),
    priority: v.optional(Priority),
    labels: v.optional(Labels("Replace the labels with these.")),
    addLabels: v.optional(Labels("Add these labels.")),
    removeLabels: v.optional(Labels("Remove these labels.")),
    estimate: v.optional(v.nullable(Estimate)),
    dueDate: v.optional(v.nullable(DueDate)),
    project: v.optional(v.nullable(text("Project name or id; null to remove."))),
  }),
  v.check(
    (args) => Object.keys(args).some((k) => k !== "id"),
    "give at least one field to change (title, description, state, assignee, priority, labels, estimate, dueDate, project)",
  ),
);

const IssueOut = v.object({ issue: IssueDetail });

export function issueTools(options: LinearOptions): ToolDefinition[] {
  const api = (ctx: ToolContext) => linearFor(ctx.config, options, ctx.signal);
  return [
    defineTool({
      name: "linear_search_issues",
      title: "Search Linear issues",
      description:
        "Find issues by text and/or filters (team, state, assignee, label, priority, project), most recently updated first. Paginate with `cursor`.",
      input: SearchInput,
      output: IssueList,
      annotations: { title: "Search Linear issues", ...READ },
      async handler(args, ctx) {
        const linear = api(ctx);
        const filter = issueFilter(args);
        const vars = { filter, first: args.limit, after: args.cursor };
        let data: { issues: IssueSummary[]; pageInfo: PageInfo; totalCount?: number };
        if (args.query) {
          const r = await linear.read(
            Q.SEARCH_ISSUES,
            { ...vars, term: args.query },
            v.object({
              searchIssues: v.object({ ...page(IssueSummaryWire).entries, totalCount: v.number() }),
            }),
          );
          data = {
            issues: r.searchIssues.nodes,
            pageInfo: r.searchIssues.pageInfo,
            totalCount: r.searchIssues.totalCount,
          };
        } else {
          const r = await linear.read(Q.ISSUES, vars, v.object({ issues: page(IssueSummaryWire) }));
          data = { issues: r.issues.nodes, pageInfo: r.issues.pageInfo };
        }
        const head = data.issues.length
          ? `${data.totalCount ?? data.issues.length} issue(s)${data.totalCount !== undefined && data.totalCount > data.issues.length ? `, showing ${data.issues.length}` : ""}:`
          : "No issues match.";
        return result([head, ...data.issues.map(issueLine)].join("\n") + moreHint(data.pageInfo), data);
      },
    }),
    defineTool({
      name: "linear_get_issue",
      title: "Get a Linear issue",
      description:
        "One issue in full: description, state, assignee, labels, project, cycle, sub-issues and comments.",
      input: v.object({ id: IssueRef }),
      output: IssueOut,
      annotations: { title: "Get a Linear issue", ...READ },
      async handler(args, ctx) {
        return issueResult(api(ctx), args.id);
      },
    }),
    defineTool({
      name: "linear_create_issue",
      title: "Create a Linear issue",
      description:
        "Create an issue in a team. State, assignee, labels and project may be given by name; returns the new issue.",
      input: CreateInput,
      output: IssueOut,
      annotations: { title: "Create a Linear issue", ...ADD },
      async handler(args, ctx) {
        const linear = api(ctx);
        const r = await resolverForTeam(linear, args.team);
        const input = {
          teamId: r.team.id,
          title: args.title,
          description: args.description,
          stateId: args.state ? r.state(args.state) : undefined,
          labelIds: args.labels ? r.labels(args.labels) : undefined,
          priority: args.priority,
          estimate: args.estimate,
          dueDate: args.dueDate,
          assigneeId: args.assignee ? await r.user(args.assignee) : undefined,
          projectId: args.project ? await r.project(args.project) : undefined,
          parentId: args.parent ? await r.issue(args.parent) : undefined,
        };
        const payload = await linear.write((client) => client.createIssue(input));
        if (!payload.success || !payload.issueId)
          throw new ToolError("Linear did not create the issue (success: false).");
        return issueResult(linear, payload.issueId, "Created");
      },
    }),
    defineTool({
      name: "linear_update_issue",
      title: "Update a Linear issue",
      description:
        "Change an issue's title, description, state, assignee, priority, labels (replace, add or remove), estimate, due date or project. Names are resolved within the issue's team.",
      input: UpdateInput,
      output: IssueOut,
      annotations: {
        title: "Update a Linear issue",
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: true,
      },
      async handler(args, ctx) {
        const linear = api(ctx);
        const found = await linear.read(
          Q.RESOLVE_ISSUE,
          { id: args.id },
          v.object({
            issue: v.nullable(
              v.object({
                id: v.string(),
                identifier: v.string(),
                labels: v.object({ nodes: v.array(Named) }),
                team: TeamContext,
              }),
            ),
            issueLabels: WorkspaceLabels,
          }),
        );
        if (!found.issue) throw new ToolError(`No Linear issue ${args.id}.`);
        const current = found.issue;
        const r = new Resolver(linear, current.team, found.issueLabels.nodes);
        const input: Record<string, unknown> = {};
        if (args.title !== undefined) input.title = args.title;
        if (args.description !== undefined) input.description = args.description;
        if (args.state) input.stateId = r.state(args.state);
        if (args.priority !== undefined) input.priority = args.priority;
        if (args.estimate !== undefined) input.estimate = args.estimate;
        if (args.dueDate !== undefined) input.dueDate = args.dueDate;
        if (args.labels || args.addLabels || args.removeLabels) {
          const ids = new Set(args.labels ? r.labels(args.labels) : current.labels.nodes.map((l) => l.id));
          for (const id of args.addLabels ? r.labels(args.addLabels) : []) ids.add(id);
          for (const id of args.removeLabels ? r.labels(args.removeLabels) : []) ids.delete(id);
          input.labelIds = [...ids];
        }
        if (args.assignee !== undefined)
          input.assigneeId = args.assignee === null ? null : await r.user(args.assignee);
        if (args.project !== undefined)
          input.projectId = args.project === null ? null : await r.project(args.project);
        const payload = await linear.write((client) => client.updateIssue(current.id, input));
        if (!payload.success)
          throw new ToolError(`Linear did not update ${current.identifier} (success: false).`);
        return issueResult(linear, current.id, "Updated");
      },
    }),
    defineTool({
      name: "linear_add_comment",
      title: "Comment on a Linear issue",
      description: "Add a Markdown comment to an issue.",
      input: v.object({ id: IssueRef, body: text("Comment text (Markdown).") }),
      output: v.object({ comment: Comment, issue: v.object({ id: v.string(), identifier: v.string() }) }),
      annotations: { title: "Comment on a Linear issue", ...ADD },
      async handler(args, ctx) {
        const linear = api(ctx);
        const ref = await linear.read(
          Q.ISSUE_REF,
          { id: args.id },
          v.object({ issue: v.nullable(v.object({ id: v.string(), identifier: v.string() })) }),
        );
        if (!ref.issue) throw new ToolError(`No Linear issue ${args.id}.`);
        const issueId = ref.issue.id;
        const payload = await linear.write((client) => client.createComment({ issueId, body: args.body }));
        if (!payload.success || !payload.commentId)
          throw new ToolError("Linear did not add the comment (success: false).");
        const data = await linear.read(Q.COMMENT, { id: payload.commentId }, v.object({ comment: Comment }));
        return result(`Commented on ${ref.issue.identifier}: ${data.comment.url}`, {
          comment: data.comment,
          issue: ref.issue,
        });
      },
    }),
  ];
}
