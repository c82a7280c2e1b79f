import { defineTool, type ToolContext, type ToolDefinition } from "@omni/kit";
import * as v from "valibot";
import { projectFilter, teamFilter } from "./filters.ts";
import { moreHint, result, who } from "./format.ts";
import { cursor, limit, READ, text } from "./inputs.ts";
import { type LinearOptions, linearFor } from "./linear.ts";
import { Cycle, PageInfo, Project, ProjectWire, page, Team, User, WorkflowState } from "./model.ts";
import * as Q from "./queries.ts";

export function workspaceTools(options: LinearOptions): ToolDefinition[] {
  const api = (ctx: ToolContext) => linearFor(ctx.config, options, ctx.signal);
  return [
    defineTool({
      name: "linear_get_teams",
      title: "List Linear teams",
      description:
        "The workspace's teams with their keys (ENG, ...) and ids, used by the other Linear tools.",
      input: v.object({ limit: limit(250, 100), cursor }),
      output: v.object({ teams: v.array(Team), pageInfo: PageInfo }),
      annotations: { title: "List Linear teams", ...READ },
      async handler(args, ctx) {
        const r = await api(ctx).read(
          Q.TEAMS,
          { first: args.limit, after: args.cursor },
          v.object({ teams: page(Team) }),
        );
        const teams = r.teams.nodes;
        const lines = teams.map(
          (t) =>
            `- ${t.key} ${t.name}${t.private ? " (private)" : ""} — id ${t.id}${t.description ? `: ${t.description}` : ""}`,
        );
        return result(
          (teams.length ? [`${teams.length} team(s):`, ...lines].join("\n") : "No teams.") +
            moreHint(r.teams.pageInfo),
          { teams, pageInfo: r.teams.pageInfo },
        );
      },
    }),
    defineTool({
      name: "linear_get_users",
      title: "List Linear users",
      description: "Workspace members, optionally filtered by name or email; use them as assignees.",
      input: v.object({
        query: v.optional(text("Part of a name, display name or email.")),
        includeDisabled: v.optional(v.boolean(), false),
        limit: limit(250, 50),
        cursor,
      }),
      output: v.object({ users: v.array(User), pageInfo: PageInfo }),
      annotations: { title: "List Linear users", ...READ },
      async handler(args, ctx) {
        const filter = args.query
          ? {
              or: [
                { name: { containsIgnoreCase: args.query } },
                { displayName: { containsIgnoreCase: args.query } },
                { email: { containsIgnoreCase: args.query } },
              ],
            }
          : undefined;
        const r = await api(ctx).read(
          Q.USERS,
          { filter, first: args.limit, after: args.cursor, includeDisabled: args.includeDisabled },
          v.object({ users: page(User) }),
        );
        const users = r.users.nodes;
        const lines = users.map(
          (u) =>
            `- ${u.name} (${u.displayName})${u.email ? ` <${u.email}>` : ""}${u.isMe ? " [you]" : ""}${u.admin ? " [admin]" : ""}${u.guest ? " [guest]" : ""}${u.active ? "" : " [disabled]"} — id ${u.id}`,
        );
        return result(
          (users.length ? [`${users.length} user(s):`, ...lines].join("\n") : "No users match.") +
            moreHint(r.users.pageInfo),
          { users, pageInfo: r.users.pageInfo },
        );
      },
    }),
    defineTool({
      name: "linear_get_projects",
      title: "List Linear projects",
      description: "Projects with status, progress, lead, dates and teams; filter by team or name.",
      input: v.object({
        team: v.optional(text("Team key, name or id.")),
        query: v.optional(text("Part of the project name.")),
        limit: limit(100, 50),
        cursor,
      }),
      output: v.object({ projects: v.array(Project), pageInfo: PageInfo }),
      annotations: { title: "List Linear projects", ...READ },
      async handler(args, ctx) {
        const parts: Record<string, unknown>[] = [];
        if (args.team) parts.push({ accessibleTeams: { some: teamFilter(args.team) } });
        if (args.query) parts.push(projectFilter(args.query));
        const filter = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { and: parts };
        const r = await api(ctx).read(
          Q.PROJECTS,
          { filter, first: args.limit, after: args.cursor },
          v.object({ projects: page(ProjectWire) }),
        );
        const projects = r.projects.nodes;
        const lines = projects.map(
          (p) =>
            `- ${p.name} [${p.status?.name ?? "no status"}] ${Math.round(p.progress * 100)}% · lead: ${who(p.lead)}` +
            `${p.targetDate ? ` · target ${p.targetDate}` : ""} · teams: ${p.teams.map((t) => t.key).join(", ") || "-"}\n  ${p.url}`,
        );
        return result(
          (projects.length ? [`${projects.length} project(s):`, ...lines].join("\n") : "No projects match.") +
            moreHint(r.projects.pageInfo),
          { projects, pageInfo: r.projects.pageInfo },
        );
      },
    }),
    defineTool({
      name: "linear_get_cycles",
      title: "List Linear cycles",
      description: "A team's cycles (sprints) with dates and progress; `active` narrows to the current one.",
      input: v.object({
        team: v.optional(text("Team key, name or id.")),
        active: v.optional(v.boolean()),
        limit: limit(100, 25),
        cursor,
      }),
      output: v.object({ cycles: v.array(Cycle), pageInfo: PageInfo }),
      annotations: { title: "List Linear cycles", ...READ },
      async handler(args, ctx) {
        const filter: Record<string, unknown> = {};
        if (args.team) filter.team = teamFilter(args.team);
        if (args.active !== undefined) filter.isActive = { eq: args.active };
        const r = await api(ctx).read(
          Q.CYCLES,
          { filter: Object.keys(filter).length ? filter : undefined, first: args.limit, after: args.cursor },
          v.object({ cycles: page(Cycle) }),
        );
        const cycles = r.cycles.nodes;
        const lines = cycles.map(
          (c) =>
            `- ${c.team.key} cycle ${c.number}${c.name ? ` "${c.name}"` : ""}: ${c.startsAt.slice(0, 10)} → ${c.endsAt.slice(0, 10)}, ${Math.round(c.progress * 100)}%${c.isActive ? " [active]" : ""}${c.completedAt ? " [completed]" : ""}`,
        );
        return result(
          (cycles.length ? [`${cycles.length} cycle(s):`, ...lines].join("\n") : "No cycles match.") +
            moreHint(r.cycles.pageInfo),
          { cycles, pageInfo: r.cycles.pageInfo },
        );
      },
    }),
    defineTool({
      name: "linear_get_workflow_states",
      title: "List Linear workflow states",
      description: "Workflow states (Backlog, Todo, In Progress, Done, ...) per team, in board order.",
      input: v.object({ team: v.optional(text("Team key, name or id.")), limit: limit(250, 100), cursor }),
      output: v.object({ states: v.array(WorkflowState), pageInfo: PageInfo }),
      annotations: { title: "List Linear workflow states", ...READ },
      async handler(args, ctx) {
        const r = await api(ctx).read(
          Q.WORKFLOW_STATES,
          {
            filter: args.team ? { team: teamFilter(args.team) } : undefined,
            first: args.limit,
            after: args.cursor,
          },
          v.object({ workflowStates: page(WorkflowState) }),
        );
        const states = [...r.workflowStates.nodes].sort(
          (a, b) => a.team.key.localeCompare(b.team.key) || a.position - b.position,
        );
        const lines = states.map((s) => `- ${s.team.key}: ${s.name} (${s.type}) — id ${s.id}`);
        return result(
          (states.length
            ? [`${states.length} state(s):`, ...lines].join("\n")
            : "No workflow states match.") + moreHint(r.workflowStates.pageInfo),
          { states, pageInfo: r.workflowStates.pageInfo },
        );
      },
    }),
  ];
}
