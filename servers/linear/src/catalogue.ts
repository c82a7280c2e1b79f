import type { CatalogueResource, PromptTemplate } from "@omni/contracts";

/**
 * The linear server's catalogue entry: the description, default prompts and static documents the gateway
 * upserts into the database when it discovers an instance (see `ServerCapabilities`).
 */
export const description =
  "Issues, projects, cycles and workflow states from Linear: search, read, create and update issues with the organization's (or your own) Linear API key.";

/** Default prompts, named `<server>_<verb>_<object>` (checked by servers/catalogue.test.ts). */
export const prompts: PromptTemplate[] = [
  {
    name: "linear_triage_issues",
    title: "Triage incoming issues",
    description:
      "Review untriaged Linear issues for a team, set priority and labels, spot duplicates and propose owners.",
    arguments: [
      { name: "team", description: "Team key or name, e.g. ENG", required: true },
      {
        name: "scope",
        description: "Which issues to triage",
        enum: ["triage", "backlog", "unassigned"],
        default: "triage",
      },
      { name: "limit", description: "Maximum number of issues to review", default: "20" },
      {
        name: "apply",
        description: "Apply the changes (yes) or only propose them (no)",
        enum: ["yes", "no"],
        default: "no",
      },
    ],
    messages: [
      {
        role: "user",
        text: `You are triaging Linear issues for the team "{{team}}". Work through up to {{limit}} issues in the "{{scope}}" set, oldest first.

1. Find the issues with linear_search_issues (team "{{team}}", state or filter matching "{{scope}}"). For each candidate, read the full issue with linear_get_issue: description, comments, labels, linked issues and who reported it.
2. For every issue decide:
 - Priority on Linear's scale (1 Urgent, 2 High, 3 Medium, 4 Low). Urgent only for outages, data loss, security problems or a blocked customer; say which of these applies.
 - Type label: bug, feature, improvement or question. A bug needs reproduction steps and expected vs actual behaviour; if those are missing, draft the question to ask the reporter.
 - Duplicates: search for issues with the same symptom (linear_search_issues with the key terms) and name the issue it duplicates, with its identifier.
 - An owner: the person who touched the affected area most recently, or "needs owner" when nobody fits.
3. Apply is "{{apply}}". When it is "yes", use linear_update_issue to set priority, labels and assignee, and linear_add_comment to leave a short note explaining the decision on every issue you changed. When it is "no", change nothing.

Finish with a table: identifier | title | priority | labels | owner | duplicate of | action taken or proposed. Below it, list the issues you could not triage and exactly what information is missing.`,
      },
    ],
  },
  {
    name: "linear_plan_cycle",
    title: "Plan the next cycle",
    description:
      "Build a realistic plan for a team's next Linear cycle from its backlog, capacity and carry-over work.",
    arguments: [
      { name: "team", description: "Team key or name, e.g. ENG", required: true },
      { name: "capacity", description: "Points (or issue count) the team can take on", required: true },
      { name: "goal", description: "The cycle's goal in one sentence" },
      { name: "cycle_length", description: "Cycle length in weeks", enum: ["1", "2", "3"], default: "2" },
    ],
    messages: [
      {
        role: "user",
        text: `Plan the next {{cycle_length}}-week cycle for the Linear team "{{team}}" with a capacity of {{capacity}}. Cycle goal: {{goal}}

Gather the facts first:
- The current and upcoming cycles (linear_get_cycles) and the issues still open in the current one: these carry over unless you argue otherwise.
- The backlog, ordered by priority (linear_search_issues for team "{{team}}" in Backlog and Todo states), and the team's projects with target dates (linear_get_projects).
- Estimates on each candidate issue (linear_get_issue). Treat an unestimated issue as a risk: propose an estimate and say why.

Then build the plan:
1. Carry-over first, then Urgent and High issues, then the work that moves the cycle goal, then projects whose target date falls inside or just after this cycle.
2. Stop at about 80% of {{capacity}}: leave room for interrupts and bugs.
3. Flag dependencies between issues and anything blocked by another team.

Present: the committed list (identifier, title, estimate, assignee, why it is in), the stretch list, what was left out and why, total points against capacity, and the top three risks with a mitigation each. Change nothing until the user confirms the plan; then record each decision on its issue with linear_add_comment.`,
      },
      {
        role: "assistant",
        text: "I'll read the current cycle, backlog and projects for {{team}} before proposing anything, and keep the plan at about 80% of the {{capacity}} capacity.",
      },
    ],
  },
  {
    name: "linear_move_issue",
    title: "Move an issue through the workflow",
    description:
      "Take one Linear issue through its team's workflow: understand it, update its state and leave a useful trail.",
    arguments: [
      { name: "issue", description: "Issue identifier, e.g. ENG-123", required: true },
      {
        name: "target_state",
        description: "Workflow state to move to",
        enum: ["Todo", "In Progress", "In Review", "Done", "Canceled"],
        required: true,
      },
      { name: "note", description: "What happened, for the comment" },
    ],
    messages: [
      {
        role: "user",
        text: `Move the Linear issue {{issue}} to "{{target_state}}".

1. Read the issue with linear_get_issue: current state, assignee, description, sub-issues and the last comments.
2. Check the team's workflow states with linear_get_workflow_states and use the exact state whose name matches "{{target_state}}" (Linear state names can differ per team; pick the closest of the same type and say so).
3. Sanity checks before changing anything:
 - Moving to Done: every sub-issue should be done or canceled and the acceptance criteria in the description met. If not, stop and list what is open.
 - Moving to In Progress: the issue should have an assignee; if it has none, ask who takes it.
 - Moving to Canceled: a reason is required; use the note, or ask for one.
4. Update the state with linear_update_issue, then add a comment with linear_add_comment that says what changed and why: {{note}}

Reply with the issue's new state, the comment you left, and any follow-up issue you think should be created (with a proposed title and description, not created yet).`,
      },
    ],
  },
];

/** Static guides, served as default resources (organizations may override them). */
export const defaultResources: CatalogueResource[] = [
  {
    uri: "linear://guides/team-data",
    name: "team-data-guide",
    title: "Linear team data: where to find it",
    description:
      "How Linear organizes teams, workflow states, cycles, projects and labels, and which tool or live resource returns each.",
    mimeType: "text/markdown",
    text: `# Linear team data

Live data comes from the Linear server itself; this page says where to look.

| You need | Use |
| --- | --- |
| All teams (id, key, name) | resource \`linear://teams\` or tool \`linear_get_teams\` |
| A team's open issues | resource \`linear://teams/{teamId}/issues\` or \`linear_search_issues\` with \`team\` |
| One issue with comments | resource \`linear://issues/{identifier}\` or \`linear_get_issue\` |
| Members and their ids | \`linear_get_users\` |
| Workflow states of a team | \`linear_get_workflow_states\` |
| Cycles (current, next, past) | \`linear_get_cycles\` |
| Projects and target dates | \`linear_get_projects\` |

## Concepts
- **Team**: owns issues, has a short key (ENG) used in identifiers (ENG-123) and its own workflow.
- **Workflow state**: one of the types backlog, unstarted, started, completed, canceled; each team names
its own states (e.g. "In Review" is a *started* state).
- **Priority**: 0 none, 1 urgent, 2 high, 3 medium, 4 low.
- **Estimate**: points on the team's scale (often Fibonacci); unestimated issues have none.
- **Cycle**: a time-boxed iteration per team; issues not completed roll over to the next cycle.
- **Project**: work across teams with a lead, target date and progress.

Write operations (\`linear_create_issue\`, \`linear_update_issue\`, \`linear_add_comment\`) act with the
credential configured for this organization, or your own if you set one in your profile.
`,
  },
  {
    uri: "linear://templates/issue",
    name: "issue-templates",
    title: "Issue templates",
    description:
      "Templates for bug reports, feature requests and tech-debt issues, ready for linear_create_issue.",
    mimeType: "text/markdown",
    text: `# Issue templates

Use one of these as the \`description\` of \`linear_create_issue\`. Keep the title short and specific
("Checkout fails with 500 for EU cards", not "Checkout broken").

## Bug
\`\`\`markdown
## What happened
<observed behaviour, with the exact error message>

## What should happen
<expected behaviour>

## Steps to reproduce
1. ...
2. ...

## Impact
<who is affected, how many, is there a workaround>

## Environment
<app version, browser/OS, account or org id, time of occurrence (UTC)>
\`\`\`
Suggested priority: urgent for outages, data loss or security; high when a customer is blocked.

## Feature request
\`\`\`markdown
## Problem
<the user's problem, in their words; not the solution>

## Proposal
<the smallest change that solves it>

## Acceptance criteria
- [ ] ...
- [ ] ...

## Out of scope
<what this does not cover>
\`\`\`

## Tech debt
\`\`\`markdown
## Current state
<what is wrong with the code or system today>

## Cost of leaving it
<incidents, slowed work, risk; with examples>

## Proposed change
<approach, rough size, migration plan>
\`\`\`
`,
  },
];
